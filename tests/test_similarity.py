"""The similarity report (``grader similarity OUT``, grader/similarity/): copied pairs come first, independent work
does not, whatever a copier renames, reorders, comments or pads with statements that do nothing; one function copied
into own work is found; a group sharing one solution is one finding; starter code (and the handout's placeholder
answers) is taken out; notebooks count as their code cells; the grader's own signals (identical unexplained wrong
values on hidden cases, slip sequences, written answers) add to the code's, and what a student who did not attempt a
problem gets is no evidence; huge files are compared in part; and the pages render, one per pair, worded as evidence
to review.

A planted copy is made the way a copier would: local variables renamed, the functions written in another order,
comments added (:func:`disguise`). The shipped samples are copies of one another by construction (each is the
correct homework with one function changed, scripts/make_samples.py): their test checks that every pair flagged
among them *is* one derived from the other (a few changed lines), and that the independently written ones and the
grader-only signals raise nothing. Independently written solutions, below, are the false-alarm test proper.
"""

from __future__ import annotations

import ast
import csv
import difflib
import io
import json
import shutil
import tokenize
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import SAMPLE_ASSIGNMENTS
from grader import api
from grader.cli import main
from grader.gradebook import FILENAME as GRADEBOOK, Gradebook
from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.similarity import THRESHOLD, find_similar
from grader.similarity.fingerprints import code_document
from grader.similarity.index import CodeOverlap, common_cut, rare_cut
from grader.similarity.ranking import Pair, pair_slug
from grader.similarity.signals import shared_items, student_items
from grader.similarity.tokens import normalise

BACKPROP = SAMPLE_ASSIGNMENTS["backprop"]
AUTOENCODERS = SAMPLE_ASSIGNMENTS["autoencoders"]


# ------------------------------------------------------------------------------------------ planting a copy

def disguise(text: str, *, prefix: str = "my_") -> str:
    """``text`` as a copier would hand it in: every local variable renamed (never a function's own name or its
    parameters: the grader calls them by name), the top-level functions in reverse order, comments added."""
    tree = ast.parse(text)
    keep = {a.arg for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
            for a in node.args.args + node.args.kwonlyargs}
    keep |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    stores = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - keep)
    renames = {name: f"{prefix}{name.lower()}_{i}" for i, name in enumerate(stores)}
    lines = text.splitlines(keepends=True)
    edits: dict[int, list[tuple[int, int, str]]] = {}
    toks = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type not in (tokenize.COMMENT, tokenize.NL)]
    depth = 0
    for i, tok in enumerate(toks):
        depth += (tok.string in "([{") - (tok.string in ")]}") if tok.type == tokenize.OP else 0
        keyword = depth > 0 and i + 1 < len(toks) and toks[i + 1].string == "="  # f(dim=1): the callee's name
        attribute = i > 0 and toks[i - 1].string == "."
        if tok.type == tokenize.NAME and tok.string in renames and not (keyword or attribute):
            edits.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], renames[tok.string]))
    for row, changes in edits.items():
        line = lines[row - 1]
        for start, end, new in sorted(changes, reverse=True):
            line = line[:start] + new + line[end:]
        lines[row - 1] = line
    renamed = "".join(lines)
    tree = ast.parse(renamed)
    body = renamed.splitlines(keepends=True)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    first = min(node.lineno for node in functions)
    header = "".join(body[:first - 1])
    pieces = []
    for n, node in enumerate(reversed(functions), 1):
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        code = body[start - 1:node.end_lineno]
        code[0] = code[0].rstrip("\n") + "  # my own version\n"
        pieces.append(f"# Part {n}: written by me\n" + "".join(code))
    return header + "\n\n" + "\n\n".join(pieces)


def as_notebook(text: str) -> str:
    """``text`` as a Jupyter notebook: the imports in one cell, each function in its own, markdown between."""
    tree = ast.parse(text)
    body = text.splitlines(keepends=True)
    cells = []
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    cells.append({"cell_type": "code", "metadata": {}, "source": body[:functions[0].lineno - 1],
                  "outputs": [], "execution_count": None})
    for node in functions:
        cells.append({"cell_type": "markdown", "metadata": {}, "source": [f"## {node.name}\n", "My answer below.\n"]})
        cells.append({"cell_type": "code", "metadata": {}, "source": body[node.lineno - 1:node.end_lineno],
                      "outputs": [], "execution_count": None})
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def code_only_out(out: Path, submissions: Path) -> Path:
    """A grade output folder whose gradebook holds every student of ``submissions`` with no results: the code
    signal alone, without grading (the grader signals are tested on really graded batches below)."""
    out.mkdir(parents=True, exist_ok=True)
    with Gradebook.open(out / GRADEBOOK) as book:
        run = book.start_run(assignment=Path("assignment"), spec_hash="-", submissions_dir=submissions.resolve(),
                             problems=[], options={})
        for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
            book.save(SubmissionResult(folder.name), folder=folder, content_hash="-", spec_hash="-", run_id=run,
                      fresh=[])
    return out


def write_students(root: Path, files: dict[str, dict[str, str]]) -> Path:
    for student, named in files.items():
        (root / student).mkdir(parents=True, exist_ok=True)
        for name, text in named.items():
            (root / student / name).write_text(text, encoding="utf-8")
    return root


def pair_of(report, a: str, b: str):
    a, b = sorted((a, b))
    return next((p for p in report.pairs if (p.a, p.b) == (a, b)), None)


def graded_out(out: Path, submissions: Path, results: dict[str, SubmissionResult],
               assignment: Path = Path("assignment")) -> Path:
    """A grade output folder whose gradebook holds ``results`` (an empty result for every other student of
    ``submissions``), as if ``assignment`` had been graded: the grader signals without grading."""
    out.mkdir(parents=True, exist_ok=True)
    with Gradebook.open(out / GRADEBOOK) as book:
        run = book.start_run(assignment=assignment, spec_hash="-", submissions_dir=submissions.resolve(),
                             problems=sorted({p.problem for r in results.values() for p in r.problems}), options={})
        for folder in sorted(p for p in submissions.iterdir() if p.is_dir()):
            result = results.get(folder.name, SubmissionResult(folder.name))
            book.save(result, folder=folder, content_hash="-", spec_hash="-", run_id=run,
                      fresh=[p.problem for p in result.problems])
    return out


def function_source(text: str, name: str) -> str:
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return "".join(text.splitlines(keepends=True)[node.lineno - 1:node.end_lineno])


