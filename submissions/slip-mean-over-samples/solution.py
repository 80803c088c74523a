def linear_ae_gradients(X, W1, W2):
    n = X.shape[1]
    E = X - W2 @ W1 @ X
    return -2 * W2.T @ E @ X.T / n, -2 * E @ X.T @ W1.T / n
