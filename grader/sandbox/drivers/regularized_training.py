"""In-sandbox driver for the regularized linear autoencoder (Eq. 6): probe the student's setup, then train it.

The student writes ``build_model(m, k)``, ``build_loss()`` and ``build_optimizer(model, lam, lr)``. This
driver runs inside the sandbox, in the student's process; it only measures and returns plain data
(numbers, strings, lists, dicts, numpy arrays). It interprets nothing that earns points: the grader
re-derives every verdict from these measurements on its own side (``grader/training/``), and times the
training with its own clock from the ``tick()`` events (one when training starts, one per snapshot).

Measurements:

- ``structure``: the model's modules and parameters, its ``nn.Linear`` weights (W1, W2 in registration
  order), and the forward map probed on basis vectors, on zero, on linear combinations, one point at a
  time versus in a batch, and twice (randomness);
- ``loss``: the loss on single points (batch of one, shape (1, m)) at known residuals, its gradient, and
  on a batch of two;
- ``optimizer``: one ``step()`` from known weights with known gradients (the data gradient set by hand),
  on fresh models and optimizers: the update with the decay alone, the gradient alone, both, twice the
  gradient; per weight, the data gradient at which a step leaves the weights where they are; and the
  optimizer's class and hyper-parameters (for explanations only);
- ``training``: the grader's procedure: from the grader's initial weights, full-batch steps whose
  objective is the mean over points of the student's loss on each point alone (``torch.func.vmap`` keeps
  the per-point semantics), the student's optimizer's ``step()``; a snapshot of (W1, W2) every
  ``snapshot_every`` steps, each followed by ``tick()``. It stops at the target, on NaN, when the
  weights stop moving, at the step cap, or when its own clock passes the time budget (the grader's
  clock is the one that counts).
"""

import math
import time
import traceback

MAX_ITEMS = 64  # most modules / parameters / groups described
FUNCTIONS = ("build_model", "build_loss", "build_optimizer")


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
    env = _Env(torch, np, funcs, m, k, float(lam), float(lr), device, filename, int(settings.get("seed", 0)))
    result = {"device": _device_name(torch, device), "torch": str(torch.__version__), "m": m, "k": k, "n": n,
              "lam": float(lam), "lr": float(lr)}
    result["structure"] = _guard(env, _structure)
    result["loss"] = _guard(env, _loss)
    result["optimizer"] = _guard(env, _optimizer)
    result["training"] = _guard(env, lambda e: _train(e, X, W1_init, W2_init, settings, tick))
    return result


# --------------------------------------------------------------------------- helpers


class _Env:
    def __init__(self, torch, np, funcs, m, k, lam, lr, device, filename, seed):
        self.torch, self.np, self.funcs = torch, np, funcs
        self.m, self.k, self.lam, self.lr, self.device = m, k, lam, lr, device
        self.filename, self.seed = filename, seed

    def model(self):
        self.torch.manual_seed(self.seed)
        model = self.funcs["build_model"](self.m, self.k)
        if not isinstance(model, self.torch.nn.Module):
            raise TypeError(f"build_model({self.m}, {self.k}) returned a {type(model).__name__}, "
                            "not a torch.nn.Module")
        return model

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

    def array(self, tensor):
        return tensor.detach().to("cpu", self.torch.float64).numpy().copy()


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


def _plain(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (tuple, list)) and len(value) <= 8 and all(isinstance(v, (int, float, bool)) for v in value):
        return list(value)
    return repr(value)[:80]