def with_function(text: str, name: str, new: str) -> str:
    """``text`` with its function ``name`` replaced by the source ``new``."""
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = text.splitlines(keepends=True)
    return "".join(lines[:node.lineno - 1]) + new.rstrip("\n") + "\n" + "".join(lines[node.end_lineno:])


def with_no_ops(text: str) -> str:
    """``text`` with a statement that does nothing after every statement of its functions: ``x = x`` after an
    assignment to ``x``, else in turn ``pass``, ``None``, ``0``, ``...`` and a constant assigned to a name nothing
    reads."""
    tree = ast.parse(text)
    after: dict[int, list[tuple[int, str]]] = {}
    fillers = ["pass", "None", "0", "...", "unused_{n} = 0"]
    n = 0
    for fn in (node for node in tree.body if isinstance(node, ast.FunctionDef)):
        for stmt in (s for s in ast.walk(fn) if isinstance(s, ast.stmt) and s is not fn):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                line = f"{stmt.targets[0].id} = {stmt.targets[0].id}"
            else:
                line = fillers[n % len(fillers)].format(n=n)
                n += 1
            after.setdefault(stmt.end_lineno, []).append((stmt.col_offset, line))
    out = []
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        out.append(line)
        for col, extra in sorted(after.get(number, []), reverse=True):  # the innermost block's first
            out.append(" " * col + extra + "\n")
    return "".join(out)


# ------------------------------------------------------------------------------------------ independent work
# Four solutions of problems/backprop written apart, in four styles, as four students would.

INDEPENDENT = {
    "alice": '''import numpy as np


def softmax_xent_grad(Z, y):
    shifted = Z - Z.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p / len(y)


def batchnorm_backward(dout, x, gamma, eps):
    N = x.shape[0]
    mean = x.mean(axis=0)
    inv = 1 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - mean) * inv
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    g = dout * gamma
    dx = inv / N * (N * g - g.sum(axis=0) - xhat * (g * xhat).sum(axis=0))
    return dx, dgamma, dbeta


def causal_attention(Q, K, V):
    T, d = Q.shape
    S = Q @ K.T / np.sqrt(d)
    S[np.triu_indices(T, k=1)] = -np.inf
    S -= S.max(axis=1, keepdims=True)
    A = np.exp(S)
    A /= A.sum(axis=1, keepdims=True)
    return A @ V


def conv2d_forward(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    Hout = 1 + (H + 2 * padding - HH) // stride
    Wout = 1 + (W + 2 * padding - WW) // stride
    out = np.empty((N, F, Hout, Wout))
    for n in range(N):
        for f in range(F):
            for i in range(Hout):
                for j in range(Wout):
                    window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out
''',
    "bob": '''import numpy as np


def softmax_xent_grad(Z, y):
    n = Z.shape[0]
    grad = np.zeros_like(Z, dtype=float)
    for i in range(n):
        row = Z[i] - np.max(Z[i])
        e = np.exp(row)
        probs = e / np.sum(e)
        target = np.zeros(Z.shape[1])
        target[y[i]] = 1.0
        grad[i] = (probs - target) / n
    return grad


def batchnorm_backward(dout, x, gamma, eps):
    m = len(x)
    mu = np.mean(x, axis=0)
    var = np.mean((x - mu) ** 2, axis=0)
    xn = (x - mu) / np.sqrt(var + eps)
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xn, axis=0)
    dxn = dout * gamma
    dvar = np.sum(dxn * (x - mu), axis=0) * -0.5 * (var + eps) ** -1.5
    dmu = np.sum(-dxn / np.sqrt(var + eps), axis=0) + dvar * np.mean(-2 * (x - mu), axis=0)
    dx = dxn / np.sqrt(var + eps) + dvar * 2 * (x - mu) / m + dmu / m
    return dx, dgamma, dbeta


def causal_attention(Q, K, V):
    T = Q.shape[0]
    scale = 1.0 / np.sqrt(Q.shape[1])
    result = []
    for t in range(T):
        s = np.array([Q[t] @ K[u] * scale for u in range(t + 1)])
        s = np.exp(s - s.max())
        s = s / s.sum()
        result.append(sum(s[u] * V[u] for u in range(t + 1)))
    return np.array(result)


def conv2d_forward(x, w, b, stride, padding):
    n_img, n_ch, height, width = x.shape
    n_f, _, k1, k2 = w.shape
    padded = np.zeros((n_img, n_ch, height + 2 * padding, width + 2 * padding))
    padded[:, :, padding:padding + height, padding:padding + width] = x
    oh = (height + 2 * padding - k1) // stride + 1
    ow = (width + 2 * padding - k2) // stride + 1
    y = np.zeros((n_img, n_f, oh, ow))
    for r in range(oh):
        for c in range(ow):
            top, left = r * stride, c * stride
            patch = padded[:, :, top:top + k1, left:left + k2]
            y[:, :, r, c] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return y
''',
    "carol": '''import torch
import torch.nn.functional as F


def softmax_xent_grad(Z, y):
    logits = torch.tensor(Z, requires_grad=True)
    loss = F.cross_entropy(logits, torch.as_tensor(y, dtype=torch.long))
    loss.backward()
    return logits.grad.numpy()


def batchnorm_backward(dout, x, gamma, eps):
    xt = torch.tensor(x, requires_grad=True)
    g = torch.tensor(gamma, requires_grad=True)
    beta = torch.zeros_like(g, requires_grad=True)
    out = F.batch_norm(xt, None, None, g, beta, training=True, eps=eps)
    out.backward(torch.tensor(dout))
    return xt.grad.numpy(), g.grad.numpy(), beta.grad.numpy()


def causal_attention(Q, K, V):
    q, k, v = (torch.as_tensor(a) for a in (Q, K, V))
    T = q.shape[0]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    scores = (q @ k.T) / q.shape[-1] ** 0.5
    scores = scores.masked_fill(~mask, float("-inf"))
    return (torch.softmax(scores, dim=-1) @ v).numpy()


def conv2d_forward(x, w, b, stride, padding):
    out = F.conv2d(torch.as_tensor(x), torch.as_tensor(w), torch.as_tensor(b), stride=stride, padding=padding)
    return out.numpy()
''',
    "dana": '''import numpy as np


def _softmax(a, axis=-1):
    a = a - np.max(a, axis=axis, keepdims=True)
    e = np.exp(a)
    return e / np.sum(e, axis=axis, keepdims=True)


def _one_hot(labels, classes):
    out = np.zeros((labels.size, classes))
    out[np.arange(labels.size), labels] = 1
    return out


def softmax_xent_grad(Z, y):
    batch = Z.shape[0]
    return (_softmax(Z, axis=1) - _one_hot(np.asarray(y), Z.shape[1])) / batch


def batchnorm_backward(dout, x, gamma, eps):
    centred = x - x.mean(0)
    sigma = np.sqrt((centred ** 2).mean(0) + eps)
    normed = centred / sigma
    dnormed = gamma * dout
    dx = (dnormed - dnormed.mean(0) - normed * (dnormed * normed).mean(0)) / sigma
    return dx, np.einsum("nd,nd->d", dout, normed), dout.sum(0)


def causal_attention(Q, K, V):
    length, dim = Q.shape
    logits = np.einsum("td,sd->ts", Q, K) / np.sqrt(dim)
    future = np.tril(np.ones((length, length))) == 0
    logits = np.where(future, -np.inf, logits)
    return np.einsum("ts,sd->td", _softmax(logits, axis=1), V)


def conv2d_forward(x, w, b, stride, padding):
    x = np.pad(x, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2))
    kh, kw = w.shape[2:]
    rows = range(0, x.shape[2] - kh + 1, stride)
    cols = range(0, x.shape[3] - kw + 1, stride)
    tiles = [[np.einsum("nchw,fchw->nf", x[:, :, i:i + kh, j:j + kw], w) for j in cols] for i in rows]
    return np.stack([np.stack(row, -1) for row in tiles], -2) + b[None, :, None, None]
''',
}

