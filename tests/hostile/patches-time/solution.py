# Freezes every clock it can reach, then spins: the grader's own clock still runs out.
import time

time.time = lambda: 0.0
time.monotonic = lambda: 0.0
time.perf_counter = lambda: 0.0

def linear_ae_gradients(X, W1, W2):
    while True:
        pass
