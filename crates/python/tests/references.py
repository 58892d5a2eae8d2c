"""Independent numpy/scipy implementations of the measures, written from the
papers' definitions, for the tests to compare wm against."""

import numpy as np
from scipy.optimize import curve_fit


def sequentiality_index(activity, bins=20, window=5, threshold=0.1, pseudo=0.1):
    """SI per trial (Orhan & Ma 2019): peak-time entropy of the active units
    (numpy.histogram with `bins` bins, plus a pseudo-count) plus the mean log
    ratio of the activity in a window around each unit's peak to the rest."""
    out = []
    for trial in activity:
        t = trial.shape[0]
        w = window // 2
        peaks, ratios = [], []
        for col in trial.T:
            if col.mean() <= threshold:
                continue
            p = int(np.argmax(col))
            lo, hi = min(max(p - w, 0), t - 1), min(p + w, t - 1)
            inside = np.zeros(t, bool)
            inside[lo:hi] = True
            peaks.append(p)
            with np.errstate(divide="ignore"):
                ratios.append(np.log(col[inside].mean()) - np.log(col[~inside].mean()))
        counts, _ = np.histogram(peaks, bins) if peaks else (np.zeros(bins), None)
        prob = (counts + pseudo) / (counts + pseudo).sum()
        entropy = -np.sum(prob * np.log(prob))
        ratios = np.array(ratios)
        ratios = ratios[~np.isnan(ratios)]
        out.append(entropy + ratios.mean() if len(ratios) else np.nan)
    return np.array(out)


def bin_spikes(unit, trial, time_ms, bin_ms, start_ms, stop_ms, n_units, n_trials):
    """Half-open bins [start + i*bin, start + (i+1)*bin), trailing partial bin dropped."""
    n_bins = int(np.floor((stop_ms - start_ms) / bin_ms * (1 + 1e-9)))
    counts = np.zeros((n_units, n_trials, n_bins))
    end = min(stop_ms, start_ms + n_bins * bin_ms)
    keep = (time_ms >= start_ms) & (time_ms < end)
    idx = np.minimum(np.floor((time_ms[keep] - start_ms) / bin_ms).astype(int), n_bins - 1)
    np.add.at(counts, (unit[keep].astype(int), trial[keep].astype(int), idx), 1.0)
    return counts


def autocorrelation(counts, max_lag):
    """Murray et al. 2014: for each lag k, the mean over bin pairs (i, i+k) of
    the Pearson correlation across trials; pairs with a constant bin skipped."""
    n_bins = counts.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.corrcoef(counts.T)
    out = np.full(max_lag, np.nan)
    for k in range(1, min(max_lag, n_bins - 1) + 1):
        vals = np.array([c[i, i + k] for i in range(n_bins - k)])
        vals = vals[np.isfinite(vals)]
        if len(vals):
            out[k - 1] = vals.mean()
    return out


def timescale(counts, bin_ms=50.0, max_lag_ms=650.0, max_start_ms=150.0, max_tau_ms=500.0):
    """tau (ms) of one unit's [trial, bin] counts, or None: from the last lag
    before the first decrease, fit A (exp(-x / tau) + B) with x restarting at
    one bin, by scipy's Levenberg-Marquardt; keep 0 < tau <= max, A > 0."""
    k = int(np.floor(max_lag_ms / bin_ms * (1 + 1e-9)))
    ac = autocorrelation(counts, k)
    if np.isnan(ac).any():
        return None, ac
    m = 1
    for j in range(2, k + 1):
        if ac[j - 1] - ac[j - 2] >= 0:
            m = j
        else:
            break
    if m * bin_ms > max_start_ms * (1 + 1e-9):
        return None, ac
    y = ac[m - 1 :]
    x = np.arange(1, len(y) + 1) * bin_ms

    def model(x, a, tau, b):
        return a * (np.exp(-x / tau) + b)

    a0 = y[0] - y[-1]
    try:
        with np.errstate(over="ignore"):
            (a, tau, b), _ = curve_fit(model, x, y, p0=[a0, 2 * bin_ms, y[-1] / a0], method="lm", maxfev=20000)
    except RuntimeError:
        return None, ac
    if not (0 < tau <= max_tau_ms) or a <= 0:
        return None, ac
    return tau, ac


def discriminability(conditions):
    """Cross-temporal discriminability (Murray et al. 2017): interleaved
    half means, every pair's unit-centred difference, pooled correlation of
    half A at t1 with half B at t2."""
    a = [c[0::2].mean(0) for c in conditions]
    b = [c[1::2].mean(0) for c in conditions]
    pairs = [(i, j) for i in range(len(conditions)) for j in range(i + 1, len(conditions))]

    def centred(x):
        return x - x.mean(axis=1, keepdims=True)

    da = [centred(a[i] - a[j]) for i, j in pairs]
    db = [centred(b[i] - b[j]) for i, j in pairs]
    num = sum(x @ y.T for x, y in zip(da, db))
    na = sum((x**2).sum(1) for x in da)
    nb = sum((y**2).sum(1) for y in db)
    return num / np.sqrt(np.outer(na, nb))


def weight_profile(w, order, k_max):
    means, sds, counts = [], [], []
    for k in range(-k_max, k_max + 1):
        vals = [w[order[a], order[a + k]] for a in range(len(order)) if 0 <= a + k < len(order)]
        means.append(np.mean(vals) if vals else np.nan)
        sds.append(np.std(vals) if vals else np.nan)
        counts.append(len(vals))
    return np.array(means), np.array(sds), np.array(counts)


def ou_poisson_counts(rng, n_units, n_trials, n_bins, tau_ms, bin_ms=50.0, rate_hz=20.0, modulation=0.5):
    """Poisson counts whose rate follows an Ornstein-Uhlenbeck process with
    correlation time tau_ms (stationary start), sampled per bin: the count
    autocorrelation decays as exp(-lag / tau)."""
    rho = np.exp(-bin_ms / tau_ms)
    x = np.empty((n_units, n_trials, n_bins))
    x[..., 0] = rng.standard_normal((n_units, n_trials))
    for i in range(1, n_bins):
        x[..., i] = rho * x[..., i - 1] + np.sqrt(1 - rho**2) * rng.standard_normal((n_units, n_trials))
    rate = rate_hz * np.clip(1 + modulation * x, 0, None)
    return rng.poisson(rate * bin_ms / 1000.0)