#: a helper every student got with the handout, pasted in as given
STARTER = '''import numpy as np


def check_shapes(name, got, expected):
    """Raise a readable error when an array has the wrong shape (given with the homework)."""
    got = np.asarray(got)
    if got.shape != tuple(expected):
        raise ValueError(f"{name} has shape {got.shape}, expected {tuple(expected)}")
    if not np.all(np.isfinite(got)):
        bad = int(np.sum(~np.isfinite(got)))
        raise ValueError(f"{name} has {bad} entries that are NaN or infinite")
    return got


def numeric_gradient(f, x, h=1e-6):
    """Central differences of f at x, entry by entry (given with the homework)."""
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
        it.iternext()
    return grad
'''


#: two solutions written apart the way CS231n teaches (the staged batch norm, the naive convolution loops): close to
#: one another by that shared schooling, not by copying; about half their own fingerprints in common
CS231N = {
    "frank": '''import numpy as np


def softmax_xent_grad(Z, y):
    N = Z.shape[0]
    shifted_logits = Z - np.max(Z, axis=1, keepdims=True)
    probs = np.exp(shifted_logits)
    probs /= np.sum(probs, axis=1, keepdims=True)
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return dx


def batchnorm_backward(dout, x, gamma, eps):
    N = x.shape[0]
    sample_mean = np.mean(x, axis=0)
    sample_var = np.var(x, axis=0)
    std = np.sqrt(sample_var + eps)
    x_hat = (x - sample_mean) / std
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dx = (1.0 / N) / std * (N * dx_hat - np.sum(dx_hat, axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
    return dx, dgamma, dbeta


def causal_attention(Q, K, V):
    T, d = Q.shape
    scores = Q.dot(K.T) / np.sqrt(d)
    mask = np.triu(np.ones((T, T)), k=1).astype(bool)
    scores[mask] = -np.inf
    scores -= np.max(scores, axis=1, keepdims=True)
    weights = np.exp(scores)
    weights /= np.sum(weights, axis=1, keepdims=True)
    return weights.dot(V)


def conv2d_forward(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * padding - HH) // stride
    W_out = 1 + (W + 2 * padding - WW) // stride
    out = np.zeros((N, F, H_out, W_out))
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="constant")
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    h0, w0 = i * stride, j * stride
                    out[n, f, i, j] = np.sum(x_pad[n, :, h0:h0 + HH, w0:w0 + WW] * w[f]) + b[f]
    return out
''',
    "gina": '''import numpy as np


def softmax_xent_grad(Z, y):
    num_train = Z.shape[0]
    scores = Z - np.max(Z, axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= np.sum(probs, axis=1, keepdims=True)
    probs[range(num_train), y] -= 1
    return probs / num_train


def batchnorm_backward(dout, x, gamma, eps):
    N, D = x.shape
    mu = np.mean(x, axis=0)
    xmu = x - mu
    var = np.mean(xmu ** 2, axis=0)
    sqrtvar = np.sqrt(var + eps)
    ivar = 1.0 / sqrtvar
    xhat = xmu * ivar
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (1.0 / N) * ivar * (N * dxhat - np.sum(dxhat, axis=0) - xhat * np.sum(dxhat * xhat, axis=0))
    return dx, dgamma, dbeta


def causal_attention(Q, K, V):
    T, d = Q.shape
    scores = Q.dot(K.T) / np.sqrt(d)
    mask = np.triu(np.ones((T, T)), k=1).astype(bool)
    scores = np.where(mask, -np.inf, scores)
    probs = np.exp(scores - np.max(scores, axis=1, keepdims=True))
    probs = probs / np.sum(probs, axis=1, keepdims=True)
    return np.dot(probs, V)


def conv2d_forward(x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, C, HH, WW = w.shape
    x_padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="constant")
    H_out = 1 + (H + 2 * padding - HH) // stride
    W_out = 1 + (W + 2 * padding - WW) // stride
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_padded[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out
''',
}


# ------------------------------------------------------------------------------------------ tokens and fingerprints

def test_renamed_reordered_and_commented_code_normalises_to_the_same_units():
    original = INDEPENDENT["bob"]
    copied = disguise(original)
    assert copied != original and "my_" in copied and "# my own version" in copied
    names = [u.name for u in normalise(copied).units]
    assert names.index("conv2d_forward") < names.index("softmax_xent_grad")  # reordered

    def units(text):
        return sorted(" ".join(t.text for t in u.tokens) for u in normalise(text).units)

    assert units(copied) == units(original)
    assert code_document(copied).hashes == code_document(original).hashes


def test_docstrings_comments_and_layout_do_not_count_but_library_calls_do():
    plain = "def f(a, b):\n    return np.linalg.norm(a - b) + 1\n"
    dressed = ('def f(a, b):\n    """Distance plus one."""\n    # the norm\n    return np.linalg.norm(\n'
               '        a - b,\n    ) + 1  # done\n')
    other_call = "def f(a, b):\n    return np.linalg.det(a - b) + 1\n"
    tokens = [[t.text for t in u.tokens] for u in normalise(plain).units]
    assert tokens == [[t.text for t in u.tokens] for u in normalise(dressed).units]
    assert tokens != [[t.text for t in u.tokens] for u in normalise(other_call).units]


