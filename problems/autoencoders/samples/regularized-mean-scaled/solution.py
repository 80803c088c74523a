"""MSELoss() averages over the m entries of a point: divide the decay by m, multiply the learning rate by m."""

import torch
from torch import nn


def build_model(m, k):
    return nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))


def build_loss():
    return nn.MSELoss()


def build_optimizer(model, lam, lr):
    m = model[0].in_features
    return torch.optim.SGD(model.parameters(), lr=lr * m, weight_decay=2 * lam / m)
