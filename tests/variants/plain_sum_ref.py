import numpy as np


def column_sums(A, w):
    return np.asarray(A).sum(axis=0)
