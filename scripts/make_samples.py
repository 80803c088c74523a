"""Regenerate the sample submissions that are a full, correct homework with exactly one mistake.

Each slip sample is the correct solution with one function replaced, so that problems/autoencoders/samples.yaml
can say that the mistake is diagnosed on its problem and that every other problem still earns full marks. The
correct functions are read from the sample `correct-numpy/solution.py` (a correct homework written apart from
the reference solutions, so that it tests them too), not kept here. Run from the repository root: python scripts/make_samples.py [--out FOLDER] (default: the
assignment's samples/ folder; the other samples there are written by hand).
"""

from __future__ import annotations

import argparse
import ast
import json
import textwrap
from pathlib import Path

ASSIGNMENT = Path(__file__).resolve().parent.parent / "problems" / "autoencoders"
SAMPLES = ASSIGNMENT / "samples"

HEADER = "import numpy as np\n"
#: the functions a full homework defines, in the order a solution file holds them
FUNCTIONS = ("linear_ae_gradients", "pca_autoencoder", "is_stationary", "teacher_forcing_inputs",
             "greedy_decoder_inputs", "build_model", "build_loss", "build_optimizer")


def correct_functions(files: list[Path]) -> dict[str, str]:
    """Each of FUNCTIONS as ``files`` write it (the lines of its definition, comments kept)."""
    found: dict[str, str] = {}
    for ref in files:
        text = ref.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        for node in ast.parse(text, filename=str(ref)).body:
            if isinstance(node, ast.FunctionDef) and node.name in FUNCTIONS:
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                found[node.name] = "".join(lines[first - 1:node.end_lineno])
    missing = [f for f in FUNCTIONS if f not in found]
    if missing:
        raise SystemExit(f"{', '.join(map(str, files))}: no definition of {', '.join(missing)}")
    return {name: found[name] for name in FUNCTIONS}


CORRECT = correct_functions([SAMPLES / "correct-numpy" / "solution.py"])

