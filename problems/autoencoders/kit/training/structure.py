"""What the student's model is, read from the driver's probes (``probe_structure`` in
``sandbox/_regularized_probes.py``): W1 (k x m) and W2 (m x k), identified in the sandbox by
``find_weights`` (by shape among the trainable parameters when that is unambiguous, whatever the modules and
their order; else the ``nn.Linear`` modules in registration order), nothing else trainable and no bias, a
forward map equal to x -> W2 W1 x (probed on basis vectors and linear combinations, not read off the code),
and the gradients of that map reaching both weights (a detached encoder, a frozen weight or a gradient hook
leaves the forward map right and trains something else).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .gaps import LINEAR_RTOL, short_class
from .gaps import as_array as _arr
from .gaps import relative_gap as _rel

CONTAINERS = {"torch.nn.modules.container.Sequential", "torch.nn.modules.container.ModuleList",
              "torch.nn.modules.container.ModuleDict", "torch.nn.modules.linear.Linear",
              "torch.nn.modules.linear.Identity", "torch.nn.modules.flatten.Flatten"}
WEIGHTS = ("the encoder's weight W1", "the decoder's weight W2")
ROLES = ("W1", "W2")


@dataclass
class Structure:
    ok: bool
    problems: list[str] = field(default_factory=list)
    diagnosis: str | None = None
    forward_map: np.ndarray | None = None  #: A with f(x) = A x + b, when the forward map is affine

    def explain(self) -> str:
        return "; ".join(self.problems)


def _listed(items: list, most: int = 6) -> str:
    shown = ", ".join(f"{name} {tuple(shape)}" for name, shape in items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def _not_found(data: dict, ident: dict, m: int, k: int) -> tuple[str, str]:
    """Why the model has no W1 and W2 the grader can tell apart, and what to change."""
    linears = data.get("linears") or []
    shapes = [(int(l["in"]), int(l["out"])) for l in linears]
    shown = ", ".join(f"Linear({i}, {o})" for i, o in shapes) or "none"
    matrices = [(c[0], c[1]) for c in ident.get("candidates", []) if len(c[1]) == 2 and c[2]]
    wanted = (f"Eq. 6's model has exactly one encoder W1 ({k} x {m}, e.g. nn.Linear({m}, {k}, bias=False)) and "
              f"one decoder W2 ({m} x {k}, nn.Linear({k}, {m}, bias=False))")
    km, mk = ident.get("km", []), ident.get("mk", [])
    if len(km) > 1 or len(mk) > 1:
        several = "; ".join(f"{len(names)} {a} x {b} matrices ({', '.join(names[:6])})"
                            for names, a, b in ((km, k, m), (mk, m, k)) if len(names) > 1)
        return (f"the model has {several}, so the grader cannot tell W1 and W2 apart by their shapes (nor as "
                f"the first two nn.Linear modules, {shown}): {wanted}; remove the others", "layer_count")
    if len(linears) == 1 and len(matrices) <= 1:
        return (f"the model has one nn.Linear ({shown}); Eq. 6 factors the map through k = {k} dimensions as "
                f"W2 W1: an encoder nn.Linear({m}, {k}) (W1, {k} x {m}) then a decoder nn.Linear({k}, {m}) "
                f"(W2, {m} x {k})", "one_linear_layer")
    if linears and len(linears) != 2 and len(matrices) == len(linears):
        return (f"the model has {len(linears)} nn.Linear modules ({shown}); Eq. 6 has exactly two: an encoder "
                f"nn.Linear({m}, {k}) and a decoder nn.Linear({k}, {m})", "layer_count")
    missing = " and ".join(f"no {a} x {b} matrix ({role})" for names, a, b, role in ((km, k, m, "W1"), (mk, m, k, "W2"))
                           if not names)
    return (f"the model's trainable matrices are {_listed(matrices) or 'none'}: it has {missing}; {wanted}",
            "wrong_shapes")


def analyse_structure(data: dict, m: int, k: int) -> Structure:
    """W1 (k x m) and W2 (m x k) and nothing else trainable, no bias, a forward map equal to x -> W2 W1 x, and
    that map's gradients reaching both weights."""
    if "error" in data:
        return Structure(False, [f"build_model({m}, {k}) failed: {data['error']}"], "model_error")
    problems: list[str] = []
    diagnoses: list[str] = []

    def problem(text: str, diagnosis: str) -> None:
        problems.append(text)
        diagnoses.append(diagnosis)

    ident = data.get("weights") or {}
    how = ident.get("how")
    found = [ident.get("W1"), ident.get("W2")] if how in ("shape", "order") else None
    if found is None:
        problem(*_not_found(data, ident, m, k))
    else:
        changed = [(role, w) for role, w in zip(ROLES, found) if w["kind"] == "changes"]
        computed = [(role, w) for role, w in zip(ROLES, found) if w["kind"] == "computed"]
        for role, w in changed:
            problem(f"a parametrization changes {role}'s values ({w['name']} is computed from "
                    f"{w['originals'][0]} and differs from it): Eq. 6 trains W1 and W2 themselves, each with "
                    "its own penalty lam ||W||^2; remove the parametrization", "parametrized")
        if computed:
            which = " and ".join(f"{role} ({w['name']}, from {', '.join(w['originals'])})" for role, w in computed)
            problem(f"{which} {'is' if len(computed) == 1 else 'are'} computed from other parameters (a "
                    "parametrization such as weight_norm or spectral_norm): Eq. 6 trains W1 and W2 themselves, "
                    "each with its own penalty lam ||W||^2", "parametrized")
        biases = ident.get("biases") or [None, None]
        if any(biases):
            which = "the encoder and the decoder have biases" if all(biases) else \
                f"the {('encoder', 'decoder')[biases.index(next(b for b in biases if b))]} has a bias"
            problem(f"{which} ({', '.join(b for b in biases if b)}): nn.Linear adds one by default (bias=True), "
                    "and Eq. 6's model W2 W1 x has none (a bias changes both the model and its minimiser); "
                    "pass bias=False", "bias")
        vectors = ident.get("bias_vectors") or []
        if vectors:
            problem(f"the model has bias vectors ({_listed(vectors)}): Eq. 6's model W2 W1 x has none (a bias "
                    "changes both the model and its minimiser); remove them", "bias")
        extra = ident.get("extra") or []
        if extra:
            order = ""
            if how == "order":
                order = (f" (its shapes cannot tell W1 and W2 apart, so the grader took the first two nn.Linear "
                         f"modules in registration order: W1 = {found[0]['name']}, W2 = {found[1]['name']})")
            problem(f"the model has trainable parameters besides W1 ({found[0]['name']}) and W2 "
                    f"({found[1]['name']}): {_listed(extra)}{order}; Eq. 6's model has only W1 and W2: remove "
                    "the others", "extra_parameters")
    others = sorted({short_class(c) for name, c in data.get("modules", [])[1:]
                     if c not in CONTAINERS and "parametrizations" not in name.split(".")})
    forward = data.get("forward") or {}
    A = None
    if "error" in forward:
        problem(f"calling the model on a batch of shape (B, {m}) failed: {forward['error']}", "forward_error")
    elif forward:
        basis = _arr(forward["basis"])
        if basis.shape != (m, m):
            problem(f"the model maps a batch of shape ({m}, {m}) to shape {basis.shape}; it should return "
                    f"the reconstruction, shape (B, {m})", "output_shape")
        else:
            A, nonlinear = _forward_map(forward)
            where = f" (the model contains {', '.join(others)})" if others else ""
            if nonlinear > LINEAR_RTOL:
                problem(f"the forward map is not linear: f(2x - 3y) differs from 2 f(x) - 3 f(y) by "
                        f"{nonlinear:.2g} (relative){where}; Eq. 6's model is x -> W2 W1 x, with nothing "
                        "between the two linear maps (no activation)", "nonlinear")
                A = None
            batch = _rel(_arr(forward["single"]), _arr(forward["batch"]))
            again = _rel(_arr(forward["again"]), _arr(forward["batch"]))
            if again > LINEAR_RTOL:
                problem(f"the forward map is random (two calls on the same batch differ by {again:.2g}){where}; "
                        "Eq. 6 has no dropout or noise", "random_forward")
            elif batch > LINEAR_RTOL:
                problem(f"the output for a point depends on the other points of its batch (by {batch:.2g})"
                        f"{where}; Eq. 6 treats each point on its own (no batch statistics)", "batch_dependent")
            if A is not None and found is not None and "W1" in data and not problems:
                W1, W2 = _arr(data["W1"]), _arr(data["W2"])
                gap = _rel(A, W2 @ W1)
                offset = float(np.linalg.norm(_arr(forward["zero"])))
                if gap > LINEAR_RTOL and _rel(A, (W2 @ W1).T) <= LINEAR_RTOL:
                    n1, n2 = found[0]["name"], found[1]["name"]
                    problem(f"the forward map is x -> (W2 W1)^T x, with W1 the {k} x {m} matrix {n1} and W2 the "
                            f"{m} x {k} matrix {n2}: your matrices act transposed (x @ W multiplies each point by "
                            f"W^T), so {n2} encodes and {n1} decodes; Eq. 6's encoder W1 is {k} x {m} and its "
                            f"decoder W2 {m} x {k}: for a batch of rows compute x @ W1.T @ W2.T (as nn.Linear "
                            "does)", "transposed_weights")
                elif gap > LINEAR_RTOL:
                    order = (" (their shapes cannot tell them apart, so the grader took the nn.Linear modules in "
                             "registration order: register the encoder first)" if how == "order" else "")
                    problem(f"the forward map is linear but is not W2 W1 x (it differs from the product of "
                            f"W2 = {found[1]['name']} and W1 = {found[0]['name']} by {gap:.2g}, relative){order}"
                            f"{where}: nothing else may act in the forward path (no skip connection, scaling or "
                            "extra layer)", "not_w2w1")
                elif offset > 1e-6 * max(1.0, float(np.linalg.norm(A))):
                    problem(f"the model maps 0 to a nonzero output (norm {offset:.2g}): Eq. 6's model has no "
                            "offset", "bias")
                else:
                    for text, diagnosis in _gradient_problems(data, found):
                        problem(text, diagnosis)
    if not problems:
        return Structure(True, [], None, A)
    return Structure(False, problems, diagnoses[0], A)


