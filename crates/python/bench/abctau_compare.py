"""Side by side: wm's bias-corrected timescales and abcTau (Zeraati et al.
2022) on the same simulated spike counts.

The data: Poisson counts whose rate is 20 Hz x (1 + 0.5 x(t)), x an
Ornstein-Uhlenbeck process of tau = 200 ms drawn at 1 ms and integrated over
50-ms bins, ten bins (500 ms) x 100 trials per unit, numpy seed 23: the
design of issue 23, where the default fit is biased low. The two tools run
in separate environments (abcTau needs numpy < 1.24), so the script has
three steps, each writing to results/timescales/:

    # 1. data + wm (an environment with wm installed: pip install ./crates/python)
    python crates/python/bench/abctau_compare.py wm --units 20
    # 2. abcTau on the first units (an environment with abcTau, numpy < 1.24;
    #    abcTau is not copied here: install it from its repository)
    python crates/python/bench/abctau_compare.py abctau --units 3
    # 3. the table (any environment with numpy)
    python crates/python/bench/abctau_compare.py table

abcTau runs as its example script `example_1tau_OUprocess_ac_distLin.py`
sets it up (adaptive ABC, linear distance on the autocorrelation computed by
FFT, epsilon_0 = 1, at least 100 accepted samples, at most 60 steps,
minimum acceptance rate 0.01), with the generative model for spike counts
`oneTauOU_poissonSpikes`, time in units of one bin as in its spike-count
example (deltaT = binSize = 1 bin = 50 ms), a uniform prior on tau over
0-1000 ms, one process. Its estimate is the median of the final
step's accepted samples (the posterior), with the 2.5-97.5 % range.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

OUT = os.path.join("results", "timescales")
TAU, BIN_MS, N_BINS, N_TRIALS, RATE_HZ, MOD, SEED = 200.0, 50.0, 10, 100, 20.0, 0.5, 23


def simulate(n_units):
    rng = np.random.default_rng(SEED)
    steps = int(N_BINS * BIN_MS)
    rho = np.exp(-1.0 / TAU)
    x = np.empty((n_units, N_TRIALS, steps))
    x[..., 0] = rng.standard_normal((n_units, N_TRIALS))
    for i in range(1, steps):
        x[..., i] = rho * x[..., i - 1] + np.sqrt(1 - rho**2) * rng.standard_normal((n_units, N_TRIALS))
    rate = RATE_HZ * np.clip(1 + MOD * x, 0, None) / 1000.0  # spikes per ms
    lam = rate.reshape(n_units, N_TRIALS, N_BINS, int(BIN_MS)).sum(-1)
    return rng.poisson(lam).astype(float)


def run_wm(n_units):
    import wm

    counts = simulate(n_units)
    np.save(os.path.join(OUT, "abctau_data.npy"), counts)
    params = dict(bin_ms=BIN_MS, max_lag_ms=(N_BINS - 1) * BIN_MS)
    t0, c0 = time.perf_counter(), time.process_time()
    r = wm.timescales_with_uncertainty(counts, ci=0.95, bias_correct=True, seed=0, **params)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = {
        "seconds_all_units": secs,
        "cpu_seconds_all_units": cpu,
        "n_units": n_units,
        "tau_ms": r["tau_ms"].tolist(),
        "tau_corrected_ms": r["tau_corrected_ms"].tolist(),
        "tau_ci_low_ms": r["tau_ci_low_ms"].tolist(),
        "tau_ci_high_ms": r["tau_ci_high_ms"].tolist(),
        "threads": os.environ.get("RAYON_NUM_THREADS", "all"),
    }
    with open(os.path.join(OUT, "abctau_wm.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"wm: {n_units} units in {secs:.2f} s; corrected median {np.nanmedian(r['tau_corrected_ms']):.1f} ms")


def run_abctau(n_units):
    import importlib.util

    from scipy import stats

    # abcTau's modules import each other by bare name.
    sys.path.append(importlib.util.find_spec("abcTau").submodule_search_locations[0])
    import abcTau
    counts = np.load(os.path.join(OUT, "abctau_data.npy"))
    # Time in units of one bin, as abcTau's spike-count example
    # (example_2tau_inhomPoiss_ac_distLin.py: deltaT = binSize = 1); tau is
    # converted to ms at the end.
    deltaT = binSize = 1
    summ, if_norm, max_lag = "comp_ac_fft", True, N_BINS - 1
    prior = [stats.uniform(loc=0.0, scale=1000.0 / BIN_MS)]
    results = []
    tmp = os.path.join(OUT, "abctau_tmp") + os.sep
    os.makedirs(tmp, exist_ok=True)
    undefined = 0
    for data in counts:
        _, m, v, _, _ = abcTau.preprocessing.extract_stats(data, deltaT, binSize, summ, if_norm, max_lag)
        undefined += int(v <= m)
    skipped = []
    for u, data in enumerate(counts):
        if len(results) == n_units:
            break
        data_sum, data_mean, data_var, T, n_trials = abcTau.preprocessing.extract_stats(
            data, deltaT, binSize, summ, if_norm, max_lag
        )
        if data_var <= data_mean:
            # oneTauOU_poissonSpikes sets the rate's SD to sqrt(var - mean):
            # undefined, every simulation NaN, and the ABC never accepts.
            skipped.append(u)
            continue

        class MyModel(abcTau.Model):
            def __init__(self):
                pass

            def draw_theta(self):
                return [p.rvs() for p in self.prior]

            def generate_data(self, theta):
                try:
                    syn, n_bins = abcTau.generative_models.oneTauOU_poissonSpikes(
                        theta, deltaT, binSize, T, n_trials, data_mean, data_var
                    )
                except ValueError:
                    # numpy refuses a Poisson mean that overflowed (tau near
                    # 0): an all-zero summary, which the distance rejects.
                    return np.zeros(max_lag + 1)
                return abcTau.summary_stats.comp_sumStat(syn, summ, if_norm, deltaT, binSize, T, n_bins, max_lag)

            def summary_stats(self, data):
                return data

            def distance_function(self, data, synth):
                if np.nansum(synth) <= 0:
                    return 10**4
                return abcTau.distance_functions.linear_distance(data, synth)

        t0, c0 = time.perf_counter(), time.process_time()
        abc, final = abcTau.fit.fit_withABC(
            MyModel, data_sum, prior, tmp, "inter", tmp, f"unit{u}", 1, 100, 60, 0.01, False, 1, None
        )
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        post = np.asarray(abc[final - 1]["theta accepted"]).ravel() * BIN_MS
        results.append(
            {
                "unit": u,
                "tau_ms": float(np.median(post)),
                "low_ms": float(np.percentile(post, 2.5)),
                "high_ms": float(np.percentile(post, 97.5)),
                "seconds": secs,
                "cpu_seconds": cpu,
                "steps": int(final),
            }
        )
        print(f"abcTau unit {u}: tau {results[-1]['tau_ms']:.1f} ms in {secs:.1f} s, {cpu:.1f} s CPU ({final} steps)", flush=True)
        with open(os.path.join(OUT, "abctau_abctau.json"), "w") as f:
            json.dump(
                {"units": results, "skipped": skipped, "checked": u + 1, "undefined": undefined, "of": len(counts)},
                f,
                indent=1,
            )


def table():
    with open(os.path.join(OUT, "abctau_wm.json")) as f:
        w = json.load(f)
    with open(os.path.join(OUT, "abctau_abctau.json")) as f:
        a_all = json.load(f)
    a, skipped = a_all["units"], a_all["skipped"]

    per_unit = w["seconds_all_units"] / w["n_units"]
    lines = [
        f"Same data for both: {N_TRIALS} trials x {N_BINS} bins of {BIN_MS:.0f} ms, true tau = {TAU:.0f} ms "
        f"(Poisson, OU rate at 1 ms integrated per bin, `crates/python/bench/abctau_compare.py`, seed {SEED}). "
        f"wm: `timescales_with_uncertainty(ci=0.95, bias_correct=True)` on all {w['n_units']} units in "
        f"{w['seconds_all_units']:.2f} s wall, {w['cpu_seconds_all_units']:.2f} s CPU (RAYON_NUM_THREADS="
        f"{w['threads']}, one calibration for all units), {per_unit * 1e3:.0f} ms per unit. abcTau: its example settings with `oneTauOU_poissonSpikes`, "
        "prior U(0, 1000) ms, one process; posterior median and 2.5-97.5 % range.",
        "",
        "| unit | default tau (ms) | wm corrected (ms) | wm 95 % CI (ms) | abcTau median (ms) | abcTau 95 % range (ms) | abcTau wall / CPU time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    fmt = lambda v: "-" if v is None or not np.isfinite(v) else f"{v:.0f}"  # noqa: E731
    for r in a:
        u = r["unit"]
        lines.append(
            f"| {u} | {fmt(w['tau_ms'][u])} | {fmt(w['tau_corrected_ms'][u])} | "
            f"{fmt(w['tau_ci_low_ms'][u])}-{fmt(w['tau_ci_high_ms'][u])} | {r['tau_ms']:.0f} | "
            f"{r['low_ms']:.0f}-{r['high_ms']:.0f} | {r['seconds']:.1f} / {r['cpu_seconds']:.1f} |"
        )
    n = len(a)
    lines.append("")
    lines.append(
        f"abcTau's `oneTauOU_poissonSpikes` needs the count variance above the mean (the rate's SD is "
        f"sqrt(var - mean)); units {skipped} among the first {a_all['checked']} fail that, so every "
        f"simulation is NaN and the ABC never accepts (variance <= mean in {a_all['undefined']} of "
        f"{a_all['of']} units here); they were skipped and abcTau ran on the next units."
    )
    lines.append("")
    lines.append(
        f"Median over these {n} units: wm corrected "
        f"{np.nanmedian([w['tau_corrected_ms'][r['unit']] for r in a]):.0f} ms, abcTau "
        f"{np.median([r['tau_ms'] for r in a]):.0f} ms; over all {w['n_units']} units wm corrected "
        f"{np.nanmedian(w['tau_corrected_ms']):.0f} ms (default fit: {np.isfinite(w['tau_ms']).sum()} units fitted, "
        f"median {np.nanmedian(w['tau_ms']):.0f} ms). CPU time per unit: abcTau "
        f"{np.mean([r['cpu_seconds'] for r in a]):.0f} s, wm {w['cpu_seconds_all_units'] / w['n_units'] * 1e3:.0f} ms."
    )
    text = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "abctau.md"), "w") as f:
        f.write(text)
    print(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("step", choices=["wm", "abctau", "table"])
    p.add_argument("--units", type=int, default=20)
    a = p.parse_args()
    os.makedirs(OUT, exist_ok=True)
    {"wm": lambda: run_wm(a.units), "abctau": lambda: run_abctau(a.units), "table": table}[a.step]()


if __name__ == "__main__":
    main()
