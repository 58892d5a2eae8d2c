"""Each measure against an independent numpy/scipy implementation (references.py)."""

import numpy as np
import pytest
import scipy.linalg
import scipy.ndimage
import scipy.stats

import references as ref
import wm


@pytest.fixture
def rng():
    return np.random.default_rng(2019)


def sequence_activity(rng, trials=4, steps=60, units=40):
    """Bumps that travel through the units, some units silent, plus noise."""
    t = np.arange(steps)[None, :, None]
    centre = np.linspace(0, steps, units)[None, None, :] + rng.normal(0, 2, (trials, 1, units))
    a = 3 * np.exp(-((t - centre) ** 2) / 18) + 0.05 * rng.random((trials, steps, units))
    a[:, :, ::7] = 0.0
    return a


def test_sequentiality_index_matches_the_definition(rng):
    a = sequence_activity(rng)
    np.testing.assert_allclose(wm.sequentiality_index(a), ref.sequentiality_index(a), rtol=1e-12)
    got = wm.sequentiality_index(a, bins=7, window=9, activity_threshold=0.3, pseudo_count=1.0)
    want = ref.sequentiality_index(a, bins=7, window=9, threshold=0.3, pseudo=1.0)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_sequentiality_index_takes_any_dtype_and_layout(rng):
    a = sequence_activity(rng)
    base = wm.sequentiality_index(a)
    # A transposed view (non-contiguous) of the same numbers.
    t = np.ascontiguousarray(a.transpose(2, 1, 0)).transpose(2, 1, 0)
    assert not t.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(wm.sequentiality_index(t), base)
    np.testing.assert_array_equal(wm.sequentiality_index(a[:, ::-1, :][:, ::-1, :]), base)
    counts = rng.poisson(2.0, (3, 30, 12)).astype(np.int32)
    np.testing.assert_allclose(wm.sequentiality_index(counts), ref.sequentiality_index(counts.astype(float)))
    f32 = a.astype(np.float32)
    np.testing.assert_allclose(wm.sequentiality_index(f32), ref.sequentiality_index(f32.astype(float)), rtol=1e-12)


def test_silent_trial_gives_nan_not_an_error(rng):
    a = sequence_activity(rng, trials=2)
    a[1] = 0.0
    si = wm.sequentiality_index(a)
    assert np.isfinite(si[0]) and np.isnan(si[1])


def test_bin_spikes_matches_histogram_reference(rng):
    n = 5000
    unit = rng.integers(0, 7, n)
    trial = rng.integers(0, 5, n)
    time = rng.uniform(-20, 1030, n)
    time[:5] = [0.0, 50.0, 999.999, 1000.0, -0.001]  # bin edges
    got = wm.bin_spikes(unit, trial, time, bin_ms=50.0, start_ms=0.0, stop_ms=1000.0)
    want = ref.bin_spikes(unit, trial, time, 50.0, 0.0, 1000.0, 7, 5)
    np.testing.assert_array_equal(got, want)
    # Float indices (as from np.loadtxt) and explicit sizes.
    got = wm.bin_spikes(unit.astype(float), trial.astype(float), time, 25.0, 100.0, 330.0, n_units=9, n_trials=6)
    np.testing.assert_array_equal(got, ref.bin_spikes(unit, trial, time, 25.0, 100.0, 330.0, 9, 6))


def test_bin_spikes_takes_brian2_style_index_and_time():
    i = np.array([0, 1, 1, 2], dtype=np.int32)
    t_ms = np.array([1.0, 12.0, 18.0, 25.0])
    c = wm.bin_spikes(i, None, t_ms, bin_ms=10.0)
    assert c.shape == (3, 1, 3)  # stop defaults to the last spike rounded up: 30 ms
    np.testing.assert_array_equal(c[:, 0, :], [[1, 0, 0], [0, 2, 0], [0, 0, 1]])


def test_timescales_match_scipy_levenberg_marquardt(rng):
    counts = np.concatenate(
        [ref.ou_poisson_counts(rng, 15, 100, 20, tau) for tau in (50.0, 100.0, 200.0)]
    )
    got = wm.autocorrelation_timescales(counts, bin_ms=50.0)
    assert got["autocorrelation"].shape == (45, 13)
    np.testing.assert_allclose(got["lags_ms"], 50.0 * np.arange(1, 14))
    both, scipy_only = 0, 0
    for u in range(len(counts)):
        tau, ac = ref.timescale(counts[u].astype(float))
        np.testing.assert_allclose(got["autocorrelation"][u], ac, rtol=1e-10, atol=1e-12)
        if tau is None or tau < 20.0:
            continue
        if got["exclusion"][u] != "":
            # wm's solver stops at 200 iterations with tolerances of 1e-12,
            # and reports a flat valley as FitFailed.
            assert got["exclusion"][u] == "FitFailed", (u, got["exclusion"][u], tau)
            scipy_only += 1
            continue
        # Both are least-squares optima of the same model: the same tau.
        np.testing.assert_allclose(got["tau_ms"][u], tau, rtol=1e-3)
        both += 1
    assert both >= 25 and scipy_only <= both // 5, (both, scipy_only)
    assert np.all(np.isnan(got["tau_ms"][got["exclusion"] != ""]))
    np.testing.assert_allclose(got["rate_hz"], counts.mean(axis=(1, 2)) / 0.05)
    # The fitted population follows the generating timescales on average.
    med = [np.nanmedian(got["tau_ms"][15 * k : 15 * (k + 1)]) for k in range(3)]
    assert med[0] < med[2]