# student id -> the one function they got wrong (or wrote differently but correctly)
VARIANTS = {
    "slip-transposed": {"linear_ae_gradients": """
        def linear_ae_gradients(X, W1, W2):
            E = X - W2 @ W1 @ X
            return (-2 * W2.T @ E @ X.T).T, (-2 * E @ X.T @ W1.T).T
    """},
    "gradients-float32": {"linear_ae_gradients": """
        def linear_ae_gradients(X, W1, W2):
            X, W1, W2 = (np.asarray(a, dtype=np.float32) for a in (X, W1, W2))  # float32 throughout
            E = X - W2 @ W1 @ X
            return -2 * W2.T @ E @ X.T, -2 * E @ X.T @ W1.T
    """},
    "gradients-float16": {"linear_ae_gradients": """
        def linear_ae_gradients(X, W1, W2):
            X, W1, W2 = (np.asarray(a, dtype=np.float16) for a in (X, W1, W2))  # half precision: too coarse
            E = X - W2 @ W1 @ X
            return -2 * W2.T @ E @ X.T, -2 * E @ X.T @ W1.T
    """},
    "slip-factor-two": {"linear_ae_gradients": """
        def linear_ae_gradients(X, W1, W2):
            E = X - W2 @ W1 @ X
            return -W2.T @ E @ X.T, -E @ X.T @ W1.T
    """},
    "slip-sign": {"linear_ae_gradients": """
        def linear_ae_gradients(X, W1, W2):
            E = X - W2 @ W1 @ X
            return 2 * W2.T @ E @ X.T, 2 * E @ X.T @ W1.T
    """},
    "slip-swapped": {"linear_ae_gradients": """
        def linear_ae_gradients(X, W1, W2):
            E = X - W2 @ W1 @ X
            return -2 * E @ X.T @ W1.T, -2 * W2.T @ E @ X.T
    """},
    "slip-mean-over-samples": {"linear_ae_gradients": """
        def linear_ae_gradients(X, W1, W2):
            n = X.shape[1]
            E = X - W2 @ W1 @ X
            return -2 * W2.T @ E @ X.T / n, -2 * E @ X.T @ W1.T / n
    """},
    "slip-mse": {"linear_ae_gradients": """
        def linear_ae_gradients(X, W1, W2):
            E = X - W2 @ W1 @ X
            return -2 * W2.T @ E @ X.T / X.size, -2 * E @ X.T @ W1.T / X.size
    """},
    "pca-torch-float32": {"pca_autoencoder": """
        def pca_autoencoder(X, k):
            import torch

            U, _, _ = torch.linalg.svd(torch.from_numpy(X).float(), full_matrices=False)  # float32 throughout
            return U[:, :k].T, U[:, :k]
    """},
    "pca-smallest-eigenvectors": {"pca_autoencoder": """
        def pca_autoencoder(X, k):
            values, vectors = np.linalg.eigh(X @ X.T)
            Uk = vectors[:, :k]  # eigh is ascending: these are the smallest
            return Uk.T, Uk
    """},
    "pca-eig-unsorted": {"pca_autoencoder": """
        def pca_autoencoder(X, k):
            values, vectors = np.linalg.eig(X @ X.T)  # not sorted: the first k are not the top k
            Uk = np.real(vectors[:, :k])
            return Uk.T, Uk
    """},
    "pca-gram-matrix": {"pca_autoencoder": """
        def pca_autoencoder(X, k):
            values, vectors = np.linalg.eigh(X.T @ X)  # n x n instead of m x m
            Vk = vectors[:, ::-1][:, :k]
            return Vk.T, Vk
    """},
    "pca-swapped": {"pca_autoencoder": """
        def pca_autoencoder(X, k):
            U, s, Vt = np.linalg.svd(X, full_matrices=False)
            return U[:, :k], U[:, :k].T  # decoder first
    """},
    "pca-wrong-dimension": {"pca_autoencoder": """
        def pca_autoencoder(X, k):
            U, s, Vt = np.linalg.svd(X, full_matrices=False)
            return U[:, :k + 1].T, U[:, :k + 1]
    """},
    "pca-svd-sign-flip": {"pca_autoencoder": """
        def pca_autoencoder(X, k):
            U, s, Vt = np.linalg.svd(X, full_matrices=False)
            Uk = -U[:, :k]  # signs of principal directions are arbitrary
            return Uk.T, Uk
    """},
    "pca-rotated-basis": {"pca_autoencoder": """
        def pca_autoencoder(X, k):
            U, s, Vt = np.linalg.svd(X, full_matrices=False)
            A = np.triu(np.ones((k, k))) + np.eye(k)  # any invertible mixing inside the subspace
            return np.linalg.solve(A, U[:, :k].T), U[:, :k] @ A
    """},
    "stationary-float32": {"is_stationary": """
        def is_stationary(X, W1, W2):
            X, W1, W2 = (np.asarray(a, dtype=np.float32) for a in (X, W1, W2))  # float32 throughout
            S = X @ X.T
            R = np.eye(X.shape[0], dtype=np.float32) - W2 @ W1
            g1, g2 = W2.T @ R @ S, R @ S @ W1.T
            scale = np.linalg.norm(S) * (1 + np.linalg.norm(W1) * np.linalg.norm(W2))
            return bool(np.linalg.norm(g1) < 1e-5 * scale and np.linalg.norm(g2) < 1e-5 * scale)  # float32's rounding
    """},
    "stationary-symmetric-test": {"is_stationary": """
        def is_stationary(X, W1, W2):  # tests for a symmetric projector onto eigenvectors, not the gradients
            S = X @ X.T
            P = W2 @ W1
            scale = np.linalg.norm(S)
            if np.linalg.norm(P - P.T) > 1e-9 * (1 + np.linalg.norm(P)):
                return False
            return bool(np.linalg.norm(P @ S - S @ P) < 1e-9 * scale * (1 + np.linalg.norm(P))
                        and np.linalg.norm(P @ P - P) < 1e-9 * (1 + np.linalg.norm(P)))
    """},
    "greedy-lists-unfed-prediction": {"greedy_decoder_inputs": """
        def greedy_decoder_inputs(step, h0, max_len):
            fed, token, h = [], "<sos>", h0
            for _ in range(max_len):
                fed.append(token)
                token, h = step(token, h)
                if token == "<eos>":
                    break
            else:
                fed.append(token)  # the last prediction, listed although it was never fed
            return fed
    """},
    "stationary-always-true": {"is_stationary": """
        def is_stationary(X, W1, W2):
            return True
    """},
    "stationary-always-false": {"is_stationary": """
        def is_stationary(X, W1, W2):
            return False
    """},
    "stationary-one-condition": {"is_stationary": """
        def is_stationary(X, W1, W2):
            S = X @ X.T
            R = np.eye(X.shape[0]) - W2 @ W1
            return bool(np.allclose(R @ S @ W1.T, 0, atol=1e-8 * np.linalg.norm(S)))  # dL/dW2 only
    """},
    "stationary-loose-tolerance": {"is_stationary": """
        def is_stationary(X, W1, W2):
            S = X @ X.T
            R = np.eye(X.shape[0]) - W2 @ W1
            g1, g2 = W2.T @ R @ S, R @ S @ W1.T
            scale = np.linalg.norm(S) * (1 + np.linalg.norm(W1) * np.linalg.norm(W2))
            return bool(np.linalg.norm(g1) < 5e-3 * scale and np.linalg.norm(g2) < 5e-3 * scale)  # 0.5%: too loose
    """},
    "stationary-torch-bool": {"is_stationary": """
        def is_stationary(X, W1, W2):
            import torch
            S = torch.tensor(X @ X.T)
            R = torch.eye(X.shape[0], dtype=S.dtype) - torch.tensor(W2) @ torch.tensor(W1)
            g1, g2 = torch.tensor(W2).T @ R @ S, R @ S @ torch.tensor(W1).T
            scale = torch.linalg.norm(S) * (1 + torch.linalg.norm(torch.tensor(W1)) * torch.linalg.norm(torch.tensor(W2)))
            return (torch.linalg.norm(g1) < 1e-9 * scale) & (torch.linalg.norm(g2) < 1e-9 * scale)  # a 0-d tensor
    """},
    "stationary-numpy-bool": {"is_stationary": """
        def is_stationary(X, W1, W2):
            S = X @ X.T
            R = np.eye(X.shape[0]) - W2 @ W1
            tol = 1e-8 * np.linalg.norm(S)
            return np.all(np.abs(W2.T @ R @ S) < tol) & np.all(np.abs(R @ S @ W1.T) < tol)  # a numpy.bool_
    """},
    "tf-missing-sos": {"teacher_forcing_inputs": """
        def teacher_forcing_inputs(target):
            return list(target)
    """},
    "tf-targets": {"teacher_forcing_inputs": """
        def teacher_forcing_inputs(target):
            return list(target) + ["<eos>"]
    """},
    "tf-drops-last-word": {"teacher_forcing_inputs": """
        def teacher_forcing_inputs(target):
            return ["<sos>"] + list(target)[:-1]  # the convention of targets that end in <eos>
    """},
    "greedy-feeds-eos": {"greedy_decoder_inputs": """
        def greedy_decoder_inputs(step, h0, max_len):
            fed, token, h = [], "<sos>", h0
            for _ in range(max_len):
                fed.append(token)
                if token == "<eos>":
                    break
                token, h = step(token, h)
            return fed
    """},
    "greedy-never-stops": {"greedy_decoder_inputs": """
        def greedy_decoder_inputs(step, h0, max_len):
            fed, token, h = [], "<sos>", h0
            for _ in range(max_len):
                fed.append(token)
                token, h = step(token, h)
            return fed
    """},
    "greedy-drops-hidden-state": {"greedy_decoder_inputs": """
        def greedy_decoder_inputs(step, h0, max_len):
            fed, token = [], "<sos>"
            for _ in range(max_len):
                fed.append(token)
                token, _ = step(token, h0)
                if token == "<eos>":
                    break
            return fed
    """},
    "greedy-missing-sos": {"greedy_decoder_inputs": """
        def greedy_decoder_inputs(step, h0, max_len):
            fed, token, h = [], "<sos>", h0
            for _ in range(max_len):
                if token != "<sos>":
                    fed.append(token)  # leaves out the <sos> it fed first
                token, h = step(token, h)
                if token == "<eos>":
                    break
            return fed
    """},
    "greedy-no-feedback": {"greedy_decoder_inputs": """
        def greedy_decoder_inputs(step, h0, max_len):
            fed, token, h = [], "<sos>", h0
            for _ in range(max_len):
                fed.append(token)
                token, h = step("<sos>", h)  # always feeds <sos>, not the prediction
                if token == "<eos>":
                    break
            return fed
    """},
    # regularized-ae (build_model, build_loss, build_optimizer) written in other ways, right or wrong
    "regularized-l2-in-loss": {"build_model": """
        _MODEL = None  # the model and lam, for the penalty in the loss
        _LAM = None


        def build_model(m, k):
            global _MODEL
            from torch import nn
            _MODEL = nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))
            return _MODEL
    """, "build_loss": """
        def build_loss():
            def loss(prediction, target):  # Eq. 6's summand: ||x - W2 W1 x||^2 + lam (||W1||^2 + ||W2||^2)
                penalty = sum((W ** 2).sum() for W in _MODEL.parameters())
                return ((prediction - target) ** 2).sum() + _LAM * penalty
            return loss
    """, "build_optimizer": """
        def build_optimizer(model, lam, lr):
            global _LAM
            import torch
            _LAM = lam
            return torch.optim.SGD(model.parameters(), lr=lr)  # no weight decay: the penalty is in the loss
    """},
    "regularized-l2-in-loss-half": {"build_model": """
        _MODEL = None  # the model and lam, for the penalty in the loss
        _LAM = None


        def build_model(m, k):
            global _MODEL
            from torch import nn
            _MODEL = nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))
            return _MODEL
    """, "build_loss": """
        def build_loss():
            def loss(prediction, target):
                penalty = sum((W ** 2).sum() for W in _MODEL.parameters())
                return ((prediction - target) ** 2).sum() + _LAM / 2 * penalty  # lam/2: half Eq. 6's penalty
            return loss
    """, "build_optimizer": """
        def build_optimizer(model, lam, lr):
            global _LAM
            import torch
            _LAM = lam
            return torch.optim.SGD(model.parameters(), lr=lr)
    """},
    "regularized-parameters": {"build_model": """
        import torch
        from torch import nn


        class LinearAutoencoder(nn.Module):
            def __init__(self, m, k):
                super().__init__()
                self.W1 = nn.Parameter(torch.randn(k, m) / m ** 0.5)  # encoder, k x m
                self.W2 = nn.Parameter(torch.randn(m, k) / k ** 0.5)  # decoder, m x k

            def forward(self, x):  # a batch of rows: x -> W2 W1 x for each
                return x @ self.W1.T @ self.W2.T


        def build_model(m, k):
            return LinearAutoencoder(m, k)
    """},
    "regularized-decoder-first": {"build_model": """
        from torch import nn


        class LinearAutoencoder(nn.Module):
            def __init__(self, m, k):
                super().__init__()
                self.decoder = nn.Linear(k, m, bias=False)  # W2, registered first
                self.encoder = nn.Linear(m, k, bias=False)  # W1

            def forward(self, x):
                return self.decoder(self.encoder(x))


        def build_model(m, k):
            return LinearAutoencoder(m, k)
    """},
    "regularized-noop-parametrization": {"build_model": """
        from torch import nn
        from torch.nn.utils import parametrize


        class Same(nn.Module):
            def forward(self, weight):
                return weight


        def build_model(m, k):
            model = nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))
            parametrize.register_parametrization(model[0], "weight", Same())  # changes nothing
            return model
    """},
    "regularized-scaled-parametrization": {"build_model": """
        from torch import nn
        from torch.nn.utils import parametrize


        class Doubled(nn.Module):
            def forward(self, weight):
                return 2 * weight


        def build_model(m, k):
            model = nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))
            parametrize.register_parametrization(model[0], "weight", Doubled())  # W1 = 2 * original
            return model
    """},
    "regularized-encoder-decay-only": {"build_optimizer": """
        def build_optimizer(model, lam, lr):
            import torch
            return torch.optim.SGD([{"params": model[0].parameters(), "weight_decay": 2 * lam},  # W1 only
                                    {"params": model[1].parameters()}], lr=lr)
    """},
    "regularized-detached-penalty": {"build_model": """
        _MODEL = None  # the model and lam, for the penalty in the loss
        _LAM = None


        def build_model(m, k):
            global _MODEL
            from torch import nn
            _MODEL = nn.Sequential(nn.Linear(m, k, bias=False), nn.Linear(k, m, bias=False))
            return _MODEL
    """, "build_loss": """
        def build_loss():
            def loss(prediction, target):  # state_dict() holds detached tensors: the penalty has no gradient
                penalty = sum((W ** 2).sum() for W in _MODEL.state_dict().values())
                return ((prediction - target) ** 2).sum() + _LAM * penalty
            return loss
    """, "build_optimizer": """
        def build_optimizer(model, lam, lr):
            global _LAM
            import torch
            _LAM = lam
            return torch.optim.SGD(model.parameters(), lr=lr)
    """},
}


