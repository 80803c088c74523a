"""The autoencoders assignment's kit: everything the engine needs that is specific to this homework.

- ``autoencoder_cases``, ``regularized_cases``, ``seq2seq_cases``: the case generators;
- ``gradients``: the linear autoencoder's loss (for finite differences) and its scaling slips;
- ``pca``: the slips of the PCA factorisation (for the engine's ``subspace_projector`` check);
- ``tokens``: the slips of teacher forcing and greedy decoding, replayed on the scripted decoders;
- ``sandbox/``: what runs inside the sandbox: the scripted decoders handed to students' greedy loops, and
  the training driver of the regularized autoencoder (Eq. 6) with its probes;
- ``training/``: the regularized autoencoder's checks, their calibration (the reference's time-to-target on
  this machine), the driver's companion, and the timed-training report part.
"""

from grader.kit import Kit

kit = Kit(__file__)

kit.sandbox_module("scripted_decoder", "sandbox/scripted_decoder.py")
kit.driver("regularized_training", "sandbox/regularized_training.py")
kit.sandbox_module("_regularized_probes", "sandbox/_regularized_probes.py")

from . import autoencoder_cases, gradients, pca, regularized_cases, seq2seq_cases, tokens  # noqa: E402,F401
from . import training  # noqa: E402,F401
