"""The self-organizing memory network's step loop in plain numpy.

The straightforward implementation of the same loop `cargo bench -p
wm-plasticity` times (the step of `NN.py` in github.com/cfederer/SOMN):
Euler activity update, mat-vec, analytic error, rank-1 plastic update with
the diagonal kept at zero. Prints `steps_per_s N <value>` for each size given
on the command line.

Usage: python3 xtask/bench/somn_numpy.py [N ...] (default 100 1000)
"""
import sys
import time

import numpy as np


def run(n, steps, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    d = np.abs(rng.standard_normal(n))
    L = rng.standard_normal((n, n)) / np.sqrt(n)
    np.fill_diagonal(L, 0.0)
    eta = 1e-4 * (100.0 / n) ** 2
    h = 0.001
    r = np.maximum(a, 0.0)
    t0 = time.perf_counter()
    for _ in range(steps):
        a = (1.0 - h) * a + h * (L @ r)
        r = np.maximum(a, 0.0)
        fp = (a > 0).astype(float)
        e = d @ (fp * (-a + L @ r))
        L -= 2.0 * eta * e * np.outer(d * fp, r)
        np.fill_diagonal(L, 0.0)
    return steps / (time.perf_counter() - t0)


if __name__ == "__main__":
    sizes = [int(x) for x in sys.argv[1:]] or [100, 1000]
    for n in sizes:
        steps = 20000 if n <= 200 else 200
        print(f"steps_per_s {n} {run(n, steps):.1f}")
