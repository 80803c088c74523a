def linear_ae_gradients(X, W1, W2):
    return "dW1 = -2 W2^T (X - W2 W1 X) X^T"
