# Forks without bound; each child sleeps. The run's process cap stops it.
import os
import time

def linear_ae_gradients(X, W1, W2):
    made = 0
    while made < 100_000:
        try:
            if os.fork() == 0:
                time.sleep(10_000)
                os._exit(0)
        except OSError as exc:
            print(f"FORK-CAPPED after {made}: {exc.strerror}")
            break
        made += 1
    raise RuntimeError(f"forked {made}")
