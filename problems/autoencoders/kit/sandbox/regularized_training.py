"""In-sandbox driver for the regularized linear autoencoder (Eq. 6): probe the student's setup, then train it.

The student writes ``build_model(m, k)``, ``build_loss()`` and ``build_optimizer(model, lam, lr)``. This
driver runs inside the sandbox, in the student's process; it only measures and returns plain data
(numbers, strings, lists, dicts, numpy arrays). It interprets nothing that earns points: the grader
re-derives every verdict from these measurements on its own side (``training/``), and times the
training with its own clock from the ``tick()`` events (one when training starts, one per snapshot).

Measurements:

- ``structure``, ``loss``, ``penalty``, ``optimizer``: what the setup is, probed piece by piece, each on a
  setup built afresh (see ``_regularized_probes.py``, loaded from this driver's folder, whose
  ``find_weights`` decides which tensors are W1 and W2 for every probe and for the training);
- ``training``: the grader's procedure: from the grader's initial weights, full-batch steps whose
  objective is the mean over points of the student's loss on each point alone (``torch.func.vmap`` keeps
  the per-point semantics), the student's optimizer's ``step()``; a snapshot of (W1, W2) every
  ``snapshot_every`` steps, each followed by ``tick()``. It stops at the target, on NaN, when the
  weights stop moving, at the step cap, or when its own clock passes the time budget (the grader's
  clock is the one that counts). Only ``step()`` may move W1 and W2: a setup whose forward pass, loss or
  backpropagation changes them (e.g. a model that solves Eq. 6 from the batch it is given) is stopped
  with an error. That runs in the student's process, so it is a first line only; the grader's side
  checks the first snapshot against its own initial weights (``training/curve.py``).
"""

import importlib.util
import math
import os
import time
import traceback

PROBES = "_regularized_probes"  # the helper module beside this file
FUNCTIONS = ("build_model", "build_loss", "build_optimizer")
TAMPERED = ("the model's weights changed outside optimizer.step() (in the forward pass, the loss or "
            "backpropagation): the grader's training lets only your optimizer move W1 and W2, so the run "
            "does not count")


def run(namespace, X, lam, lr, W1_init, W2_init, settings=None, *, tick):
    settings = dict(settings or {})
    filename = namespace.get("__file__", "solution.py")
    funcs = {}
    for name in FUNCTIONS:  # before importing torch: a submission without them fails at once
        func = namespace.get(name)
        if func is None:
            raise NameError(f"{filename} defines no function {name!r}")
        if not callable(func):
            raise TypeError(f"{name!r} in {filename} is not a function")
        funcs[name] = func

    import numpy as np
    import torch

    torch.set_num_threads(int(settings.get("threads", 1)))
    device = _device(torch, settings.get("device", "auto"))
    X = np.array(X, dtype=np.float64)  # a writable copy
    n, m = X.shape
    k = int(W1_init.shape[0])
    probes = _beside(PROBES)
    env = _Env(torch, np, funcs, m, k, float(lam), float(lr), device, filename, int(settings.get("seed", 0)), probes)
    result = {"device": _device_name(torch, device), "torch": str(torch.__version__), "m": m, "k": k, "n": n,
              "lam": float(lam), "lr": float(lr)}
    result["structure"] = _guard(env, probes.probe_structure)
    result["loss"] = _guard(env, probes.probe_loss)
    result["penalty"] = _guard(env, probes.probe_penalty)
    result["optimizer"] = _guard(env, probes.probe_optimizer)
    result["training"] = _guard(env, lambda e: _train(e, X, W1_init, W2_init, settings, tick))
    return result


# --------------------------------------------------------------------------- helpers


