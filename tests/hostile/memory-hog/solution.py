# Allocates memory without bound (the address-space limit stops it at once).
import numpy as np

def linear_ae_gradients(X, W1, W2):
    blocks = []
    while True:
        blocks.append(np.empty(256 * 1024 * 1024 // 8))