ANSWERS = """\
# Written answers, keyed by problem id, then question id.
seq2seq-tokens:
  design_problem: >
    Feeding h_t to decoder step t assumes the output has the same length as the input and that words
    align one to one; translations differ in length and reorder words.
  training_inputs: [<sos>, I, see, a, dog]
  eval_inputs: [<sos>, I, saw, a, dog]
regularized-ae:
  linear_layers: 2
  loss: nn.MSELoss
  needed: [weight_decay, sgd]
  orthonormal_bias: yes
  argument: >
    The penalty is minimised, for a fixed product W2 W1, when the singular values of W2 and W1 are
    balanced; sigma^2 + 1/sigma^2 is smallest at sigma = 1, so W2 tends to orthonormal columns.
resnet-blog:
  baseline_seconds: 356
  baseline_accuracy: 94
  final_seconds: 26
  final_accuracy: 94
  learned: The input pipeline and small architecture changes matter as much as the GPU.
  favourite_approach: Test-time augmentation, because it buys accuracy for free at inference.
"""


#: student id -> (a line of ANSWERS, what they wrote instead): the right code, a written answer put another way
ANSWER_VARIANTS = {
    "answers-precise-loss": ("  loss: nn.MSELoss\n",
                             "  loss: \"nn.MSELoss(reduction='sum')\"  # the reduction: a more precise right answer\n"),
}


