def linear_ae_gradients(X, W1, W2):
    E = X - W2 @ W1 @ X
    dW1 = -2 * W2.T @ E @ X.T
    dW2 = -2 * E @ X.T @ W1.T
    return dW2, dW1
