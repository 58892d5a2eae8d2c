"""Benchmark: wm.autocorrelation_timescales against a straightforward
numpy/scipy implementation of the same method (Murray et al. 2014: across-
trial spike-count autocorrelation, A (exp(-lag / tau) + B) fitted by
Levenberg-Marquardt from the first decrease on), on 1,000 units x 100
trials x 20 bins of 50 ms.

    python crates/python/bench/timescales.py   # after: pip install ./crates/python scipy

Prints the time of each, the speed-up, and how far the two agree. Set
RAYON_NUM_THREADS=1 to compare on one core (numpy/scipy here is one thread
per fit).
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import references  # noqa: E402  (the tests' independent implementation)
import wm  # noqa: E402


def best_of(n, f):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    rng = np.random.default_rng(0)
    counts = references.ou_poisson_counts(rng, 1000, 100, 20, 150.0)
    t_wm, fit = best_of(5, lambda: wm.autocorrelation_timescales(counts, bin_ms=50.0))
    t_np, taus = best_of(1, lambda: [references.timescale(c.astype(float))[0] for c in counts])
    taus = np.array([np.nan if t is None else t for t in taus])
    both = np.isfinite(taus) & np.isfinite(fit["tau_ms"])
    threads = os.environ.get("RAYON_NUM_THREADS", str(os.cpu_count()))
    print(f"1000 units x 100 trials x 20 bins; wm on {threads} thread(s)")
    print(f"wm.autocorrelation_timescales   {t_wm * 1e3:9.1f} ms  ({int(np.isfinite(fit['tau_ms']).sum())} units fitted)")
    print(f"numpy + scipy curve_fit         {t_np * 1e3:9.1f} ms  ({int(np.isfinite(taus).sum())} units fitted)")
    print(f"speed-up                        {t_np / t_wm:9.1f} x")
    diff = np.abs(fit["tau_ms"][both] - taus[both])
    print(f"tau agreement on {both.sum()} units fitted by both: median |diff| {np.median(diff):.2e} ms, max {diff.max():.2e} ms")


if __name__ == "__main__":
    main()
