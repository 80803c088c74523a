"""Mistake: the code (the encoder's output) is detached before the decoder, so the encoder never learns.

The forward map is still x -> W2 W1 x; only backpropagation shows the difference.
"""

import torch


class LinearAutoencoder(torch.nn.Module):
    def __init__(self, m, k):
        super().__init__()
        self.encoder = torch.nn.Linear(m, k, bias=False)  # W1
        self.decoder = torch.nn.Linear(k, m, bias=False)  # W2

    def forward(self, x):
        code = self.encoder(x).detach()  # meant to keep the code; it cuts W1 off from the gradient
        return self.decoder(code)


def build_model(m, k):
    return LinearAutoencoder(m, k)


def build_loss():
    return torch.nn.MSELoss(reduction="sum")


def build_optimizer(model, lam, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=2 * lam)