class _Env:
    def __init__(self, torch, np, funcs, m, k, lam, lr, device, filename, seed, probes):
        self.torch, self.np, self.funcs = torch, np, funcs
        self.m, self.k, self.lam, self.lr, self.device = m, k, lam, lr, device
        self.filename, self.seed, self.probes = filename, seed, probes

    def model(self):
        self.torch.manual_seed(self.seed)
        model = self.funcs["build_model"](self.m, self.k)
        if not isinstance(model, self.torch.nn.Module):
            raise TypeError(f"build_model({self.m}, {self.k}) returned a {type(model).__name__}, "
                            "not a torch.nn.Module")
        # the grader picks the device: a model built on the GPU (model.to("cuda" if available else "cpu"))
        # is probed on the CPU like any other, and training moves it to the grader's device
        return model.to("cpu")

    def loss_fn(self):
        loss = self.funcs["build_loss"]()
        if not callable(loss):
            raise TypeError(f"build_loss() returned a {type(loss).__name__}, which cannot be called as "
                            "loss(prediction, target)")
        return loss

    def optimizer(self, model):
        opt = self.funcs["build_optimizer"](model, self.lam, self.lr)
        if not isinstance(opt, self.torch.optim.Optimizer):
            raise TypeError(f"build_optimizer(model, lam, lr) returned a {type(opt).__name__}, not a "
                            "torch.optim.Optimizer")
        return opt

    def linears(self, model):
        return [mod for mod in model.modules() if isinstance(mod, self.torch.nn.Linear)]

    def weights(self, model):
        """Which of the model's tensors are W1 and W2 (``find_weights``: the same for every probe and the training)."""
        return self.probes.find_weights(self, model)

    def array(self, tensor):
        return tensor.detach().to("cpu", self.torch.float64).numpy().copy()

    def describe(self, exc):
        return _describe(exc, self.filename)


def _beside(name):
    """A module beside this file (the sandbox has no grader package to import from)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"grader_driver_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _guard(env, step):
    """Run one measurement; an exception in the student's code becomes ``{"error": ...}``."""
    try:
        return step(env)
    except (MemoryError, SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - reported as data, judged by the grader
        return {"error": _describe(exc, env.filename)}


def _describe(exc, filename):
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    where = "".join(f"\n  {filename}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}" for f in frames[-3:])
    text = f"{type(exc).__name__}: {exc}"
    return (text[:1500] + where)[:2500]


def _device(torch, wanted):
    if wanted == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    torch.backends.cuda.matmul.allow_tf32 = False  # TF32 would cost about 2 digits against the closed form
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    return torch.device("cuda")


def _device_name(torch, device):
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} thread{'s' if torch.get_num_threads() != 1 else ''})"


# --------------------------------------------------------------------------- training


def _closed_form(np, X, lam, k):
    values, vectors = np.linalg.eigh(X.T @ X / X.shape[0])
    order = np.argsort(values)[::-1]
    s, U = values[order], vectors[:, order]
    return U[:, :k], np.sqrt(np.clip(1 - lam / s[:k], 0, None))


def _distance(np, W1, W2, Uk, target):
    """The rotation-invariant distance to the closed form (the grader recomputes it on its side)."""
    if not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))):
        return float("nan")
    norm = np.linalg.norm(W2)
    if norm == 0:
        return float(np.max(target))
    balance = np.linalg.norm(W1 - W2.T) / norm
    U2, sigma, _ = np.linalg.svd(W2, full_matrices=False)
    on = target > 0
    r = int(on.sum())
    Ut = Uk[:, on]
    angle = np.linalg.norm(U2[:, :r] - Ut @ (Ut.T @ U2[:, :r]), 2) if r else 0.0
    return float(max(balance, angle, np.max(np.abs(sigma - target))))


def _warm_up(torch, device, dtype):
    """CUDA's one-time start-up (its cuBLAS handle and first kernels) before the clock starts.

    It is the machine's cost, not the setup's: without this the first timed step would carry it (often
    tenths of a second, as long as a whole reference run). The grader's own tensors only; on the CPU nothing.
    """
    if device.type != "cuda":
        return
    a = torch.ones((8, 8), dtype=dtype, device=device, requires_grad=True)
    (a @ a).sum().backward()
    torch.cuda.synchronize(device)


def _flat(torch, weights):
    """W1 and W2's bytes, copied: compared bit for bit, a NaN equals itself (a diverged run is no tampering)."""
    return torch.cat([w.detach().reshape(-1) for w in weights]).view(torch.uint8)


def _changed(torch, found, weights, before):
    """Whether W1 or W2 differs from ``before`` (``_flat`` of them), or another parameter took its place, as
    a tensor on the weights' device: not reading the answer keeps the step free of a device synchronization.
    ``weights``: the parameters W1 and W2 when training began."""
    now = found.leaves()
    if any(n is not w for n, w in zip(now, weights)):
        return torch.ones((), dtype=torch.bool, device=before.device)
    return (_flat(torch, now) != before).any()


