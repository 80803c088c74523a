"""The regularized autoencoder problem: its checks, their calibration and trusted-side helpers (the l2-regularized linear autoencoder, Eq. 6).

- :mod:`closed_form`: the global minimiser of Eq. 6, its loss, and the rotation-invariant
  distance of trained weights to it;
- :mod:`structure`: the student's model, read from the driver's probes: two bias-free
  linear maps, a forward map x -> W2 W1 x, and that map's gradients reaching both weights;
- :mod:`objective`: what the student's setup minimises, read from the driver's probes
  (the effective lambda);
- :mod:`gaps`: relative gaps between probes and the linear models they should follow;
- :mod:`curve`: the training run as the grader saw it (snapshots timed by the grader's
  clock): time-to-target, divergence, no progress, and why a run that converged missed the closed form;
- :mod:`calibration`: the reference's time-to-target on this machine and the budgets.

Nothing here imports torch: the student's objects never leave the sandbox, only the driver's
measurements (numbers and arrays) do (``sandbox/regularized_training.py``).
"""

from . import calibration, checks  # noqa: E402,F401  (registration)
from . import report  # noqa: E402,F401  (the timed-training report parts)