def test_code_that_does_not_compile_is_read_as_far_as_it_goes():
    read = normalise(INDEPENDENT["alice"] + "\ndef broken(:\n    return (1,\n")
    assert read.problem and "line" in read.problem
    assert {"softmax_xent_grad", "conv2d_forward"} <= {u.name for u in read.units}


# ------------------------------------------------------------------------------------------ code only

def test_independent_solutions_are_not_flagged_and_a_planted_copy_is(tmp_path):
    files = {name: {"solution.py": text} for name, text in INDEPENDENT.items()}
    files["erin"] = {"solution.py": disguise(INDEPENDENT["alice"])}
    subs = write_students(tmp_path / "subs", files)
    report = api.similarity_report(code_only_out(tmp_path / "out", subs))
    top = report.pairs[0]
    assert (top.a, top.b) == ("alice", "erin") and top.flagged
    assert top.code.containment == 1.0 and top.code.shared >= 40
    assert [(p.a, p.b) for p in report.flagged] == [("alice", "erin")]
    for pair in report.pairs[1:]:
        if "erin" not in (pair.a, pair.b):
            assert pair.code.score < 0.2, (pair.a, pair.b, pair.code)  # independent work shares little
    rows = list(csv.DictReader((tmp_path / "out" / "similarity.csv").open(encoding="utf-8")))
    assert (rows[0]["student_a"], rows[0]["student_b"], rows[0]["flagged"]) == ("alice", "erin", "yes")
    assert rows[0]["page"] == f"similarity/{pair_slug('alice', 'erin')}" and float(rows[0]["code_containment"]) == 1.0
    assert all(r["flagged"] == "no" for r in rows[1:])


def test_starter_code_is_taken_out(tmp_path):
    files = {name: {"solution.py": STARTER + "\n\n" + INDEPENDENT[name].replace("import numpy as np\n", "")}
             for name in ("alice", "bob", "dana")}
    subs = write_students(tmp_path / "subs", files)
    out = code_only_out(tmp_path / "out", subs)
    before = {(p.a, p.b): p.code.containment for p in find_similar(out).pairs}
    assert len(before) == 3 and min(before.values()) > 0.3  # the pasted handout makes independent work look alike
    (tmp_path / "handout").mkdir()
    (tmp_path / "handout" / "starter.py").write_text(STARTER, encoding="utf-8")
    report = api.similarity_report(out, starter=[tmp_path / "handout"])
    assert report.starter.files == [tmp_path / "handout" / "starter.py"]
    assert not report.flagged
    assert all(report.index.starter_removed[s] > 10 for s in files)
    assert all(p.code.score < 0.15 for p in report.pairs)
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert "starter.py" in page and "taken out of every submission" in page


def test_without_a_starter_the_report_says_so(tmp_path):
    subs = write_students(tmp_path / "subs", {n: {"solution.py": INDEPENDENT[n]} for n in ("alice", "bob")})
    api.similarity_report(code_only_out(tmp_path / "out", subs))
    assert "none given" in (tmp_path / "out" / "similarity.html").read_text(encoding="utf-8")


def test_notebooks_are_read_as_their_code_cells(tmp_path):
    files = {name: {"solution.py": text} for name, text in INDEPENDENT.items()}
    files["frank"] = {"solution.ipynb": as_notebook(disguise(INDEPENDENT["dana"]))}
    subs = write_students(tmp_path / "subs", files)
    out = code_only_out(tmp_path / "out", subs)
    report = api.similarity_report(out)
    assert [(p.a, p.b) for p in report.flagged] == [("dana", "frank")]
    assert report.flagged[0].code.containment == 1.0
    page = (out / "similarity" / pair_slug("dana", "frank")).read_text(encoding="utf-8")
    assert "solution.ipynb" in page and "# --- cell" in page and "My answer below" not in page  # markdown left out


def test_the_code_is_read_from_the_recorded_folder_or_submissions(tmp_path):
    subs = write_students(tmp_path / "subs", {n: {"solution.py": INDEPENDENT[n]} for n in ("alice", "bob")})
    out = code_only_out(tmp_path / "out", subs)
    moved = tmp_path / "moved"
    subs.rename(moved)
    assert main(["similarity", str(out)]) == 2  # the recorded folder is gone: says so
    assert api.similarity_report(out, submissions=moved).index.docs.keys() == {"alice", "bob"}
    (moved / "bob" / "solution.py").unlink()
    (moved / "bob" / "solution.py").symlink_to(moved / "alice" / "solution.py")
    report = api.similarity_report(out, submissions=moved)
    assert "bob" in report.unread and "link" in report.unread["bob"]  # never followed
    assert main(["similarity", str(tmp_path / "nowhere")]) == 2


# ------------------------------------------------------------------------------------------ grader signals

def _result(student, problem, checks):
    return SubmissionResult(student, [ProblemResult(problem, problem, checks)])


def _check(case, status, feedback, diagnosis=None, check="matches-reference", visibility=Visibility.HIDDEN):
    return CheckResult("p", check, case, visibility, status, 0.0 if status is not Status.PASSED else 1.0, 1.0,
                       feedback, diagnosis)


def test_identical_unexplained_wrong_values_on_hidden_cases_are_evidence():
    wrong = "out differs from the expected value: relative error 4.75 (allowed 1e-05)"
    results = {
        "a": _result("a", "p", [_check("h1", Status.FAILED, wrong), _check("h2", Status.FAILED, "relative error 2.1"),
                                _check("pub", Status.FAILED, wrong, visibility=Visibility.PUBLIC)]),
        "b": _result("b", "p", [_check("h1", Status.FAILED, wrong), _check("h2", Status.FAILED, "relative error 2.1"),
                                _check("pub", Status.FAILED, wrong, visibility=Visibility.PUBLIC)]),
        "c": _result("c", "p", [_check("h1", Status.FAILED, "Your values have the wrong sign", diagnosis="sign"),
                                _check("h2", Status.FAILED, "relative error 3")]),
        "d": _result("d", "p", [_check("h1", Status.FAILED, "Your values have the wrong sign", diagnosis="sign")]),
        "e": _result("e", "p", [_check("h1", Status.ERROR, "NameError: solution.py defines no function 'f'")]),
        "f": _result("f", "p", [_check("h1", Status.ERROR, "NameError: solution.py defines no function 'f'")]),
    }
    pairs = shared_items({s: student_items(r, None) for s, r in results.items()}, cut=5)
    assert set(pairs) == {("a", "b")}  # not the diagnosed slip, not the errors, not the public case
    assert sorted(e.item.key[1] for e in pairs[("a", "b")]) == ["h1", "h2"]
    assert all(e.weight == 1.0 for e in pairs[("a", "b")])
    pair = Pair("a", "b", CodeOverlap(0, 0, 0), {"values": pairs[("a", "b")]})
    assert pair.weight("values") == 2.0 and pair.scores["values"] == 0.75 and not pair.flagged


