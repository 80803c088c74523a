# -*- coding: latin-1 -*-
# Gradients (résumé)
def linear_ae_gradients(X, W1, W2):
    return None