def source(overrides: dict[str, str]) -> str:
    functions = {**CORRECT, **overrides}
    return HEADER + "".join("\n\n" + textwrap.dedent(body).strip() + "\n" for body in functions.values())


def notebook() -> str:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Homework: autoencoders and seq2seq\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [],
         "source": ["!pip install numpy\n", "%matplotlib inline\n", "import numpy as np"]},
    ]
    for body in CORRECT.values():
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                      "source": textwrap.dedent(body).strip().splitlines(keepends=True)})
    cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                  "source": ["%%time\n", "import os\n", "os.system('echo this cell magic must never run')"]})
    cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                  "source": ["files = !ls /\n", "X = np.random.randn(4, 6)\n",
                             "print(linear_ae_gradients(X, np.ones((2, 4)), np.ones((4, 2)))[0].shape)"]})
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                      "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLES, help="where to write them (default: %(default)s)")
    out = parser.parse_args(argv).out
    (out / "correct-numpy").mkdir(parents=True, exist_ok=True)
    (out / "correct-numpy" / "solution.py").write_text(source({}))
    (out / "correct-numpy" / "answers.yaml").write_text(ANSWERS)
    (out / "correct-notebook").mkdir(exist_ok=True)
    (out / "correct-notebook" / "solution.ipynb").write_text(notebook())
    for student, overrides in VARIANTS.items():
        (out / student).mkdir(exist_ok=True)
        (out / student / "solution.py").write_text(source(overrides))
        (out / student / "answers.yaml").write_text(ANSWERS)
    for student, (line, instead) in ANSWER_VARIANTS.items():
        assert ANSWERS.count(line) == 1, line
        (out / student).mkdir(exist_ok=True)
        (out / student / "solution.py").write_text(source({}))
        (out / student / "answers.yaml").write_text(ANSWERS.replace(line, instead))


if __name__ == "__main__":
    main()