def test_one_systematic_wrong_value_on_every_case_counts_once():
    """A factor of 2 no slip names gives "relative error 0.5" on every hidden case: one shared mistake, not three."""
    results = {s: _result(s, "p", [_check(f"h{i}", Status.FAILED, "relative error 0.5") for i in range(3)])
               for s in "ab"}
    evidence = shared_items({s: student_items(r, None) for s, r in results.items()}, cut=5)[("a", "b")]
    assert len(evidence) == 3
    assert Pair("a", "b", CodeOverlap(0, 0, 0), {"values": evidence}).weight("values") == 1.0


def test_a_wrong_value_many_share_counts_less_and_a_common_one_nothing():
    results = {s: _result(s, "p", [_check("h1", Status.FAILED, "relative error 0.5")]) for s in "abc"}
    pairs = shared_items({s: student_items(r, None) for s, r in results.items()}, cut=5)
    assert {k: [e.weight for e in v] for k, v in pairs.items()} == {("a", "b"): [0.5], ("a", "c"): [0.5],
                                                                     ("b", "c"): [0.5]}
    assert shared_items({s: student_items(r, None) for s, r in results.items()}, cut=2) == {}
    assert rare_cut(40) == 10 and rare_cut(500) == 50  # a wrong value, slip sequence or answer more give is common
    assert common_cut(12) == 6 and common_cut(40) == 20 and common_cut(500) == 250  # code: more than half the class


def test_slip_sequences_and_written_answers():
    from grader.answers.reader import Answers

    def slips(student, *names):
        return _result(student, "p", [_check(f"h{i}", Status.FAILED, "x", diagnosis=n) for i, n in enumerate(names)])

    one = {s: slips(s, "sign") for s in "ab"}
    assert shared_items({s: student_items(r, None) for s, r in one.items()}, cut=5) == {}  # one slip: no evidence
    two = {"a": slips("a", "sign", "factor_two"), "b": slips("b", "sign", "factor_two"),
           "c": slips("c", "factor_two", "sign")}
    found = shared_items({s: student_items(r, None) for s, r in two.items()}, cut=5)
    assert set(found) == {("a", "b")} and found[("a", "b")][0].weight == 1.0

    def answered(student, text, status=Status.PENDING, diagnosis="manual"):
        result = SubmissionResult(student, [ProblemResult("q", "q", [CheckResult(
            "q", "why", None, Visibility.HIDDEN, status, 0.0, 1.0, "", diagnosis, kind="question")])])
        return result, Answers({"q": {"why": text}})

    cases = {"a": answered("a", "Because the  gradient VANISHES\nthrough the saturated sigmoid."),
             "b": answered("b", "because the gradient vanishes through the saturated sigmoid."),
             "c": answered("c", "Too short to tell."), "d": answered("d", "too short to tell."),
             "e": answered("e", "the reference answer, which earns full marks here", Status.PASSED, None),
             "f": answered("f", "the reference answer, which earns full marks here", Status.PASSED, None)}
    found = shared_items({s: student_items(r, a) for s, (r, a) in cases.items()}, cut=5)
    assert set(found) == {("a", "b")} and found[("a", "b")][0].weight == 2.0


# ------------------------------------------------------------------------------------------ what is no evidence

#: the placeholder the handout's answers.yaml gives for the written question
PLACEHOLDER = "Write your answer here, in two or three sentences."
DESIGN_PROMPT = "7(a): state one problem with feeding the encoder's h_t to the decoder at each step t."
HIDDEN_ATTENTION = ("hidden-long-101", "hidden-long-102", "hidden-sharp-103", "hidden-large-scores-104")


def _attention_and_answer(student: str, feedback: dict[str, str], status: Status = Status.FAILED) -> SubmissionResult:
    """A result with causal-attention failing each hidden case with ``feedback[case]`` (passing without) and the
    design question awaiting manual grading."""
    checks = [CheckResult("causal-attention", "matches-reference", case, Visibility.HIDDEN,
                          status if case in feedback else Status.PASSED, 0.0 if case in feedback else 1.0, 1.0,
                          feedback.get(case, "matches the reference"))
              for case in HIDDEN_ATTENTION]
    question = CheckResult("seq2seq-tokens", "design_problem", None, Visibility.HIDDEN, Status.PENDING, 0.0, 2.0,
                           "awaiting manual grading", "manual", kind="question")
    return SubmissionResult(student, [ProblemResult("causal-attention", "causal-attention", checks),
                                      ProblemResult("seq2seq-tokens", "seq2seq-tokens", [question])])


def _assignment(root: Path) -> Path:
    """An assignment folder with the two problems' specs (what the report reads of them: names and prompts)."""
    root.mkdir(parents=True)
    shutil.copy(BACKPROP / "causal-attention.yaml", root)
    shutil.copy(AUTOENCODERS / "seq2seq-tokens.yaml", root)
    return root