def _qualname(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


# --------------------------------------------------------------------------- structure


def _structure(env):
    torch, np = env.torch, env.np
    model = env.model()
    modules = [[name, _qualname(mod)] for name, mod in list(model.named_modules())[:MAX_ITEMS]]
    params = [[name, list(p.shape), bool(p.requires_grad)] for name, p in list(model.named_parameters())[:MAX_ITEMS]]
    linears = [{"in": int(mod.in_features), "out": int(mod.out_features), "bias": mod.bias is not None,
                "name": next((nm for nm, md in model.named_modules() if md is mod), "")}
               for mod in env.linears(model)[:MAX_ITEMS]]
    out = {"modules": modules, "parameters": params, "linears": linears,
           "parameter_count": sum(1 for _ in model.parameters()),
           "buffers": [name for name, _ in list(model.named_buffers())[:MAX_ITEMS]]}
    lin = env.linears(model)
    if len(lin) >= 2:
        out["W1"], out["W2"] = env.array(lin[0].weight), env.array(lin[1].weight)
        out["biases"] = [env.array(mod.bias) if mod.bias is not None else None for mod in lin[:2]]
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    m = env.m
    gen = np.random.default_rng(1234)
    pts = gen.standard_normal((4, m))

    def f(rows):
        with torch.no_grad():
            y = model(torch.as_tensor(np.asarray(rows), dtype=dtype))
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"the model returned a {type(y).__name__}, not a tensor")
        return env.array(y)

    forward = {}
    try:
        basis = f(np.eye(m))
        forward["basis"] = basis  # row j: f(e_j)
        forward["zero"] = f(np.zeros((1, m)))[0]
        x, y = pts[:2], pts[2:]
        forward["combo"] = {"x": x, "y": y, "fx": f(x), "fy": f(y), "f_combo": f(2 * x - 3 * y),
                            "f_scaled": f(10 * x), "f_neg": f(-x)}
        forward["points"] = pts
        forward["batch"] = f(pts)
        forward["single"] = np.stack([f(pts[i:i + 1])[0] for i in range(len(pts))])
        forward["again"] = f(pts)
    except (MemoryError, SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001
        forward["error"] = _describe(exc, env.filename)
    out["forward"] = forward
    return out


# --------------------------------------------------------------------------- loss


def _loss(env):
    torch, np = env.torch, env.np
    loss = env.loss_fn()
    m = env.m
    gen = np.random.default_rng(4321)
    targets = gen.standard_normal((6, m))
    residuals = gen.standard_normal((6, m)) * np.array([0.1, 0.5, 1.0, 2.0, 5.0, 1.0])[:, None]
    shift = gen.standard_normal(m)
    out = {"targets": targets, "residuals": residuals, "shift": shift}
    dtype = torch.float64
    try:
        _loss_value(torch, loss, targets[0] + residuals[0], targets[0], dtype)
    except (MemoryError, SystemExit, KeyboardInterrupt):
        raise
    except Exception:  # noqa: BLE001 - a loss that only takes float32 (a float32 constant inside)
        dtype = torch.float32
    out["dtype"] = str(dtype).replace("torch.", "")
    values, grads, shape = [], [], None
    for t, r in zip(targets, residuals):
        value, grad, shape = _loss_value(torch, loss, t + r, t, dtype, with_grad=True)
        values.append(value)
        grads.append(grad)
    out["shape"] = shape
    out["values"] = values  # loss(t + r, t), one point each
    out["grads"] = np.stack(grads)  # d loss / d prediction
    out["zero"] = [_loss_value(torch, loss, t, t, dtype)[0] for t in targets[:2]]
    out["double"] = [_loss_value(torch, loss, t + 2 * r, t, dtype)[0] for t, r in zip(targets[:3], residuals[:3])]
    out["shifted"] = [_loss_value(torch, loss, t + r + shift, t + shift, dtype)[0]
                      for t, r in zip(targets[:3], residuals[:3])]
    try:
        pair = _loss_value(torch, loss, targets[:2] + residuals[:2], targets[:2], dtype, batch=True)[0]
        out["pair"] = pair  # the loss on a batch of two (for explanations: sum or mean over the batch)
    except (MemoryError, SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001
        out["pair_error"] = _describe(exc, env.filename)
    return out


def _loss_value(torch, loss, prediction, target, dtype, with_grad=False, batch=False):
    p = torch.tensor(prediction, dtype=dtype)
    t = torch.tensor(target, dtype=dtype)
    if not batch:
        p, t = p.reshape(1, -1), t.reshape(1, -1)
    p.requires_grad_(with_grad)
    value = loss(p, t)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"the loss returned a {type(value).__name__}, not a tensor")
    shape = list(value.shape)
    if value.numel() != 1:
        raise ValueError(f"the loss returned a tensor of shape {tuple(value.shape)}, not a scalar")
    grad = None
    if with_grad:
        if not value.requires_grad:
            raise ValueError("the loss does not depend on the prediction through autograd "
                             "(is it detached, or computed with numpy?)")
        (grad,) = torch.autograd.grad(value.reshape(()), p)
        grad = grad.detach().to(torch.float64).numpy().reshape(-1).copy()
    return float(value.detach().reshape(())), grad, shape


# --------------------------------------------------------------------------- optimizer


def _optimizer(env):
    torch, np = env.torch, env.np
    gen = np.random.default_rng(99)
    probe = env.model()
    lin = env.linears(probe)
    shapes = [(env.k, env.m), (env.m, env.k)]
    if len(lin) < 2 or [tuple(mod.weight.shape) for mod in lin[:2]] != shapes:
        grader_model = True  # the student's model cannot say which weight is which: probe a plain one
    else:
        grader_model = False
    w0 = [gen.standard_normal(s) for s in shapes]
    G = [gen.standard_normal(s) for s in shapes]
    zero = [np.zeros(s) for s in shapes]

    def fresh():
        if grader_model:
            model = torch.nn.Sequential(torch.nn.Linear(env.m, env.k, bias=False),
                                        torch.nn.Linear(env.k, env.m, bias=False))
            weights = list(model)
        else:
            model = env.model()
            weights = env.linears(model)[:2]
        try:
            model = model.double()  # float64 probes: small updates are read to many digits
        except (MemoryError, SystemExit, KeyboardInterrupt):
            raise
        except Exception:  # noqa: BLE001 - a model that refuses float64 is probed in its own dtype
            pass
        return model, [w.weight for w in weights]

    def step(w, g, times=1):
        model, params = fresh()
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
            for p, value in zip(params, w):
                p.copy_(torch.as_tensor(value, dtype=p.dtype))
        opt = env.optimizer(model)
        moves = []
        for _ in range(times):
            before = [env.array(p) for p in params]
            for p in model.parameters():
                p.grad = torch.zeros_like(p)
            for p, value in zip(params, g):
                p.grad = torch.as_tensor(value, dtype=p.dtype).clone()
            opt.step()
            moves.append([env.array(p) - b for p, b in zip(params, before)])
        return moves if times > 1 else moves[0], opt

    out = {"grader_model": grader_model, "w0": w0, "G": G}
    decay, opt = step(w0, zero)
    out["decay"] = decay  # weights w0, no data gradient
    out["gradient"], _ = step(zero, G)  # weights 0, gradient G
    out["double"], _ = step(zero, [2 * g for g in G])
    out["both"], _ = step(w0, G)
    out["twice"], _ = step(zero, G, times=2)  # two steps with the same gradient (momentum)
    out["meta"] = _meta(opt)
    stationary = []
    for i in range(2):  # per weight: the data gradient -omega * w0 at which a step does not move it
        def f(omega, i=i):
            w = [w0[j] if j == i else zero[j] for j in range(2)]
            g = [-omega * w0[j] if j == i else zero[j] for j in range(2)]
            return float(np.sum(step(w, g)[0][i] * w0[i]))
        stationary.append(_bisect(f))
    out["stationary"] = stationary
    return out


def _bisect(f):
    """The omega >= 0 where f changes sign from negative to non-negative, by doubling then bisection."""
    f0 = f(0.0)
    if not f0 < 0:
        return {"omega": 0.0, "f0": f0, "found": True}
    lo, hi = 0.0, 1e-4
    while f(hi) < 0:
        lo, hi = hi, hi * 4
        if hi > 1e8:
            return {"omega": None, "f0": f0, "found": False}
    for _ in range(60):
        mid = math.sqrt(lo * hi) if lo > 0 and hi > 2 * lo else 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-9 * hi:
            break
    return {"omega": 0.5 * (lo + hi), "f0": f0, "found": True, "bracket": [lo, hi]}


def _meta(opt):
    mro = [f"{c.__module__}.{c.__qualname__}" for c in type(opt).__mro__[:6]]
    groups = []
    for group in opt.param_groups[:MAX_ITEMS]:
        groups.append({str(key): _plain(value) for key, value in list(group.items())[:24] if key != "params"})
        groups[-1]["n_params"] = len(group.get("params", []))
    return {"class": _qualname(opt), "mro": mro, "groups": groups}


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
    lin = env.linears(model)
    shapes = [(env.k, env.m), (env.m, env.k)]
    if len(lin) < 2 or [tuple(mod.weight.shape) for mod in lin[:2]] != shapes:
        found = ", ".join(f"Linear({mod.in_features}, {mod.out_features})" for mod in lin) or "none"
        return {"error": f"the grader trains the weights of the first two nn.Linear modules, an encoder "
                         f"Linear({env.m}, {env.k}) and a decoder Linear({env.k}, {env.m}); the model has: "
                         f"{found}", "skipped": True}
    with torch.no_grad():
        lin[0].weight.copy_(torch.as_tensor(np.array(W1_init, dtype=np.float64), dtype=lin[0].weight.dtype))
        lin[1].weight.copy_(torch.as_tensor(np.array(W2_init, dtype=np.float64), dtype=lin[1].weight.dtype))
    model.to(env.device)
    model.train()
    loss_fn = env.loss_fn()
    if isinstance(loss_fn, torch.nn.Module):
        loss_fn = loss_fn.to(env.device)
    opt = env.optimizer(model)
    dtype = lin[0].weight.dtype
    data = torch.as_tensor(X, dtype=dtype, device=env.device)
    per_point = torch.func.vmap(lambda p, t: loss_fn(p.unsqueeze(0), t.unsqueeze(0)), randomness="different")

    _warm_up(torch, env.device, dtype)
    steps, W1s, W2s, losses, changes = [], [], [], [], []
    stopped, error, quiet = "max_steps", None, 0
    clock = time.perf_counter
    tick()  # training starts: the grader's clock reads this
    began = clock()
    step = 0
    while True:
        model.zero_grad(set_to_none=True)
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
            W1, W2 = env.array(lin[0].weight), env.array(lin[1].weight)  # copies to the CPU: synchronizes
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
