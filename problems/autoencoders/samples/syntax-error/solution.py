import numpy as np


def linear_ae_gradients(X, W1, W2)
    return X, W1
