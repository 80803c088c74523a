"""The backprop assignment's kit: everything the engine needs that is specific to this homework.

One module per problem, each with its case generator, its loss for finite differences (where the
problem asks for a gradient) and its slips, the wrong answers the checks name:

- ``softmax_xent``: logits and labels; the mean cross-entropy; slips of its gradient;
- ``batchnorm``: batches for training-mode batch norm; sum(dout * batchnorm(x)); slips of its backward pass;
- ``attention``: queries, keys and values; slips of causal scaled dot-product attention;
- ``conv``: images and filters; slips of a strided, padded cross-correlation.

Every slip rebuilds its wrong answer from the case's inputs and compares it with what the student returned.
"""

from grader.kit import Kit

kit = Kit(__file__)

from . import attention, batchnorm, conv, softmax_xent  # noqa: E402,F401
