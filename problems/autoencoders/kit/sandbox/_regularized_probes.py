"""In-sandbox probes of a student's regularized-autoencoder setup: what the model, the loss and the optimizer
are, measured one piece at a time (how the setup trains is ``regularized_training.py``'s business).

A helper of the driver ``regularized_training.py``, which loads it from the same folder (its leading
underscore keeps specs from naming it as a driver). Each probe takes the driver's environment ``env``
(torch, numpy, the student's three functions, m, k, lam, lr) and returns plain data; the grader judges it
(``training/``):

- ``probe_structure``: the model's modules and parameters, its ``nn.Linear`` weights (W1, W2 in
  registration order), and the forward map probed on basis vectors, on zero, on linear combinations, one
  point at a time versus in a batch, and twice (randomness); and the gradients that backpropagation
  through the model sends to W1 and W2 (a detached encoder, a frozen weight, a gradient hook);
- ``probe_loss``: the loss on single points (batch of one, shape (1, m)) at known residuals, its gradient,
  and on a batch of two;
- ``probe_optimizer``: one ``step()`` from known weights with known gradients (the data gradient set by
  hand), on fresh models and optimizers: the update with the decay alone, the gradient alone, both, twice
  the gradient; per weight, the data gradient at which a step leaves the weights where they are; and the
  optimizer's class and hyper-parameters (for explanations only).
"""

import math

MAX_ITEMS = 64  # most modules / parameters / groups described


# --------------------------------------------------------------------------- structure


def probe_structure(env):
    torch, np = env.torch, env.np
    model = env.model()
    modules = [[name, _qualname(mod)] for name, mod in list(model.named_modules())[:MAX_ITEMS]]
    params = [[name, list(p.shape), bool(p.requires_grad)] for name, p in list(model.named_parameters())[:MAX_ITEMS]]
    linears = [{"in": int(mod.in_features), "out": int(mod.out_features), "bias": mod.bias is not None,
                "name": next((nm for nm, md in model.named_modules() if md is mod), ""),
                "parameter": env.settable([mod])}  # False: computed (a parametrization)
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
        forward["error"] = env.describe(exc)
    out["forward"] = forward
    if len(lin) >= 2 and "error" not in forward and all(l["parameter"] for l in linears[:2]):
        out["gradient"] = _probe_gradient(env, model, lin, pts, gen.standard_normal(pts.shape), dtype)
    return out


def _probe_gradient(env, model, lin, points, G, dtype):
    """The gradients that reach W1 and W2 when sum(G * model(points)) is backpropagated (``None`` where a
    weight gets none): for x -> W2 W1 x they are W2^T G^T X and G^T X W1^T."""
    torch = env.torch
    try:
        model.zero_grad(set_to_none=True)
        with torch.enable_grad():
            y = model(torch.as_tensor(points, dtype=dtype))
            (y * torch.as_tensor(G, dtype=y.dtype)).sum().backward()
        grads = [None if mod.weight.grad is None else env.array(mod.weight.grad) for mod in lin[:2]]
        model.zero_grad(set_to_none=True)
        return {"points": points, "G": G, "W1": grads[0], "W2": grads[1]}
    except (MemoryError, SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001
        return {"error": env.describe(exc)}


# --------------------------------------------------------------------------- loss


def probe_loss(env):
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
        out["pair_error"] = env.describe(exc)
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


def probe_optimizer(env):
    torch, np = env.torch, env.np
    gen = np.random.default_rng(99)
    probe = env.model()
    lin = env.linears(probe)
    shapes = [(env.k, env.m), (env.m, env.k)]
    if len(lin) < 2 or [tuple(mod.weight.shape) for mod in lin[:2]] != shapes or \
            not env.settable(lin):
        # the student's model cannot say which weight is which, or its weights are computed from other
        # parameters (a parametrization, which the structure check names): probe a plain model
        grader_model = True
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


# --------------------------------------------------------------------------- helpers


def _plain(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (tuple, list)) and len(value) <= 8 and all(isinstance(v, (int, float, bool)) for v in value):
        return list(value)
    return repr(value)[:80]


def _qualname(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"