def test_students_who_did_not_finish_are_not_flagged(tmp_path):
    """Returning zeros fails every hidden case with "relative error 1", a constant output with the same error as
    anyone else's constant, and an unchanged placeholder or the question's own prompt is no answer: two students
    with no shared code, one stub each and the placeholder answer were flagged at 88%."""
    zeros = "def causal_attention(Q, K, V):\n    return np.zeros((Q.shape[0], V.shape[1]))\n"
    ones = "def causal_attention(Q, K, V):\n    T = Q.shape[0]\n    out = np.ones_like(V)\n    return out\n"
    files = {"una": with_function(INDEPENDENT["alice"], "causal_attention", zeros),
             "vic": with_function(INDEPENDENT["bob"], "causal_attention", zeros),
             "wes": with_function(INDEPENDENT["dana"], "causal_attention", ones),
             "xia": with_function(INDEPENDENT["carol"], "causal_attention", ones)}
    subs = write_students(tmp_path / "subs", {s: {"solution.py": text} for s, text in files.items()})
    for student, answer in (("una", PLACEHOLDER), ("vic", PLACEHOLDER), ("wes", DESIGN_PROMPT),
                            ("xia", f"{DESIGN_PROMPT}  ")):
        (subs / student / "answers.yaml").write_text(json.dumps({"seq2seq-tokens": {"design_problem": answer}}),
                                                     encoding="utf-8")
    zero = "out differs from the expected value: relative error 1 (allowed 1e-05)"
    constant = {case: f"out differs from the expected value: relative error {e} (allowed 1e-05)"
                for case, e in zip(HIDDEN_ATTENTION, ("1.37", "0.982", "2.41", "1.15"))}  # the same for any np.ones
    results = {"una": _attention_and_answer("una", dict.fromkeys(HIDDEN_ATTENTION, zero)),
               "vic": _attention_and_answer("vic", dict.fromkeys(HIDDEN_ATTENTION, zero)),
               "wes": _attention_and_answer("wes", constant), "xia": _attention_and_answer("xia", constant)}
    out = graded_out(tmp_path / "out", subs, results, _assignment(tmp_path / "assignment"))
    (tmp_path / "handout").mkdir()
    (tmp_path / "handout" / "answers.yaml").write_text(f'seq2seq-tokens:\n  design_problem: "{PLACEHOLDER}"\n',
                                                       encoding="utf-8")

    report = api.similarity_report(out, starter=[tmp_path / "handout"])
    assert report.starter.answer_files == [tmp_path / "handout" / "answers.yaml"]
    assert report.explained.stubs == {"una": {"causal-attention"}, "vic": {"causal-attention"},
                                      "wes": {"causal-attention"}, "xia": {"causal-attention"}}
    assert not report.flagged
    for pair in report.pairs:
        assert not any(pair.evidence.values()), (pair.a, pair.b, pair.evidence)  # nothing shared but a little code
        assert pair.combined < 0.2
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert "placeholders taken out of every written answer" in page and "handout/answers.yaml" in page

    # the feedback alone tells a zero output, whatever the code: "relative error 1" is no evidence
    zero_only = shared_items({s: student_items(results[s], None) for s in ("una", "vic")}, cut=5)
    assert zero_only == {}
    # without the handout, the unchanged placeholder is one shared answer: below the threshold on its own
    report = api.similarity_report(out, starter=[])
    una_vic = pair_of(report, "una", "vic")
    assert una_vic.scores["answers"] == 0.75 and una_vic.scores["values"] == 0 and not una_vic.flagged
    assert not pair_of(report, "wes", "xia").evidence  # the question's own prompt is no answer
    # the handout's answers.yaml may also be given as a file
    report = api.similarity_report(out, starter=[tmp_path / "handout" / "answers.yaml"])
    assert not pair_of(report, "una", "vic").evidence


def test_errors_and_constant_feedback_are_no_wrong_value():
    from grader.similarity.signals import constant_feedback, stub_functions

    for feedback in ("out differs from the expected value: relative error 1 (allowed 1e-05)",
                     "your gradients disagree with finite differences of the loss along a random direction "
                     "(relative error 1); check the derivation, not just the shapes",
                     "you returned [], expected ['<sos>', 'I']", "you returned None, expected 3",
                     "you returned ['a', 'a', 'a'], expected ['<sos>', 'I', 'see']", "a hint (you returned False)",
                     "you returned array([0., 0., 0.]), expected array([1., 2., 3.])"):
        assert constant_feedback(feedback), feedback
    for feedback in ("out differs from the expected value: relative error 1.41 (allowed 1e-05)",
                     "relative error 10", "you returned ['<sos>', 'I', 'saw'], expected ['<sos>', 'I', 'see']",
                     "you returned 3, expected 4"):
        assert not constant_feedback(feedback), feedback
    assert stub_functions("import numpy as np\n\ndef f(x):\n    return np.zeros_like(x)\n\n"
                          "def g(x, n):\n    y = x * 2\n    return np.full((n,), 2.0), None\n\n"
                          "def h(x):\n    pass\n\ndef k(x):\n    if x is None:\n        return 0\n    return x * 2\n\n"
                          "def t(x):\n    return torch.zeros(3).numpy()\n") == {"f", "g", "h", "t"}
    # a case on which a check errored (a timeout, an exception) holds no value, whatever the other checks say
    results = {s: _result(s, "p", [_check("h1", Status.FAILED, "relative error 2.5"),
                                   _check("h1", Status.TIMEOUT, "the call ran past 5 s", check="finite-differences")])
               for s in "ab"}
    assert shared_items({s: student_items(r, None) for s, r in results.items()}, cut=5) == {}


# ------------------------------------------------------------------------------------------ groups

def test_a_group_sharing_one_solution_is_reported_as_a_group(tmp_path, capsys):
    """Six disguised copies of one solution among twelve students: held by half the class, their code was set aside
    as common and the group disappeared. Now every pair of them is flagged and the group is one finding."""
    group = [f"g{i}" for i in range(6)]
    files = {s: {"solution.py": disguise(INDEPENDENT["alice"], prefix=f"{s}_")} for s in group}
    files.update({name: {"solution.py": INDEPENDENT[name]} for name in ("bob", "carol", "dana")})
    files.update({name: {"solution.py": text} for name, text in CS231N.items()})
    files["hugo"] = {"solution.py": (BACKPROP / "samples" / "correct-numpy" / "solution.py").read_text(
        encoding="utf-8")}
    subs = write_students(tmp_path / "subs", files)
    out = code_only_out(tmp_path / "out", subs)
    report = api.similarity_report(out)
    assert len(report.students) == 12 and report.index.cut == 6
    assert sorted((p.a, p.b) for p in report.flagged) == [(a, b) for i, a in enumerate(group) for b in group[i + 1:]]
    assert all(p.code.containment == 1.0 for p in report.flagged)
    [found] = report.groups
    assert found.students == group and len(found.pairs) == 15 and found.shared_code >= 40
    assert found.summary.startswith("a group of 6 submissions shares ")
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert "Group 1: a group of 6 submissions shares" in page and 'href="#group-1"' in page
    for pair in found.pairs:
        assert f'href="similarity/{pair.slug}"' in page and (out / "similarity" / pair.slug).is_file()
    rows = list(csv.DictReader((out / "similarity.csv").open(encoding="utf-8")))
    assert {r["group"] for r in rows if r["flagged"] == "yes"} == {"1"}
    assert main(["similarity", str(out)]) == 0
    assert "Group 1: a group of 6 submissions shares" in capsys.readouterr().out
    # a class that wants Moss's behaviour back sets the cut lower
    assert not api.similarity_report(out, common=0.1).flagged
    assert main(["similarity", str(out), "--common", "0"]) == 2


# ------------------------------------------------------------------------------------------ disguises