def _forward_map(forward: dict) -> tuple[np.ndarray, float]:
    """A (f(x) = A x + b, from the basis probes) and how far f is from affine on the combination probes."""
    b = _arr(forward["zero"])
    A = (_arr(forward["basis"]) - b).T
    c = forward["combo"]
    fx, fy = _arr(c["fx"]) - b, _arr(c["fy"]) - b
    errors = [_rel(_arr(c["f_combo"]) - b, 2 * fx - 3 * fy), _rel(_arr(c["f_scaled"]) - b, 10 * fx),
              _rel(_arr(c["f_neg"]) - b, -fx), _rel(_arr(c["fx"]) - b, _arr(c["x"]) @ A.T)]
    return A, max(errors)


def _gradient_problems(data: dict, found: list[dict]) -> list[tuple[str, str]]:
    """Whether backpropagation through the model gives W1 and W2 the gradients of x -> W2 W1 x: for
    sum(G * f(X)) they are W2^T G^T X and G^T X W1^T."""
    probe = data.get("gradient")
    if not probe:
        return []
    if "error" in probe:
        return [(f"backpropagating through the model failed: {probe['error']}", "backward_error")]
    X, G = _arr(probe["points"]), _arr(probe["G"])
    W1, W2 = _arr(data["W1"]), _arr(data["W2"])
    result = []
    for i, (got, want) in enumerate(zip((probe["W1"], probe["W2"]), (W2.T @ G.T @ X, G.T @ X @ W1.T))):
        if not found[i].get("trainable", True):
            result.append((f"{WEIGHTS[i]} ({found[i]['name']}) is frozen (requires_grad=False): training cannot "
                           "move it, and Eq. 6 is minimised over both weights", "frozen_weight"))
            continue
        scale = float(np.linalg.norm(want))
        if got is None or (scale > 0 and not np.any(_arr(got))):
            result.append((f"{WEIGHTS[i]} gets no gradient through the model: the forward map is right, but "
                           "the forward pass cuts the weight off from backpropagation (a .detach(), "
                           "torch.no_grad() or .data in forward), so training cannot move it", "no_gradient"))
            continue
        got = _arr(got)
        gap = _rel(got, want)
        if gap <= LINEAR_RTOL:
            continue
        factor = float(np.sum(got * want) / scale ** 2) if scale > 0 else 0.0
        how = (f"{factor:.3g} times that of x -> W2 W1 x" if _rel(got, factor * want) <= LINEAR_RTOL
               else f"not that of x -> W2 W1 x (it differs by {gap:.2g}, relative)")
        result.append((f"the gradient reaching {WEIGHTS[i]} is {how}: the forward map is right, but a gradient "
                       "hook or a custom autograd function changes what training follows", "wrong_gradient"))
    return result
