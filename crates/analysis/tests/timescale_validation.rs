//! Validation of the timescale estimators on data with a known answer.
//!
//! Spike counts are Poisson with a rate `r(t) = r₀ (1 + m·x(t))` where x is
//! an Ornstein–Uhlenbeck process of unit variance and timescale τ, simulated
//! here independently of the library (exact updates every 5 ms, the rate
//! integrated over each 50-ms bin, `rand_distr`'s Poisson sampler). With
//! m = 0.5 the rate is negative (and clipped) 2 % of the time, so the
//! count autocorrelation at lags ≥ 1 bin is, to that precision, a single
//! exponential with the true τ (the integral of an OU process over adjacent
//! bins has covariance ∝ exp(−k·bin/τ), Uhlenbeck & Ornstein 1930).
//!
//! Checked (fixed seeds): (a) the default estimator's bias grows with
//! τ / window; (b) the corrected median is within 10 % of the true τ in
//! every case, with fewer units lost than the default pipeline; (c) the
//! bootstrap intervals cover the true τ at their nominal rate ±5 points over
//! 200 units; (d) the two-timescale model is chosen, with both timescales
//! recovered, when the truth has two, and rarely when it has one.

use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use wm_analysis::timescale::{
    TimescaleModel, TimescaleParams, TimescalesWithUncertainty, UncertaintyOptions,
    autocorrelation_timescales, seeded_rng, timescales_with_uncertainty,
};

const BIN_MS: f64 = 50.0;

/// `[units, trials, bins]` Poisson counts whose rate is `rate_hz` × (1 + Σ mᵢ xᵢ)
/// for independent OU processes xᵢ with timescales `taus[i]` and
/// modulations `mods[i]` (clipped at 0).
fn ou_counts(
    units: usize,
    trials: usize,
    bins: usize,
    taus: &[f64],
    mods: &[f64],
    rate_hz: f64,
    seed: u64,
) -> Array3<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dt = 5.0;
    let sub = (BIN_MS / dt) as usize;
    let phi: Vec<f64> = taus.iter().map(|t| (-dt / t).exp()).collect();
    let innov: Vec<f64> = phi.iter().map(|p| (1.0 - p * p).sqrt()).collect();
    let mut out = Array3::zeros((units, trials, bins));
    let mut x = vec![0.0; taus.len()];
    for mut unit in out.outer_iter_mut() {
        for mut trial in unit.outer_iter_mut() {
            for xi in x.iter_mut() {
                *xi = rng.sample(StandardNormal);
            }
            for c in trial.iter_mut() {
                let mut lambda = 0.0;
                for _ in 0..sub {
                    let m: f64 = x.iter().zip(mods).map(|(xi, mi)| xi * mi).sum();
                    lambda += (rate_hz * (1.0 + m)).max(0.0) * dt / 1000.0;
                    for i in 0..x.len() {
                        let z: f64 = rng.sample(StandardNormal);
                        x[i] = phi[i] * x[i] + innov[i] * z;
                    }
                }
                *c = if lambda > 0.0 {
                    Poisson::new(lambda).unwrap().sample(&mut rng)
                } else {
                    0.0
                };
            }
        }
    }
    out
}

fn params_for(bins: usize) -> TimescaleParams {
    // Lags up to the window (at most the paper's 650 ms).
    TimescaleParams {
        max_lag_ms: ((bins - 1).min(13)) as f64 * BIN_MS,
        ..TimescaleParams::default()
    }
}

