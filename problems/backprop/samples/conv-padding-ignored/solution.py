"""The homework with one mistake in conv2d_forward: padding never applied."""

import numpy as np


def softmax_xent_grad(Z, y):
    n, c = Z.shape
    # log-softmax through a stable log-sum-exp
    m = Z.max(axis=1, keepdims=True)
    log_probs = Z - (m + np.log(np.sum(np.exp(Z - m), axis=1, keepdims=True)))
    Y = np.eye(c)[y]
    return (np.exp(log_probs) - Y) / n


def batchnorm_backward(dout, x, gamma, eps):
    # the forward pass as a chain of small steps, then back through each of them
    n = x.shape[0]
    mu = np.sum(x, axis=0) / n
    xc = x - mu
    var = np.sum(xc ** 2, axis=0) / n
    std = np.sqrt(var + eps)
    istd = 1.0 / std
    xhat = xc * istd
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    distd = np.sum(dxhat * xc, axis=0)
    dxc = dxhat * istd
    dstd = -distd / std ** 2
    dvar = 0.5 * dstd / std
    dxc += 2.0 * xc * dvar / n
    dmu = -np.sum(dxc, axis=0)
    dx = dxc + dmu / n
    return dx, dgamma, dbeta


def causal_attention(Q, K, V):
    T, d = Q.shape
    out = np.zeros((T, V.shape[1]))
    for t in range(T):
        scores = K[: t + 1] @ Q[t] / np.sqrt(d)  # keys 0..t only
        weights = np.exp(scores - scores.max())
        weights /= weights.sum()
        out[t] = weights @ V[: t + 1]
    return out


def conv2d_forward(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho = (H - kh) // stride + 1
    Wo = (W - kw) // stride + 1
    y = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, :, i, j] = np.einsum("ncuv,fcuv->nf", patch, w) + b
    return y
