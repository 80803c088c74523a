import torch


def linear_ae_gradients(X, W1, W2):
    # Let autograd do it: the loss is ||X - W2 W1 X||_F^2.
    X = torch.from_numpy(X)
    W1 = torch.tensor(W1, requires_grad=True)
    W2 = torch.tensor(W2, requires_grad=True)
    loss = ((X - W2 @ W1 @ X) ** 2).sum()
    loss.backward()
    return W1.grad, W2.grad
