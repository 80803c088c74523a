"""Reference solution for linear-ae-gradients (instructors only; never shown to student code)."""

import numpy as np


def linear_ae_gradients(X, W1, W2):
    R = X - W2 @ W1 @ X  # residual, m x n
    dW1 = -2.0 * W2.T @ R @ X.T  # k x m
    dW2 = -2.0 * R @ X.T @ W1.T  # m x k
    return np.asarray(dW1), np.asarray(dW2)
