def linear_ae_gradients(X, W1, W2):
    E = X - W2 @ W1 @ X
    return -W2.T @ E @ X.T, -E @ X.T @ W1.T
