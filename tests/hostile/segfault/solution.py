import ctypes

def linear_ae_gradients(X, W1, W2):
    ctypes.string_at(0)
