def linear_ae_gradients(X, W1, W2):
    total = 0
    while True:  # waits for a convergence that never comes
        total += 1