def test_timescale_rate_filter_and_integer_counts(rng):
    counts = ref.ou_poisson_counts(rng, 6, 60, 20, 100.0, rate_hz=4.0)
    counts[0] = 0
    a = wm.autocorrelation_timescales(counts.astype(np.uint8), min_rate_hz=3.0)
    b = wm.autocorrelation_timescales(counts.astype(float), min_rate_hz=3.0)
    np.testing.assert_array_equal(a["tau_ms"], b["tau_ms"])
    rates = counts.mean(axis=(1, 2)) / 0.05
    assert list(a["exclusion"][rates < 3.0]) == ["LowRate"] * int(np.sum(rates < 3.0))


def test_spike_count_autocorrelation_and_fano(rng):
    counts = ref.ou_poisson_counts(rng, 3, 40, 12, 80.0)
    np.testing.assert_allclose(
        wm.spike_count_autocorrelation(counts[0], 8), ref.autocorrelation(counts[0].astype(float), 8), rtol=1e-12
    )
    totals = counts.sum(axis=2)
    np.testing.assert_allclose(wm.fano_factors(counts), totals.var(axis=1, ddof=1) / totals.mean(axis=1))


def test_discriminability_matches_reference(rng):
    two = [rng.normal(size=(9, 6, 15)) + s * np.linspace(0, 1, 15) for s in (1.0, -1.0)]
    got = wm.cross_temporal_discriminability(two)
    np.testing.assert_allclose(got["r"], ref.discriminability(two), rtol=1e-10)
    np.testing.assert_allclose(got["z"], np.arctanh(got["r"]), rtol=1e-12)
    assert (got["n_units"], got["n_pairs"]) == (15, 1)
    # Two conditions: exactly the Pearson r across units of the half differences.
    da = two[0][0::2].mean(0) - two[1][0::2].mean(0)
    db = two[0][1::2].mean(0) - two[1][1::2].mean(0)
    assert abs(got["r"][2, 4] - scipy.stats.pearsonr(da[2], db[4])[0]) < 1e-12
    three = [rng.normal(size=(n, 5, 8)) for n in (6, 7, 8)]
    np.testing.assert_allclose(
        wm.cross_temporal_discriminability(three)["r"], ref.discriminability(three), rtol=1e-10
    )


@pytest.mark.parametrize("connectivity", [4, 8])
def test_clusters_match_scipy_labels(rng, connectivity):
    m = scipy.ndimage.gaussian_filter(rng.normal(size=(30, 30)), 1.5) * 6
    thr = 1.0
    clusters = wm.find_clusters(m, thr, connectivity=connectivity)
    structure = np.ones((3, 3)) if connectivity == 8 else None
    want = set()
    for sign in (1, -1):
        labels, n = scipy.ndimage.label(sign * m > thr, structure=structure)
        for k in range(1, n + 1):
            cells = tuple(map(tuple, np.argwhere(labels == k)))
            want.add((sign, cells, round(float(m[labels == k].sum()), 9)))
    got = {(c["sign"], tuple(map(tuple, c["cells"])), round(c["mass"], 9)) for c in clusters}
    assert got == want and len(got) >= 3
    masses = [abs(c["mass"]) for c in clusters]
    assert masses == sorted(masses, reverse=True)
    upper = wm.find_clusters(m, thr, tail="upper", connectivity=connectivity)
    assert all(c["sign"] == 1 for c in upper)


