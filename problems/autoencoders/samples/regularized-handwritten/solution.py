"""A hand-written model class and loss: the same objective as MSELoss(reduction='sum')."""

import torch


class LinearAutoencoder(torch.nn.Module):
    def __init__(self, m, k):
        super().__init__()
        self.encoder = torch.nn.Linear(m, k, bias=False)  # W1
        self.decoder = torch.nn.Linear(k, m, bias=False)  # W2

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build_model(m, k):
    return LinearAutoencoder(m, k)


def squared_error(prediction, target):
    return ((prediction - target) ** 2).sum()


def build_loss():
    return squared_error


def build_optimizer(model, lam, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=2 * lam)