def test_no_op_lines_do_not_hide_a_copy(tmp_path):
    padded = with_no_ops(INDEPENDENT["alice"])
    assert padded.count("pass\n") >= 2 and "N = N" in padded and "unused_" in padded
    assert code_document(padded).hashes == code_document(INDEPENDENT["alice"]).hashes
    files = {name: {"solution.py": text} for name, text in INDEPENDENT.items()}
    files["erin"] = {"solution.py": disguise(padded)}
    subs = write_students(tmp_path / "subs", files)
    report = api.similarity_report(code_only_out(tmp_path / "out", subs))
    assert [(p.a, p.b) for p in report.flagged] == [("alice", "erin")]
    assert report.flagged[0].code.containment == 1.0


def test_one_function_copied_into_own_work_is_flagged_and_independent_work_is_not(tmp_path):
    """One function of four copied (renamed) scored 41% of the smaller submission's fingerprints: not flagged. A
    function contained whole is evidence on its own; independently written solutions, CS231n-style ones too, raise
    no such match."""
    copied = function_source(disguise(INDEPENDENT["alice"]), "batchnorm_backward")
    files = {name: {"solution.py": text} for name, text in {**INDEPENDENT, **CS231N}.items()}
    own_work = (BACKPROP / "samples" / "correct-numpy" / "solution.py").read_text(encoding="utf-8")
    files["kim"] = {"solution.py": with_function(own_work, "batchnorm_backward", copied)}
    subs = write_students(tmp_path / "subs", files)
    out = code_only_out(tmp_path / "out", subs)
    report = api.similarity_report(out)
    assert [(p.a, p.b) for p in report.flagged] == [("alice", "kim")]
    pair = report.flagged[0]
    assert pair.code.containment < 0.5 and pair.code.score == 0  # the whole code: a quarter of it
    assert pair.function.name == "batchnorm_backward" and pair.function.containment == 1.0
    assert pair.scores["code"] == pair.function.strength == 1.0
    assert "function batchnorm_backward of alice appears in kim" in pair.function.label
    page = (out / "similarity" / pair.slug).read_text(encoding="utf-8")
    assert "A function copied whole: function batchnorm_backward of alice appears in kim" in page
    for other in report.pairs[1:]:
        assert other.function_score < 0.5 and other.combined < 0.5, (other.a, other.b, other.function)


def test_moderate_overlap_and_one_more_item_is_not_flagged(tmp_path):
    """Two CS231n-style solutions written apart share about half their own fingerprints; that and one identical
    answer (or one identical wrong value) is no finding; both, with the code, are."""
    subs = write_students(tmp_path / "subs", {n: {"solution.py": t} for n, t in CS231N.items()})
    answer = "The decoder sees the encoder's state for step t, which summarises only the first t source words."
    wrong = {HIDDEN_ATTENTION[0]: "out differs from the expected value: relative error 0.318 (allowed 1e-05)"}
    for name in CS231N:
        (subs / name / "answers.yaml").write_text(json.dumps({"seq2seq-tokens": {"design_problem": answer}}),
                                                  encoding="utf-8")
    assignment = _assignment(tmp_path / "assignment")
    found = {}
    for case, feedback in (("answer", {}), ("value", wrong), ("both", wrong)):
        results = {n: _attention_and_answer(n, feedback) for n in CS231N}
        if case == "value":
            (subs / "gina" / "answers.yaml").write_text(json.dumps({"seq2seq-tokens": {"design_problem": "mine"}}),
                                                        encoding="utf-8")
        if case == "both":
            (subs / "gina" / "answers.yaml").write_text(json.dumps({"seq2seq-tokens": {"design_problem": answer}}),
                                                        encoding="utf-8")
        found[case] = api.similarity_report(graded_out(tmp_path / case, subs, results, assignment)).pairs[0]
    assert 0.45 < found["answer"].code.containment < 0.6  # independent, yet half their own code in common
    assert found["answer"].scores["answers"] == 0.75 and not found["answer"].flagged
    assert found["value"].scores["values"] == 0.5 and not found["value"].flagged
    assert found["both"].flagged


# ------------------------------------------------------------------------------------------ pages and large files

def test_every_flagged_pair_has_its_own_page(tmp_path):
    """Ids may hold "--": the pages of (a--b, c) and (a, b--c) were both a--b--c.html."""
    files = {"a--b": disguise(INDEPENDENT["alice"]), "c": INDEPENDENT["alice"],
             "a": INDEPENDENT["bob"], "b--c": disguise(INDEPENDENT["bob"])}
    subs = write_students(tmp_path / "subs", {s: {"solution.py": t} for s, t in files.items()})
    out = code_only_out(tmp_path / "out", subs)
    report = api.similarity_report(out)
    assert sorted((p.a, p.b) for p in report.flagged) == [("a", "b--c"), ("a--b", "c")]
    one, two = report.flagged
    assert one.slug != two.slug and one.slug.startswith(f"{one.a}--{one.b}-")
    for pair in report.flagged:
        page = (out / "similarity" / pair.slug).read_text(encoding="utf-8")
        assert f"<h1>{pair.a} and {pair.b}</h1>" in page
    assert len(list((out / "similarity").glob("*.html"))) == 2


def test_a_huge_file_is_compared_only_in_part(tmp_path):
    """A dense 2 MB file took 9.5 s to fingerprint: only its start is, and the report says so."""
    import random
    import time

    rng = random.Random(0)
    junk = "".join(f"a{rng.randrange(999)} = b{rng.randrange(99)} * {rng.randrange(99)} + c[{rng.randrange(9)}] - "
                   f"(d + e) / f ** 2\n" for _ in range(50_000))
    huge = INDEPENDENT["alice"] + "\n\n" + junk
    assert len(huge) > 2_000_000
    started = time.perf_counter()
    doc = code_document(huge)
    assert time.perf_counter() - started < 3
    assert doc.truncated and doc.compared_chars < 110_000 and doc.total_chars == len(huge)
    subs = write_students(tmp_path / "subs", {"bob": {"solution.py": INDEPENDENT["bob"]},
                                              "erin": {"solution.py": disguise(INDEPENDENT["alice"])},
                                              "zoe": {"solution.py": huge}})
    out = code_only_out(tmp_path / "out", subs)
    report = api.similarity_report(out)
    assert list(report.truncated) == ["zoe"]
    assert [(p.a, p.b) for p in report.flagged] == [("erin", "zoe")]  # the copy at the top is still found
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert "cut for 1: zoe (" in page
    pair_page = (out / "similarity" / report.flagged[0].slug).read_text(encoding="utf-8")
    assert "were compared and are shown" in pair_page and len(pair_page) < 500_000


# ------------------------------------------------------------------------------------------ graded batches

