"""Mistake: the optimizer is given another model's parameters, so training never moves the weights."""

import torch
from torch import nn


def build_model(m, k):
    return nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))


def build_loss():
    return nn.MSELoss(reduction="sum")


def build_optimizer(model, lam, lr):
    fresh = build_model(model[0].in_features, model[0].out_features)  # not the model being trained
    return torch.optim.SGD(fresh.parameters(), lr=lr, weight_decay=2 * lam)
