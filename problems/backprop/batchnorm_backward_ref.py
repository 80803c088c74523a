"""Reference solution for batchnorm-backward (instructors only; never shown to student code)."""

import numpy as np


def batchnorm_backward(dout, x, gamma, eps):
    mu = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)  # biased variance, as in training mode
    xhat = (x - mu) * inv_std
    dxhat = dout * gamma
    dx = inv_std * (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0))
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    return dx, dgamma, dbeta
