"""A correct homework written with PyTorch: tensors in, tensors out."""

import torch


def linear_ae_gradients(X, W1, W2):
    # Let autograd do it: the loss is ||X - W2 W1 X||_F^2.
    X = torch.from_numpy(X)
    W1 = torch.tensor(W1, requires_grad=True)
    W2 = torch.tensor(W2, requires_grad=True)
    loss = ((X - W2 @ W1 @ X) ** 2).sum()
    loss.backward()
    return W1.grad, W2.grad


def pca_autoencoder(X, k):
    U, S, Vh = torch.linalg.svd(torch.from_numpy(X), full_matrices=False)
    return U[:, :k].T, U[:, :k]


def is_stationary(X, W1, W2):
    X, W1, W2 = (torch.from_numpy(a).requires_grad_(a is not X) for a in (X, W1, W2))
    loss = ((X - W2 @ W1 @ X) ** 2).sum()
    g1, g2 = torch.autograd.grad(loss, (W1, W2))
    scale = (X @ X.T).norm() * (1 + W1.norm() * W2.norm())
    return bool(g1.norm() < 1e-9 * scale and g2.norm() < 1e-9 * scale)


def teacher_forcing_inputs(target):
    return ["<sos>", *target]


def greedy_decoder_inputs(step, h0, max_len):
    inputs, token, h = [], "<sos>", h0
    while len(inputs) < max_len:
        inputs.append(token)
        token, h = step(token, h)
        if token == "<eos>":
            break
    return inputs