@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The backprop samples plus two planted copies, graded for real: a disguised copy of correct-torch (written
    apart from every other sample) and of wrong-unnamed (a wrong answer no slip explains)."""
    root = tmp_path_factory.mktemp("similarity")
    subs = root / "subs"
    shutil.copytree(BACKPROP / "samples", subs)
    for original, copy in (("correct-torch", "planted-torch"), ("wrong-unnamed", "planted-unnamed")):
        (subs / copy).mkdir()
        text = (subs / original / "solution.py").read_text(encoding="utf-8")
        (subs / copy / "solution.py").write_text(disguise(text), encoding="utf-8")
    out = root / "out"
    batch = api.grade_batch(subs, BACKPROP, out, jobs=2)
    assert {r.student for r in batch.results} >= {"planted-torch", "planted-unnamed"}
    return api.similarity_report(out), out


def test_planted_copies_top_the_report_and_are_flagged(planted):
    report, out = planted
    first, second = report.pairs[:2]
    assert (first.a, first.b) == ("correct-torch", "planted-torch") and first.flagged
    assert first.code.containment == 1.0 and first.code.shared >= 40
    assert (second.a, second.b) == ("planted-unnamed", "wrong-unnamed") and second.flagged
    assert second.code.containment == 1.0
    values = second.evidence["values"]  # the same wrong attention on the hidden cases, which no slip names
    assert len(values) >= 2 and all("causal-attention, hidden case" in e.item.label for e in values)
    assert second.scores["values"] >= 0.75 and second.combined > max(p.combined for p in report.pairs[2:])


def test_the_side_by_side_page_highlights_the_shared_passages(planted):
    report, out = planted
    page = (out / "similarity" / pair_slug("correct-torch", "planted-torch")).read_text(encoding="utf-8")

    class Lines(HTMLParser):
        def __init__(self):
            super().__init__()
            self.marked, self.lines, self.scripts = 0, 0, 0

        def handle_starttag(self, tag, attrs):
            classes = (dict(attrs).get("class") or "").split()
            self.lines += "l" in classes
            self.marked += "m" in classes
            self.scripts += tag == "script"

    parsed = Lines()
    parsed.feed(page)
    source = (out.parent / "subs" / "planted-torch" / "solution.py").read_text(encoding="utf-8")
    original = (BACKPROP / "samples" / "correct-torch" / "solution.py").read_text(encoding="utf-8")
    assert parsed.lines == len(source.splitlines()) + len(original.splitlines())
    assert parsed.marked > 0.5 * parsed.lines and parsed.scripts == 0
    assert "evidence" in page and "not a finding" in page and "my_" in page and "Shared passages" in page
    index = (out / "similarity.html").read_text(encoding="utf-8")
    assert f'href="similarity/{pair_slug("correct-torch", "planted-torch")}"' in index and "not a verdict" in index


def test_the_shipped_samples_raise_no_false_alarm(sample_batches, tmp_path):
    """Every pair flagged among the shipped samples is one sample made from the other (they differ in a few lines of
    code); independently written samples, and every grader-only signal, stay below the threshold."""
    reports = {"backprop": api.similarity_report(sample_batches["backprop"].batch.out),
               # the code alone (grading these samples takes minutes; their grader signals were checked on a full
               # run: no pair shares a wrong value, a slip sequence or a written answer of its own)
               "autoencoders": api.similarity_report(code_only_out(tmp_path / "ae", AUTOENCODERS / "samples"))}
    for name, report in reports.items():
        samples = SAMPLE_ASSIGNMENTS[name] / "samples"
        assert len(report.students) > 20
        for pair in report.pairs:
            assert max(pair.scores[s] for s in ("values", "slips", "answers")) < THRESHOLD, (pair.a, pair.b)
        for pair in report.flagged:
            assert _changed_code_lines(samples / pair.a / "solution.py", samples / pair.b / "solution.py") <= 6, (
                f"{pair.a} and {pair.b} are flagged but are not copies of each other")
        for independent in (("correct-numpy", "correct-torch"), ("correct-notebook", "correct-numpy"),
                            ("correct-notebook", "correct-torch")):
            pair = pair_of(report, *independent)
            assert pair is None or not pair.flagged
    assert {(p.a, p.b) for p in reports["backprop"].flagged} <= {
        ("batchnorm-constants-treated", "batchnorm-variance-constant"), ("conv-bias-missing", "conv-flipped-kernel"),
        ("conv-flipped-kernel", "conv-padding-ignored")}


def _changed_code_lines(a: Path, b: Path) -> int:
    """Lines of code (comments, blank lines and the module docstring left out) in one file and not the other."""
    def code(path):
        lines = [line.split("#")[0].rstrip() for line in path.read_text(encoding="utf-8").splitlines()]
        return [line for line in lines[1:] if line.strip()]  # line 1: the sample's docstring

    return sum(1 for line in difflib.ndiff(code(a), code(b)) if line[:1] in "+-")


def test_the_command_prints_the_ranking_and_the_files(planted, capsys):
    report, out = planted
    assert main(["similarity", str(out), "--threshold", "0.95"]) == 0
    printed = capsys.readouterr().out
    assert "1. correct-torch and planted-torch: 100% (code 100%)" in printed
    assert "not a finding" in printed and str(out / "similarity.html") in printed
    assert not (out / "similarity" / pair_slug("conv-bias-missing", "conv-flipped-kernel")).exists()  # below 0.95
    assert main(["similarity", str(out), "--threshold", "0"]) == 2


def test_the_pair_page_in_chromium(planted, tmp_path):
    from browser import Browser, find_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("chromium not found (scripts/setup.sh installs Debian's chromium as root; or set $CHROMIUM)")
    report, out = planted
    api.similarity_report(out)  # the default threshold again (the command test may have run before)
    browser = Browser(chromium)
    try:
        page = browser.open((out / "similarity" / pair_slug("planted-unnamed", "wrong-unnamed")).as_uri(), width=1400)
        assert page.console_errors() == []
        assert "planted-unnamed and wrong-unnamed" in page.text and "Same wrong values on hidden cases" in page.text
        marked = page.evaluate("Array.from(document.querySelectorAll('.code .l.m')).map(e => "
                               "getComputedStyle(e).backgroundColor)")
        assert marked and all(colour not in ("rgba(0, 0, 0, 0)", "transparent") for colour in marked)
        page.screenshot(tmp_path / "pair.png")
        phone = browser.open((out / "similarity.html").as_uri(), width=390, height=844, mobile=True)
        assert phone.console_errors() == []
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        browser.close()