def test_group_test_finds_a_planted_difference(rng):
    # 12 units hold the cue across the whole trial, 12 only at its start.
    code = np.where(np.arange(24) < 12, 1.0, 0.0)[None, :] * np.ones((10, 1))
    code[:3, 12:] = 1.0
    pattern = rng.normal(size=24) * code
    conds = [s * pattern + rng.normal(0, 0.3, (40, 10, 24)) for s in (1.0, -1.0)]
    group = np.arange(24) < 12
    res = wm.discriminability_group_test(conds, group, threshold=0.5, n_permutations=200, seed=1)
    # The observed map is the clipped Fisher-z difference, computed independently.
    def z(units):
        r = ref.discriminability([c[:, :, units] for c in conds])
        return np.arctanh(np.clip(r, -0.999, 0.999))

    np.testing.assert_allclose(res["observed"], z(group) - z(~group), rtol=1e-9, atol=1e-12)
    best = res["clusters"][0]
    assert best["sign"] == 1 and best["p_value"] <= 0.01
    # Late delay (rows and columns >= 4) lies in the significant cluster.
    assert any(i >= 4 and j >= 4 for i, j in best["cells"])
    again = wm.discriminability_group_test(conds, group, threshold=0.5, n_permutations=200, seed=1)
    np.testing.assert_array_equal(again["null_max_mass"], res["null_max_mass"])
    # A grouping that splits alike units has no significant cluster.
    mixed = wm.discriminability_group_test(
        [c[:, :, :12] for c in conds], np.arange(12) % 2 == 0, threshold=0.5, n_permutations=200, seed=2
    )
    assert all(c["p_value"] > 0.01 for c in mixed["clusters"])


def test_real_schur_is_a_schur_form(rng):
    w = rng.normal(size=(40, 40)) / np.sqrt(40)
    s = wm.real_schur(w)
    q, t = s["q"], s["t"]
    np.testing.assert_allclose(q @ t @ q.T, w, atol=1e-10)
    np.testing.assert_allclose(q.T @ q, np.eye(40), atol=1e-10)
    assert np.all(np.tril(t, -2) == 0)
    np.testing.assert_allclose(np.sort_complex(s["eigenvalues"]), np.sort_complex(np.linalg.eigvals(w)), atol=1e-9)
    mags = np.abs(s["eigenvalues"])
    assert np.all(np.diff(mags) <= 1e-9)
    # scipy's real Schur form has the same eigenvalues and the same Frobenius norm.
    ts, _ = scipy.linalg.schur(w, output="real")
    np.testing.assert_allclose(np.linalg.norm(ts), np.linalg.norm(t), rtol=1e-10)
    # Interaction matrix: T strictly above the 1x1/2x2 diagonal blocks.
    inter = s["interaction"]
    assert np.all(np.tril(inter) == 0)
    sub = np.abs(np.diag(t, -1)) > 0
    for i in np.flatnonzero(sub):
        assert inter[i, i + 1] == 0


def test_schur_modes_normal_and_feedforward():
    sym = np.random.default_rng(3).normal(size=(20, 20))
    sym = (sym + sym.T) / 2
    m = wm.schur_modes(sym, c=3.0, reference_sd=0.1)
    assert m["nonnormal_fraction"] < 1e-7 and m["n_significant_modes"] == 0
    chain = np.diag(np.ones(9), 1)  # a nilpotent feed-forward chain
    m = wm.schur_modes(chain, c=2.0, reference=sym)
    assert abs(m["nonnormal_fraction"] - 1.0) < 1e-9
    w = np.random.default_rng(4).normal(size=(30, 30)) / 5
    m = wm.schur_modes(w, c=1.0, reference_sd=0.05)
    lam = np.linalg.eigvals(w)
    henrici = np.sqrt(max(np.linalg.norm(w) ** 2 - np.sum(np.abs(lam) ** 2), 0.0))
    np.testing.assert_allclose(m["nonnormal_fraction"], henrici / np.linalg.norm(w), rtol=1e-7)
    np.testing.assert_allclose(m["frequency"], np.abs(np.angle(m["eigenvalues"])), atol=1e-12)
    assert m["threshold"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="reference"):
        wm.schur_modes(w, c=1.0)


