import numpy as np


def weighted_sum(A, w):
    return np.asarray(A) @ np.asarray(w)