def _train(env, X, W1_init, W2_init, settings, tick):
    torch, np = env.torch, env.np
    snapshot_every = max(1, int(settings.get("snapshot_every", 10)))
    max_steps = int(settings.get("max_steps", 5000))
    budget = float(settings.get("budget_seconds", 60.0))
    stop_tol = float(settings.get("target_tol", 1e-3)) * float(settings.get("stop_fraction", 0.5))
    stall_rtol = float(settings.get("stall_rtol", 1e-7))
    patience = int(settings.get("stall_patience", 3))
    Uk, target = _closed_form(np, X, env.lam, env.k)

    model = env.model()
    found = env.weights(model)
    if found.how is None:
        return {"error": f"the grader trains W1 ({env.k} x {env.m}) and W2 ({env.m} x {env.k}), which it finds "
                         f"by their shapes among your model's trainable parameters, and {found.why_not()}",
                "skipped": True}
    if not found.settable:
        return {"error": "the grader starts W1 and W2 from its own initial weights and trains them, and "
                         + found.why_not(), "skipped": True}
    leaves = found.leaves()
    with torch.no_grad():
        for leaf, init in zip(leaves, (W1_init, W2_init)):
            leaf.copy_(torch.as_tensor(np.array(init, dtype=np.float64), dtype=leaf.dtype))
    model.to(env.device)
    model.train()
    loss_fn = env.loss_fn()
    if isinstance(loss_fn, torch.nn.Module):
        loss_fn = loss_fn.to(env.device)
    opt = env.optimizer(model)
    dtype = found.leaves()[0].dtype
    data = torch.as_tensor(X, dtype=dtype, device=env.device)
    per_point = torch.func.vmap(lambda p, t: loss_fn(p.unsqueeze(0), t.unsqueeze(0)), randomness="different")

    _warm_up(torch, env.device, dtype)
    weights = found.leaves()
    tampered = torch.zeros((), dtype=torch.bool, device=env.device)  # W1, W2 changed outside opt.step()
    steps, W1s, W2s, losses, changes = [], [], [], [], []
    stopped, error, quiet = "max_steps", None, 0
    clock = time.perf_counter
    tick()  # training starts: the grader's clock reads this
    began = clock()
    step = 0
    while True:
        model.zero_grad(set_to_none=True)
        before = _flat(torch, weights)  # a copy
        try:
            values = per_point(model(data), data)
        except (MemoryError, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001
            stopped, error = "error", ("the grader evaluates your loss on each training point alone with "
                                       "torch.func.vmap, and that failed: " + _describe(exc, env.filename))
            break
        if values.shape != (data.shape[0],):
            stopped, error = "error", (f"the loss on one point returned shape {tuple(values.shape[1:])}, not "
                                       "a scalar")
            break
        objective = values.mean()
        if step % snapshot_every == 0:
            # the forward pass and the loss of this step; the backward pass is checked below, every step
            if bool(tampered | _changed(torch, found, weights, before)):  # the snapshot synchronizes anyway
                stopped, error = "error", TAMPERED
                break
            W1, W2 = (env.array(w) for w in found.values())  # copies to the CPU: synchronizes
            steps.append(step)
            W1s.append(W1)
            W2s.append(W2)
            losses.append(float(objective.detach()))
            tick()
            if len(W1s) > 1:
                moved = np.linalg.norm(W1 - W1s[-2]) + np.linalg.norm(W2 - W2s[-2])
                changes.append(float(moved / (np.linalg.norm(W1) + np.linalg.norm(W2) + 1e-3)))
                quiet = quiet + 1 if changes[-1] <= stall_rtol else 0
            d = _distance(np, W1, W2, Uk, target)
            if not math.isfinite(d) or not math.isfinite(losses[-1]):
                stopped = "diverged"
                break
            if d <= stop_tol:
                stopped = "target"
                break
            if quiet >= patience:
                stopped = "stalled"
                break
            if step >= max_steps:
                stopped = "max_steps"
                break
            if clock() - began > budget:
                stopped = "budget"
                break
        try:
            objective.backward()
            tampered = tampered | _changed(torch, found, weights, before)
            opt.step()
        except (MemoryError, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001
            stopped, error = "error", _describe(exc, env.filename)
            break
        step += 1
    seconds = clock() - began
    out = {"steps": steps, "loss": losses, "stopped": stopped, "last_step": step, "device": str(env.device),
           "dtype": str(dtype).replace("torch.", ""), "snapshot_every": snapshot_every, "own_seconds": seconds}
    if W1s:
        out["W1"] = np.stack(W1s)
        out["W2"] = np.stack(W2s)
    if error:
        out["error"] = error
    return out
