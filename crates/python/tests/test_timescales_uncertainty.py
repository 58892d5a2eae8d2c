"""wm.timescales_with_uncertainty: bias-corrected timescales, bootstrap
intervals and two timescales, on counts with a known answer drawn by numpy
(references.ou_poisson_counts: Poisson counts, Ornstein-Uhlenbeck rate)."""

import numpy as np
import pytest
from scipy.optimize import curve_fit

import references as ref
import wm


@pytest.fixture
def rng():
    return np.random.default_rng(2023)


def test_default_columns_are_those_of_autocorrelation_timescales(rng):
    counts = ref.ou_poisson_counts(rng, 20, 50, 20, 120.0)
    plain = wm.autocorrelation_timescales(counts)
    more = wm.timescales_with_uncertainty(counts, ci=0.9, bias_correct=True, two_timescales=True, resamples=50)
    for key in ["tau_ms", "a", "b", "rate_hz", "start_lag_ms", "autocorrelation", "lags_ms"]:
        np.testing.assert_array_equal(more[key], plain[key])
    np.testing.assert_array_equal(more["exclusion"], plain["exclusion"])
    # Without the options nothing extra is computed.
    bare = wm.timescales_with_uncertainty(counts)
    assert np.isnan(bare["tau_corrected_ms"]).all() and np.isnan(bare["tau_ci_low_ms"]).all()
    assert (bare["model"] == "").all()


def test_corrected_median_is_within_ten_percent_of_the_truth(rng):
    # 300 units x 100 trials x 20 bins of 50 ms, tau = 200 ms: the default
    # fit's median is low (the window is 5 tau), the corrected one is not.
    tau = 200.0
    counts = ref.ou_poisson_counts(rng, 300, 100, 20, tau)
    r = wm.timescales_with_uncertainty(counts, bias_correct=True, seed=1)
    corrected = r["tau_corrected_ms"]
    assert np.isfinite(corrected).sum() > np.isfinite(r["tau_ms"]).sum()
    assert abs(np.nanmedian(corrected) / tau - 1) < 0.10, np.nanmedian(corrected)
    assert np.nanmedian(r["tau_ms"]) / tau < 0.95


def test_pooled_tau_fits_the_mean_autocorrelation(rng):
    # The pooled tau is the fit to the units' mean autocorrelation: the same
    # as the tau of the fit to that mean computed here, within the fit's
    # tolerance; and on 200 units x 100 trials x 20 bins it is near the truth.
    tau = 100.0
    counts = ref.ou_poisson_counts(rng, 200, 100, 20, tau)
    r = wm.timescales_with_uncertainty(counts, ci=0.9, resamples=100, seed=3)
    p = r["pooled"]
    assert p["n_units"] == 200
    assert p["ci_low_ms"] <= p["tau_ms"] <= p["ci_high_ms"]
    assert abs(p["tau_ms"] / tau - 1) < 0.10, p
    # Independent reference: scipy's fit of a exp(-lag/tau) + c to the mean
    # autocorrelation from the start lag on, weighted by the bin pairs.
    mean_ac = np.nanmean(r["autocorrelation"], axis=0)
    lags = r["lags_ms"]
    start = int(np.argmax(np.diff(mean_ac) < 0))  # after the first decrease
    y, x = mean_ac[start:], lags[start:]
    w = 20 - np.rint(x / 50.0)
    popt, _ = curve_fit(lambda t, a, s, c: a * np.exp(-t / s) + c, x, y, p0=(y[0], 100.0, 0.0), sigma=1 / np.sqrt(w))
    assert abs(popt[1] / p["tau_ms"] - 1) < 1e-3, (popt, p)


def test_intervals_are_ordered_and_reproducible(rng):
    counts = ref.ou_poisson_counts(rng, 30, 60, 15, 100.0)
    a = wm.timescales_with_uncertainty(counts, ci=0.95, bias_correct=True, seed=4, resamples=100)
    b = wm.timescales_with_uncertainty(counts, ci=0.95, bias_correct=True, seed=4, resamples=100)
    np.testing.assert_array_equal(a["tau_ci_low_ms"], b["tau_ci_low_ms"])
    ok = np.isfinite(a["tau_ci_low_ms"])
    assert ok.sum() >= 25
    assert (a["tau_ci_low_ms"][ok] <= a["tau_ci_high_ms"][ok]).all()
    p = a["population"]
    assert p["ci_low_ms"] <= p["mean_tau_ms"] <= p["ci_high_ms"]
    # A wider level gives a wider population interval.
    c = wm.timescales_with_uncertainty(counts, ci=0.5, bias_correct=True, seed=4, resamples=100)
    assert c["population"]["ci_high_ms"] - c["population"]["ci_low_ms"] < p["ci_high_ms"] - p["ci_low_ms"]


def ou_rates(rng, n_units, n_trials, n_bins, tau_ms, bin_ms=50.0):
    """Unit-variance OU processes sampled per bin (stationary start)."""
    rho = np.exp(-bin_ms / tau_ms)
    z = np.empty((n_units, n_trials, n_bins))
    z[..., 0] = rng.standard_normal((n_units, n_trials))
    for i in range(1, n_bins):
        z[..., i] = rho * z[..., i - 1] + np.sqrt(1 - rho**2) * rng.standard_normal((n_units, n_trials))
    return z


def test_two_timescales_when_the_truth_has_two(rng):
    # Poisson counts at 80 Hz x (1 + 0.5 x1 + 0.3 x2), x1 and x2 independent
    # OU processes of 80 and 600 ms; against one OU process of 200 ms.
    shape = (60, 200, 20)
    two_rate = 80.0 * np.clip(1 + 0.5 * ou_rates(rng, *shape, 80.0) + 0.3 * ou_rates(rng, *shape, 600.0), 0, None)
    one_rate = 80.0 * np.clip(1 + 0.5 * ou_rates(rng, *shape, 200.0), 0, None)
    chose, pooled = [], []
    for rate in (two_rate, one_rate):
        r = wm.timescales_with_uncertainty(rng.poisson(rate * 0.05), max_lag_ms=950.0, two_timescales=True)
        chose.append(r["model"] == "two")
        pooled.append(r["pooled"])
        if len(chose) == 1:
            t1, t2 = np.median(r["tau1_ms"][chose[0]]), np.median(r["tau2_ms"][chose[0]])
    assert chose[0].mean() >= 0.25 and chose[0].mean() >= 2 * chose[1].mean(), [c.mean() for c in chose]
    # The population's mean autocorrelation: two timescales where the truth
    # has two (tau1 within 20 %; tau2, longer than half the 1-s window,
    # within a factor of two as per unit), and one where the truth has one.
    assert pooled[0]["model"] == "two" and pooled[1]["model"] == "one", pooled
    assert 64 < pooled[0]["tau1_ms"] < 96 and 300 < pooled[0]["tau2_ms"] < 1200, pooled[0]
    assert 40 < t1 < 160 and 300 < t2 < 1200 and t2 > 3 * t1, (t1, t2)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(ci=1.5), "ci"),
        (dict(ci=0.0), "ci"),
        (dict(ci=float("nan")), "ci"),
        (dict(ci=0.9, resamples=3), "resamples"),
    ],
)
def test_bad_options_raise_value_error_naming_them(kwargs, word):
    with pytest.raises(ValueError, match=word):
        wm.timescales_with_uncertainty(np.ones((2, 5, 20)), **kwargs)
