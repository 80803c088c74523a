"""Adam with weight_decay = 2 lam: Adam's weight decay is coupled (added to the gradient, unlike AdamW's),
so its fixed points are those of the loss plus lam (||W1||^2 + ||W2||^2): it minimises Eq. 6 too."""

import torch
from torch import nn


def build_model(m, k):
    return nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))


def build_loss():
    return nn.MSELoss(reduction="sum")


def build_optimizer(model, lam, lr):
    return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=2 * lam)
