def linear_ae_gradients(X, W1, W2):
    return W1, W2