def test_weight_profile_and_peak_order(rng):
    w = rng.normal(size=(25, 25))
    order = rng.permutation(25)[:18]
    got = wm.weight_profile(w, order, 5)
    mean, sd, count = ref.weight_profile(w, order, 5)
    np.testing.assert_array_equal(got["offsets"], np.arange(-5, 6))
    np.testing.assert_allclose(got["mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(got["sd"], sd, rtol=1e-12)
    np.testing.assert_array_equal(got["count"], count)
    a = sequence_activity(rng)
    avg = a.mean(0)
    active = np.flatnonzero(avg.mean(0) > 0.1)
    want = active[np.argsort(np.argmax(avg[:, active], axis=0), kind="stable")]
    np.testing.assert_array_equal(wm.trial_averaged_peak_order(a), want)
    np.testing.assert_array_equal(wm.peak_time_order(a[0]), np.argsort(np.argmax(a[0], axis=0), kind="stable"))


def test_ring_measures(rng):
    dirs = np.arange(8) * 2 * np.pi / 8
    act = rng.random((30, 8))
    want = np.mod(np.arctan2(act @ np.sin(dirs), act @ np.cos(dirs)), 2 * np.pi)
    np.testing.assert_allclose(wm.population_vector_decode(act, dirs), want, rtol=1e-12)
    tuning = rng.random((5, 8))
    p = wm.preferred_directions(tuning, dirs)
    res = tuning @ np.exp(1j * dirs)
    np.testing.assert_allclose(p["direction_rad"], np.mod(np.angle(res), 2 * np.pi), rtol=1e-12)
    np.testing.assert_allclose(p["selectivity"], np.abs(res) / np.abs(tuning).sum(1), rtol=1e-12)
    al = wm.align_tuning(tuning)
    best = tuning.argmax(1)
    np.testing.assert_array_equal(al["preferred"], best)
    # Column j holds location (best + offset_j) mod 8, offsets -4..4.
    for u in range(5):
        np.testing.assert_array_equal(al["curves"][u], tuning[u, (best[u] + np.arange(-4, 5)) % 8])
    np.testing.assert_allclose(al["offsets_rad"], np.arange(-4, 5) * 2 * np.pi / 8)
    th = rng.uniform(-10, 10, 50)
    d = wm.signed_deviation(th, np.array([1.0]))
    want = -np.mod(-(th - 1.0) + np.pi, 2 * np.pi) + np.pi  # in (-pi, pi]
    np.testing.assert_allclose(d, want, atol=1e-12)
    assert np.all((d > -np.pi) & (d <= np.pi))


def test_statistics_match_scipy(rng):
    x, y = rng.normal(0.3, 1, 25), rng.normal(0, 2, 31)
    for kind, sp in (("welch", scipy.stats.ttest_ind(x, y, equal_var=False)), ("student", scipy.stats.ttest_ind(x, y))):
        r = wm.ttest(x, y, kind=kind)
        assert r["statistic"] == pytest.approx(sp.statistic, rel=1e-10)
        assert r["p_value"] == pytest.approx(sp.pvalue, rel=1e-8)
    r = wm.ttest(x, y[:25], kind="paired")
    sp = scipy.stats.ttest_rel(x, y[:25])
    assert (r["statistic"], r["p_value"]) == (pytest.approx(sp.statistic, rel=1e-10), pytest.approx(sp.pvalue, rel=1e-8))
    r = wm.ttest(x, kind="one_sample", mu=0.1)
    assert r["statistic"] == pytest.approx(scipy.stats.ttest_1samp(x, 0.1).statistic, rel=1e-10)
    ties = np.round(y, 0)
    for b in (y, ties):
        r = wm.mann_whitney_u(x, b)
        sp = scipy.stats.mannwhitneyu(x, b, alternative="two-sided", method="asymptotic")
        assert r["u"] == sp.statistic
        assert r["p_value"] == pytest.approx(sp.pvalue, rel=1e-8)
        assert r["prob_superiority"] == pytest.approx(sp.statistic / (len(x) * len(b)), rel=1e-12)
    groups = [rng.normal(m, 1, n) for m, n in ((0, 10), (0.5, 12), (1, 9))]
    a = wm.anova_one_way(*groups)
    sp = scipy.stats.f_oneway(*groups)
    assert (a["f"], a["p_value"]) == (pytest.approx(sp.statistic, rel=1e-10), pytest.approx(sp.pvalue, rel=1e-8))
    z = 2 * x + np.random.default_rng(5).normal(size=25)
    c = wm.pearson(x, z)
    sp = scipy.stats.pearsonr(x, z)
    assert (c["r"], c["p_value"]) == (pytest.approx(sp.statistic, rel=1e-10), pytest.approx(sp.pvalue, rel=1e-8))
    lo, hi = sp.confidence_interval(0.95)
    assert c["ci"] == (pytest.approx(lo, rel=1e-8), pytest.approx(hi, rel=1e-8))
    ms = wm.mean_sem(x)
    assert ms["sem"] == pytest.approx(scipy.stats.sem(x), rel=1e-12)
    # OLS: coefficients, classical standard errors, Wald p-values.
    design = np.column_stack([np.ones(40), rng.normal(size=40), rng.normal(size=40)])
    yy = design @ [1.0, 2.0, -0.5] + rng.normal(size=40)
    fit = wm.ols(design, yy, names=["intercept", "a", "b"])
    beta, rss, *_ = np.linalg.lstsq(design, yy, rcond=None)
    sigma2 = rss[0] / 37
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(design.T @ design)))
    np.testing.assert_allclose(fit["coefficients"], beta, rtol=1e-10)
    np.testing.assert_allclose(fit["std_errors"], se, rtol=1e-9)
    np.testing.assert_allclose(fit["p_values"], 2 * scipy.stats.t.sf(np.abs(beta / se), 37), rtol=1e-7)
    assert fit["names"] == ["intercept", "a", "b"] and fit["residual_df"] == 37
    np.testing.assert_allclose(wm.ols(design[:, 1:], yy, intercept=True)["coefficients"], beta, rtol=1e-10)
