"""Mistake: weight_decay=lam (a lam/2 penalty)."""

import torch
from torch import nn


def build_model(m, k):
    return nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))


def build_loss():
    return nn.MSELoss(reduction="sum")


def build_optimizer(model, lam, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=lam)
