"""A correct homework with PyTorch: autograd and torch.nn.functional, tensors out."""

import torch
import torch.nn.functional as F


def softmax_xent_grad(Z, y):
    Z = torch.tensor(Z, requires_grad=True)
    loss = F.cross_entropy(Z, torch.from_numpy(y).long())  # the mean over the batch
    loss.backward()
    return Z.grad


def batchnorm_backward(dout, x, gamma, eps):
    x = torch.tensor(x, requires_grad=True)
    gamma = torch.tensor(gamma, requires_grad=True)
    beta = torch.zeros_like(gamma, requires_grad=True)
    out = F.batch_norm(x, None, None, weight=gamma, bias=beta, training=True, eps=eps)
    out.backward(torch.from_numpy(dout))
    return x.grad, gamma.grad, beta.grad


def causal_attention(Q, K, V):
    Q, K, V = (torch.from_numpy(a)[None] for a in (Q, K, V))
    return F.scaled_dot_product_attention(Q, K, V, is_causal=True)[0]


def conv2d_forward(x, w, b, stride, padding):
    x, w, b = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    return F.conv2d(x, w, b, stride=stride, padding=padding)