/// The timescales with `opts` of counts on `bins` bins ([`params_for`]),
/// resampled from `seed`.
fn with_uncertainty(
    c: &Array3<f64>,
    bins: usize,
    opts: &UncertaintyOptions,
    seed: u64,
) -> TimescalesWithUncertainty {
    timescales_with_uncertainty(c.view(), &params_for(bins), opts, &mut seeded_rng(seed)).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

#[test]
fn uncorrected_bias_grows_with_tau_over_window() {
    // Ten bins (a 500-ms window), 100 trials, 200 units per τ.
    let mut ratios = Vec::new();
    for (i, tau) in [50.0, 100.0, 200.0].into_iter().enumerate() {
        let c = ou_counts(200, 100, 10, &[tau], &[0.5], 20.0, 10 + i as u64);
        let fits = autocorrelation_timescales(c.view(), &params_for(10)).unwrap();
        let taus: Vec<f64> = fits.iter().filter_map(|f| f.tau_ms).collect();
        ratios.push(median(taus) / tau);
    }
    // Median estimate over true τ falls as τ / window grows, and is well
    // below 1 at τ = 200 ms (the observation: ~0.5).
    assert!(
        ratios[0] > ratios[1] && ratios[1] > ratios[2],
        "ratios {ratios:?}"
    );
    assert!(ratios[2] < 0.75, "ratios {ratios:?}");
}

#[test]
fn corrected_median_within_ten_percent_and_fewer_units_lost() {
    // (τ ms, bins, trials): τ / window 0.05 to 0.2. With ten bins or 30
    // trials the corrected median varies by ±15 % between data sets of 300
    // units (see the report of `cargo xtask timescales-validation`).
    let cases = [(50.0, 20, 100), (100.0, 15, 200), (200.0, 20, 100)];
    let opts = UncertaintyOptions {
        bias_correct: true,
        ..UncertaintyOptions::default()
    };
    for (i, &(tau, bins, trials)) in cases.iter().enumerate() {
        let units = 300;
        let c = ou_counts(units, trials, bins, &[tau], &[0.5], 20.0, 20 + i as u64);
        let r = with_uncertainty(&c, bins, &opts, i as u64);
        let corrected: Vec<f64> = r.units.iter().filter_map(|u| u.tau_corrected_ms).collect();
        let default = r.units.iter().filter(|u| u.base.tau_ms.is_some()).count();
        let med = median(corrected.clone());
        assert!(
            (med / tau - 1.0).abs() < 0.10,
            "τ {tau}, {bins} bins, {trials} trials: corrected median {med}"
        );
        assert!(
            corrected.len() > default,
            "τ {tau}: corrected {} units, default {default}",
            corrected.len()
        );
    }
}

#[test]
fn pooled_tau_is_within_ten_percent_on_twenty_bins() {
    // The τ of the units' mean autocorrelation, 200 units × 20 bins × 100
    // or 200 trials: the fit to the mean is within 10 % of the truth and
    // the 90 % interval holds it. (On ten bins or 30 trials its interval spans ±25 %: see the
    // report of `cargo xtask timescales-validation`.)
    let cases = [(50.0, 20, 100), (100.0, 20, 200), (200.0, 20, 100)];
    let opts = UncertaintyOptions {
        bias_correct: true,
        ci_level: Some(0.9),
        resamples: 100,
        ..UncertaintyOptions::default()
    };
    for (i, &(tau, bins, trials)) in cases.iter().enumerate() {
        let c = ou_counts(200, trials, bins, &[tau], &[0.5], 20.0, 40 + i as u64);
        let r = with_uncertainty(&c, bins, &opts, i as u64);
        let p = &r.population.pooled;
        assert_eq!(p.n_units, 200);
        let t = p.tau_ms.expect("a pooled τ");
        let (lo, hi) = (p.ci_low_ms.unwrap(), p.ci_high_ms.unwrap());
        let what = format!("τ {tau}, {bins} bins, {trials} trials: pooled {t} ({lo}–{hi})");
        assert!((t / tau - 1.0).abs() < 0.10, "{what}");
        assert!(lo <= tau && tau <= hi && lo <= t && t <= hi, "{what}");
    }
}

#[test]
fn bootstrap_intervals_cover_at_the_nominal_rate() {
    let (tau, units) = (100.0, 200);
    let c = ou_counts(units, 60, 15, &[tau], &[0.5], 20.0, 31);
    let opts = UncertaintyOptions {
        bias_correct: true,
        ci_level: Some(0.9),
        resamples: 100,
        ..UncertaintyOptions::default()
    };
    let r = with_uncertainty(&c, 15, &opts, 5);
    let with_ci: Vec<_> = r
        .units
        .iter()
        .filter(|u| u.tau_ci_low_ms.is_some())
        .collect();
    assert!(
        with_ci.len() >= 190,
        "{} units with an interval",
        with_ci.len()
    );
    let covered = with_ci
        .iter()
        .filter(|u| u.tau_ci_low_ms.unwrap() <= tau && tau <= u.tau_ci_high_ms.unwrap())
        .count();
    let coverage = covered as f64 / with_ci.len() as f64;
    assert!((coverage - 0.9).abs() <= 0.05, "coverage {coverage}");
    // The population interval brackets the population mean estimate.
    let p = &r.population;
    assert!(p.ci_low_ms.unwrap() <= p.mean_tau_ms && p.mean_tau_ms <= p.ci_high_ms.unwrap());
}

#[test]
fn two_timescales_are_recovered_when_the_truth_has_two() {
    let opts = UncertaintyOptions {
        two_timescales: true,
        ..UncertaintyOptions::default()
    };
    // Every lag the 20 bins allow (950 ms).
    let params = TimescaleParams {
        max_lag_ms: 950.0,
        ..TimescaleParams::default()
    };
    // Two OU processes, 80 and 600 ms.
    const TAU1: f64 = 80.0;
    const TAU2: f64 = 600.0;
    let two = ou_counts(60, 200, 20, &[TAU1, TAU2], &[0.5, 0.3], 80.0, 41);
    let r = timescales_with_uncertainty(two.view(), &params, &opts, &mut seeded_rng(1)).unwrap();
    let chosen: Vec<_> = r
        .units
        .iter()
        .filter_map(|u| u.two.as_ref())
        .filter(|t| t.model == TimescaleModel::Two)
        .filter_map(|t| t.fit)
        .collect();
    assert!(
        chosen.len() * 5 >= r.units.len() * 2,
        "{} of {} chose two",
        chosen.len(),
        r.units.len()
    );
    // Both timescales found, within a factor of two (the two-exponential
    // fit is not bias-corrected: on 20 bins both come out low, as the single
    // τ does), and well apart.
    let t1 = median(chosen.iter().map(|f| f.tau1_ms).collect());
    let t2 = median(chosen.iter().map(|f| f.tau2_ms).collect());
    assert!(t1 > TAU1 / 2.0 && t1 < TAU1 * 2.0, "τ1 {t1}");
    assert!(t2 > TAU2 / 2.0 && t2 < TAU2 * 2.0, "τ2 {t2}");
    assert!(t2 > 3.0 * t1, "τ1 {t1}, τ2 {t2}");
    // The population's mean autocorrelation chooses two, with τ1 within
    // 20 % and τ2 (longer than half the 1-s window) within a factor of two,
    // as per unit.
    let pooled = r.population.pooled.two.as_ref().expect("a pooled fit");
    let f = pooled.fit.expect("a pooled two-exponential fit");
    assert_eq!(pooled.model, TimescaleModel::Two, "{pooled:?}");
    assert!((f.tau1_ms / TAU1 - 1.0).abs() < 0.2, "{f:?}");
    assert!(f.tau2_ms > TAU2 / 2.0 && f.tau2_ms < TAU2 * 2.0, "{f:?}");
    // One OU process (same rate and design): the single exponential is kept
    // for at least four units in five.
    let one = ou_counts(60, 200, 20, &[200.0], &[0.5], 80.0, 42);
    let r = timescales_with_uncertainty(one.view(), &params, &opts, &mut seeded_rng(2)).unwrap();
    let n_two = r.units.iter().filter(|u| u.chose_two()).count();
    assert!(
        n_two * 5 < r.units.len(),
        "{n_two} of {} chose two",
        r.units.len()
    );
    let pooled = r.population.pooled.two.as_ref().expect("a pooled fit");
    assert_eq!(pooled.model, TimescaleModel::One, "{pooled:?}");
}
