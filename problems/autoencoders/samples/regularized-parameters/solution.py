import numpy as np


def linear_ae_gradients(X, W1, W2):
    E = X - W2 @ W1 @ X
    dW1 = -2 * W2.T @ E @ X.T
    dW2 = -2 * E @ X.T @ W1.T
    return dW1, dW2


def pca_autoencoder(X, k):
    values, vectors = np.linalg.eigh(X @ X.T)  # ascending order
    Uk = vectors[:, np.argsort(values)[::-1][:k]]
    return Uk.T, Uk


def is_stationary(X, W1, W2):
    S = X @ X.T
    R = np.eye(X.shape[0]) - W2 @ W1
    g1, g2 = W2.T @ R @ S, R @ S @ W1.T
    scale = np.linalg.norm(S) * (1 + np.linalg.norm(W1) * np.linalg.norm(W2))
    return bool(np.linalg.norm(g1) < 1e-9 * scale and np.linalg.norm(g2) < 1e-9 * scale)


def teacher_forcing_inputs(target):
    return ["<sos>"] + list(target)


def greedy_decoder_inputs(step, h0, max_len):
    fed, token, h = [], "<sos>", h0
    for _ in range(max_len):
        fed.append(token)
        token, h = step(token, h)
        if token == "<eos>":
            break
    return fed


import torch
from torch import nn


class LinearAutoencoder(nn.Module):
    def __init__(self, m, k):
        super().__init__()
        self.W1 = nn.Parameter(torch.randn(k, m) / m ** 0.5)  # encoder, k x m
        self.W2 = nn.Parameter(torch.randn(m, k) / k ** 0.5)  # decoder, m x k

    def forward(self, x):  # a batch of rows: x -> W2 W1 x for each
        return x @ self.W1.T @ self.W2.T


def build_model(m, k):
    return LinearAutoencoder(m, k)


def build_loss():
    from torch import nn
    return nn.MSELoss(reduction="sum")


def build_optimizer(model, lam, lr):
    import torch
    return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=2 * lam)
