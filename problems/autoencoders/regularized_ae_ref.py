"""Reference solution for regularized-ae (instructors only; never shown to student code).

``build_model``, ``build_loss`` and ``build_optimizer`` are the reference set-up: the grader trains them
with the same driver, sandbox and device as a student's (``grader validate``, and the timing on each
machine that sets the budgets). ``regularized_ae`` gives the expected values: the closed-form minimiser
of Eq. 6 for a case's data. torch is imported inside the functions: the grader imports this module
only to compute the closed form, which needs numpy alone.
"""

import numpy as np


def build_model(m, k):
    from torch import nn

    return nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))  # W1 (k x m), W2 (m x k)


def build_loss():
    from torch import nn

    return nn.MSELoss(reduction="sum")  # per point: ||x - W2 W1 x||^2


def build_optimizer(model, lam, lr):
    import torch

    # weight_decay wd adds wd * W to the gradient: the gradient of (wd / 2) ||W||^2, so wd = 2 lam
    return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=2 * lam)


def regularized_ae(X, lam, lr, W1_init, W2_init):
    """The minimiser of Eq. 6 for points X (n x m, one per row): W2* = U_k diag(sqrt(1 - lam/s_i)) O^T, W1* = W2*^T."""
    k = W1_init.shape[0]
    values, vectors = np.linalg.eigh(X.T @ X / X.shape[0])
    order = np.argsort(values)[::-1]
    s, U = values[order], vectors[:, order]
    sigma = np.sqrt(np.clip(1.0 - lam / s[:k], 0.0, None))
    W2 = U[:, :k] * sigma
    return {"eigenvalues": s, "eigenvectors": U, "k": int(k), "lam": float(lam), "singular_values": sigma,
            "W1": W2.T.copy(), "W2": W2}
