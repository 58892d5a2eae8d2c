//! Bias-corrected timescales, bootstrap confidence intervals and the
//! two-timescale model: [`timescales_with_uncertainty`].
//!
//! ## The raw statistic
//!
//! Per unit: the across-trial autocorrelation at lags 1..=K bins, the start
//! after the first decrease (clamped so that 3 lags remain; no late-peak
//! exclusion), and the τ of `a·exp(−Δ/τ) + c` minimising the residual sum
//! of squares weighted by the number of bin pairs averaged at each lag
//! (`bins − k`), over `[tau_min_ms, tau_max_ms]`, by variable projection
//! ([`super::profile::fit_one_exponential`]). This is the estimator of
//! Murray et al. (2014, Nat. Neurosci. 17:1661, Fig. 1 and Methods) with the
//! model of the default pipeline; the weights lower its variance on short
//! trials (the last lags average few pairs), and the bounded global search
//! means it never fails; `a = 0` means no decay.
//!
//! ## Bias correction (indirect inference, after Zeraati et al. 2022)
//!
//! On short trials the fitted τ is biased (low for long τ: the offset
//! absorbs the tail of the decay, and the default pipeline's τ ≤ 500 ms rule
//! drops the largest estimates) and widely spread. Zeraati, Engel & Levina
//! (2022, Nat. Comput. Sci. 2:193, Fig. 1–2) fit a generative model by
//! approximate Bayesian computation so that summary statistics of surrogate
//! data match the data's. Here the generative model is
//! [`super::surrogate::OuPoissonModel`] and the summary statistic is the raw
//! τ itself (indirect inference: Gouriéroux, Monfort & Renault 1993):
//!
//! 1. surrogates are simulated with the data's trial count, bin count and
//!    bin width, the population's median mean count per bin and median
//!    autocorrelation offset, on a grid of τ (log-spaced over the range) ×
//!    level of the autocorrelation at the start lag (log-spaced over the
//!    5th–95th percentiles of the units' own levels, widened to at least a
//!    factor 1.2: this level, against the Poisson variance, sets a unit's
//!    signal-to-noise ratio and thus its dispersion, Fano factor
//!    `1/(1 − a − c)`), and analysed by the same estimator (1,024 data sets
//!    per cell by default); the median raw log τ in each cell is the
//!    calibration;
//!    every cell uses the same random numbers (common random numbers), so
//!    the calibration is smooth across cells. One calibration serves all
//!    units of a call (its cost does not grow with the number of units);
//! 2. a unit's curve g(τ) is the calibration interpolated (in log level) at
//!    the unit's own autocorrelation at its start lag, restricted to the τ
//!    between its lowest and highest value (outside, decays faster than a
//!    bin or slower than the window leave the estimate uninformative) and
//!    made monotone (pool-adjacent-violators);
//! 3. the corrected τ is g⁻¹(raw τ of the data) (linear interpolation in
//!    log–log): the τ whose surrogates give, in median, the data's estimate,
//!    which makes it median-unbiased when the model holds. A data estimate
//!    beyond g's range gives the range's end, flagged as a bound
//!    ([`UnitUncertainty::corrected_at_bound`]); no decay is
//!    [`Exclusion::NegativeAmplitude`].
//!
//! Assumptions: trials are independent and stationary within the window;
//! the rate is one autocorrelated (exponential) process plus a per-trial
//! offset, small enough that the rate rarely reaches 0; spiking is Poisson
//! given the rate; units differ from the population mainly in their
//! autocorrelation level (their mean count and offset enter only through
//! the population medians). A unit violating these (bursting, oscillations,
//! drifts) is corrected for a model that does not describe it. Where the
//! window is short for the τ (τ/window ≳ 0.4) the estimate carries little
//! information about τ and the correction, though centred, is imprecise.
//!
//! ## Confidence intervals
//!
//! Trials are resampled with replacement (Efron & Tibshirani 1993, ch. 13);
//! the same resampled trial indices serve every unit, so the interval of the
//! population mean keeps the dependence between units recorded together.
//! With bias correction, each resample's raw τ is mapped through the unit's
//! g⁻¹ (clamped to the range); without, each resample runs the default
//! pipeline and resamples whose fit is excluded are dropped. The interval is
//! the percentile interval of those values at the level asked for. The
//! population interval is the percentile interval of the mean over units.
//! With correction, an interval end that falls on an end of the unit's
//! informative range is widened to the searched range (`tau_min_ms` or
//! `tau_max_ms`): resamples clamped there say only "at most" or "at least"
//! that τ, so the interval must not exclude shorter or longer ones.
//!
//! ## The pooled τ
//!
//! Beside the per-unit estimates, the same weighted single-exponential fit
//! is made to the units' mean autocorrelation (units with finite counts and
//! autocorrelation) — the population estimate of Murray et al. (2014,
//! Fig. 1) — with a percentile interval over the same trial resamples.
//! Averaging before fitting leaves little of the bias that fitting each
//! unit's noisy curve has, so it is not corrected: on Ornstein–Uhlenbeck
//! counts of one τ, 1,000 units per design, it was 0.93–1.05 × τ in 17 of
//! 18 designs and 1.15 × τ on ten bins with 30 trials at τ = 200 ms, while
//! the default pipeline's median of per-unit fits was 0.42–1.14 × τ
//! (`cargo xtask timescales-validation` shows the estimates side by side).
//! With units of
//! different τ it is one effective timescale of the mixture, not a median
//! unit's. With two timescales asked for, the two-exponential model below is
//! also fitted to the mean autocorrelation: where single units rarely carry
//! enough signal for BIC to prefer it, the population often does.
//!
//! ## Two timescales
//!
//! `a₁·exp(−Δ/τ₁) + a₂·exp(−Δ/τ₂) + c` is fitted beside the single
//! exponential `a·exp(−Δ/τ) + c` (both with c ≥ 0, the variance of a
//! per-trial offset) on the same lags with the same weights
//! ([`super::profile::fit_two_exponentials`]; at least 6 lags) and chosen
//! when its Bayesian information criterion `n ln(RSS/n) + k ln n` (Schwarz
//! 1978; weighted RSS, k = 3 or 5) is lower. BIC rather
//! than AIC because neighbouring autocorrelation lags have correlated errors,
//! which makes AIC favour the larger model.

use ndarray::{Array2, ArrayView2, ArrayView3, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::profile::{TwoExpFit, fit_one_exponential, fit_two_exponentials};
use super::surrogate::{OuPoissonModel, SurrogateNoise};
use super::{
    Exclusion, TimescaleParams, UnitTimescale, check_shape, spike_count_autocorrelation,
    start_index, unit_timescale,
};
use crate::error::{AnalysisError, Result};

/// Settings of the bias correction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrectionParams {
    /// Smallest τ searched and calibrated, ms (> 0). Default 10.
    pub tau_min_ms: f64,
    /// Largest τ searched and calibrated, ms (> `tau_min_ms`). Default 2000.
    pub tau_max_ms: f64,
    /// Grid points in τ of the calibration (≥ 3). Default 12.
    pub grid_points: usize,
    /// Grid points in autocorrelation level of the calibration (≥ 1),
    /// log-spaced over the 5th–95th percentiles of the units' levels.
    /// Default 4.
    pub amplitude_levels: usize,
    /// Surrogate data sets per grid cell (≥ 1). Default 1024.
    pub surrogates: usize,
}

impl Default for CorrectionParams {
    fn default() -> Self {
        Self {
            tau_min_ms: 10.0,
            tau_max_ms: 2000.0,
            grid_points: 12,
            amplitude_levels: 4,
            surrogates: 1024,
        }
    }
}

/// What [`timescales_with_uncertainty`] computes beside the default pipeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncertaintyOptions {
    /// Confidence level of the bootstrap intervals, in (0, 1); `None`: none.
    pub ci_level: Option<f64>,
    /// Bootstrap resamples of trials (≥ 20). Default 200.
    pub resamples: usize,
    /// Bias-correct τ by simulation (module docs).
    pub bias_correct: bool,
    /// Fit two timescales and choose a model by BIC.
    pub two_timescales: bool,
    /// Settings of the correction (and of the raw statistic's τ range).
    pub correction: CorrectionParams,
}

impl Default for UncertaintyOptions {
    fn default() -> Self {
        Self {
            ci_level: None,
            resamples: 200,
            bias_correct: false,
            two_timescales: false,
            correction: CorrectionParams::default(),
        }
    }
}

impl UncertaintyOptions {
    /// Check every option.
    pub fn validate(&self) -> Result<()> {
        if let Some(l) = self.ci_level
            && !(l > 0.0 && l < 1.0)
        {
            return Err(AnalysisError::invalid("ci_level", l, "0 < level < 1"));
        }
        if !(20..=100_000).contains(&self.resamples) {
            return Err(AnalysisError::invalid(
                "resamples",
                self.resamples,
                "20 ..= 100000",
            ));
        }
        let c = &self.correction;
        if !(c.tau_min_ms.is_finite() && c.tau_min_ms > 0.0) {
            return Err(AnalysisError::invalid(
                "tau_min_ms",
                c.tau_min_ms,
                "finite and > 0",
            ));
        }
        if !(c.tau_max_ms.is_finite() && c.tau_max_ms > c.tau_min_ms * 1.01) {
            return Err(AnalysisError::invalid(
                "tau_max_ms",
                c.tau_max_ms,
                format!("finite and > 1.01 * tau_min_ms = {}", 1.01 * c.tau_min_ms),
            ));
        }
        if !(3..=1000).contains(&c.grid_points) {
            return Err(AnalysisError::invalid(
                "grid_points",
                c.grid_points,
                "3 ..= 1000",
            ));
        }
        if !(1..=100).contains(&c.amplitude_levels) {
            return Err(AnalysisError::invalid(
                "amplitude_levels",
                c.amplitude_levels,
                "1 ..= 100",
            ));
        }
        if !(1..=10_000).contains(&c.surrogates) {
            return Err(AnalysisError::invalid(
                "surrogates",
                c.surrogates,
                "1 ..= 10000",
            ));
        }
        Ok(())
    }
}

/// Which autocorrelation model BIC chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TimescaleModel {
    /// `a·exp(−Δ/τ) + c`.
    One,
    /// `a₁·exp(−Δ/τ₁) + a₂·exp(−Δ/τ₂) + c`.
    Two,
}

impl TimescaleModel {
    /// `"one"` or `"two"`, as tables and the Python bindings write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::One => "one",
            Self::Two => "two",
        }
    }
}

/// The two-timescale analysis of one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TwoTimescales {
    /// The two-exponential fit, when one with two positive amplitudes exists.
    pub fit: Option<TwoExpFit>,
    /// BIC of the single exponential.
    pub bic_one: f64,
    /// BIC of the two exponentials (+∞ without a fit).
    pub bic_two: f64,
    /// The model with the lower BIC.
    pub model: TimescaleModel,
}

/// One unit: the default pipeline's result plus the optional analyses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitUncertainty {
    /// The default pipeline, exactly as [`super::autocorrelation_timescales`].
    pub base: UnitTimescale,
    /// Raw statistic: the weighted least-squares τ over the correction range, ms (NaN
    /// when the autocorrelation has NaN or the counts are not finite).
    pub tau_raw_ms: f64,
    /// Bias-corrected τ, ms (`None` without correction or when excluded).
    pub tau_corrected_ms: Option<f64>,
    /// Why the corrected τ is missing (when correction was asked for).
    pub corrected_exclusion: Option<Exclusion>,
    /// The data's raw τ lay beyond the range over which the surrogates'
    /// estimates follow τ, so `tau_corrected_ms` is that range's end: a
    /// bound (τ at most the lower end, or at least the upper end).
    pub corrected_at_bound: bool,
    /// Lower end of the bootstrap interval of τ (corrected τ when correcting,
    /// else the default τ), ms.
    pub tau_ci_low_ms: Option<f64>,
    /// Upper end of the bootstrap interval, ms.
    pub tau_ci_high_ms: Option<f64>,
    /// Two-timescale fit and model choice (when asked for and ≥ 6 lags fit).
    pub two: Option<TwoTimescales>,
}

impl UnitUncertainty {
    /// Whether BIC chose two timescales (`false` without a two-timescale fit).
    pub fn chose_two(&self) -> bool {
        self.two
            .as_ref()
            .is_some_and(|t| t.model == TimescaleModel::Two)
    }

    /// The chosen model's [`TimescaleModel::name`], `""` without a two-timescale fit.
    pub fn model_name(&self) -> &'static str {
        self.two.as_ref().map_or("", |t| t.model.name())
    }
}

/// Population mean τ with its bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopulationTimescale {
    /// Units contributing (with a τ: corrected when correcting).
    pub n_units: usize,
    /// Mean τ over them, ms (NaN if none).
    pub mean_tau_ms: f64,
    /// Lower end of the interval of the mean, ms (None without CI).
    pub ci_low_ms: Option<f64>,
    /// Upper end, ms.
    pub ci_high_ms: Option<f64>,
    /// τ of the units' mean autocorrelation (module docs, "The pooled τ").
    pub pooled: PooledTimescale,
}

/// The τ fitted to the units' mean autocorrelation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledTimescale {
    /// Units averaged (finite counts and autocorrelation).
    pub n_units: usize,
    /// τ of the weighted single-exponential fit to the mean autocorrelation
    /// over `[tau_min_ms, tau_max_ms]` of the correction settings, ms (None
    /// without units or without a decay).
    pub tau_ms: Option<f64>,
    /// Lower end of the bootstrap interval, ms (None without CI).
    pub ci_low_ms: Option<f64>,
    /// Upper end, ms.
    pub ci_high_ms: Option<f64>,
    /// The two-timescale fit to the mean autocorrelation and BIC's choice
    /// (when asked for and ≥ 6 lags fit).
    pub two: Option<TwoTimescales>,
}

/// Result of [`timescales_with_uncertainty`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimescalesWithUncertainty {
    /// One entry per unit, in order.
    pub units: Vec<UnitUncertainty>,
    /// Population mean τ and interval.
    pub population: PopulationTimescale,
}

/// A monotone calibration curve: grid log τ → median raw log τ.
struct Calibration {
    log_tau: Vec<f64>,
    g: Vec<f64>,
}

impl Calibration {
    /// The informative range of a curve over the τ grid: from the grid τ
    /// where the median statistic is lowest to where it is highest
    /// (outside, the surrogates' decay is lost in noise, below one bin or
    /// beyond the window, and their estimates carry no information about
    /// τ), made monotone. None with fewer than 3 points.
    fn informative(log_tau: &[f64], g: &[f64]) -> Option<Self> {
        let lowest = (0..g.len()).min_by(|&a, &b| g[a].total_cmp(&g[b]))?;
        let highest = (lowest..g.len()).max_by(|&a, &b| g[a].total_cmp(&g[b]))?;
        (highest + 1 - lowest >= 3).then(|| Self {
            g: isotonic(&g[lowest..=highest]),
            log_tau: log_tau[lowest..=highest].to_vec(),
        })
    }

    /// An interval of corrected τ (ms) whose end lies at an end of the
    /// informative range, widened there to the searched range's end: values
    /// clamped to the range's end say only "at least" (or "at most") that τ,
    /// so longer (shorter) τ cannot be excluded.
    fn open_at_ends(&self, (lo, hi): (f64, f64), c: &CorrectionParams) -> (f64, f64) {
        let first = self.log_tau[0].exp();
        let last = self.log_tau[self.log_tau.len() - 1].exp();
        let lo = if lo <= first * (1.0 + 1e-9) {
            c.tau_min_ms.min(lo)
        } else {
            lo
        };
        let hi = if hi >= last * (1.0 - 1e-9) {
            c.tau_max_ms.max(hi)
        } else {
            hi
        };
        (lo, hi)
    }

    /// g⁻¹(v): None when v lies outside [g₀, g_last] (and `clamp` is false).
    fn invert(&self, v: f64, clamp: bool) -> Option<f64> {
        let n = self.g.len();
        if v < self.g[0] {
            return clamp.then_some(self.log_tau[0]);
        }
        if v > self.g[n - 1] {
            return clamp.then_some(self.log_tau[n - 1]);
        }
        let j = self.g.iter().position(|&g| g >= v).unwrap_or(n - 1);
        if j == 0 {
            return Some(self.log_tau[0]);
        }
        let (g0, g1) = (self.g[j - 1], self.g[j]);
        let (l0, l1) = (self.log_tau[j - 1], self.log_tau[j]);
        if g1 <= g0 {
            return Some(l1);
        }
        Some(l0 + (l1 - l0) * (v - g0) / (g1 - g0))
    }
}

/// Pool-adjacent-violators: the non-decreasing least-squares fit of `y`.
fn isotonic(y: &[f64]) -> Vec<f64> {
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for &v in y {
        blocks.push((v, 1));
        while blocks.len() > 1 {
            let (b, nb) = blocks[blocks.len() - 1];
            let (a, na) = blocks[blocks.len() - 2];
            if a <= b {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = ((a * na as f64 + b * nb as f64) / (na + nb) as f64, na + nb);
        }
    }
    blocks
        .into_iter()
        .flat_map(|(v, n)| std::iter::repeat_n(v, n))
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Percentile (linear interpolation between order statistics, as numpy's
/// default) of sorted `v` at probability `p`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let h = p * (n - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The percentile interval at `level` of the finite values, when at least
/// half of them are finite.
fn percentile_interval(values: &[f64], level: f64) -> Option<(f64, f64)> {
    let mut ok: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if ok.is_empty() || 2 * ok.len() < values.len() {
        return None;
    }
    ok.sort_by(f64::total_cmp);
    let alpha = 1.0 - level;
    Some((
        percentile(&ok, 0.5 * alpha),
        percentile(&ok, 1.0 - 0.5 * alpha),
    ))
}

/// Running lag-wise sum of autocorrelations, for their mean over units
/// (ones with a non-finite lag are left out).
#[derive(Debug, Clone, Default)]
struct AutocorrelationSum {
    sum: Vec<f64>,
    n: usize,
}

impl AutocorrelationSum {
    fn add(&mut self, ac: &[f64]) {
        if ac.is_empty() || ac.iter().any(|v| !v.is_finite()) {
            return;
        }
        if self.sum.is_empty() {
            self.sum = vec![0.0; ac.len()];
        }
        for (s, v) in self.sum.iter_mut().zip(ac) {
            *s += v;
        }
        self.n += 1;
    }

    /// The mean, None without any autocorrelation added.
    fn mean(&self) -> Option<Vec<f64>> {
        (self.n > 0).then(|| self.sum.iter().map(|s| s / self.n as f64).collect())
    }
}

/// Start lag (1-based) of the raw statistic: the start-after-first-decrease
/// rule, clamped so that at least 3 lags remain.
fn raw_start(ac: &[f64]) -> usize {
    start_index(ac).min(ac.len() - 2)
}

/// Weights of the raw statistic's fit at lags m..=K: the number of bin
/// pairs averaged at each lag, `bins − k` (the inverse of the variance of
/// the lag's autocorrelation, were the pairs independent).
fn pair_weights(m: usize, k: usize, bins: usize) -> Vec<f64> {
    (m..=k)
        .map(|j| bins.saturating_sub(j).max(1) as f64)
        .collect()
}

/// The raw statistic of an autocorrelation: (log τ, a), or None for NaN.
fn raw_statistic(ac: &[f64], bins: usize, bin_ms: f64, c: &CorrectionParams) -> Option<(f64, f64)> {
    if ac.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let m = raw_start(ac);
    let lags: Vec<f64> = (m..=ac.len()).map(|k| k as f64 * bin_ms).collect();
    let w = pair_weights(m, ac.len(), bins);
    let f = fit_one_exponential(&lags, &ac[m - 1..], &w, c.tau_min_ms, c.tau_max_ms, false);
    Some((f.tau_ms.ln(), f.a))
}

/// Log raw τ of an autocorrelation, with "no decay" read as the top of the
/// range.
fn raw_log_tau_of(ac: &[f64], bins: usize, bin_ms: f64, c: &CorrectionParams) -> Option<f64> {
    raw_statistic(ac, bins, bin_ms, c).map(|(l, a)| if a > 0.0 { l } else { c.tau_max_ms.ln() })
}

/// The calibration shared by all units of a call: median raw log τ of
/// surrogates on a grid of τ (columns) × autocorrelation amplitude (rows).
struct PooledCalibration {
    log_tau: Vec<f64>,
    log_a: Vec<f64>,
    /// `g[row][col]`, NaN where too few surrogates gave a statistic.
    g: Vec<Vec<f64>>,
}

/// Log levels of the start-lag autocorrelation of the calibration grid:
/// `n` log-spaced over [lo, hi].
fn amplitude_levels(n: usize, (lo, hi): (f64, f64)) -> Vec<f64> {
    let (l0, l1) = (lo.ln(), hi.ln());
    (0..n)
        .map(|i| l0 + (l1 - l0) * i as f64 / (n - 1).max(1) as f64)
        .collect()
}

fn tau_grid(c: &CorrectionParams) -> Vec<f64> {
    let (l0, l1) = (c.tau_min_ms.ln(), c.tau_max_ms.ln());
    let n = c.grid_points;
    (0..n)
        .map(|i| l0 + (l1 - l0) * i as f64 / (n - 1) as f64)
        .collect()
}

fn pooled_calibration(
    mean_count: f64,
    offset: f64,
    levels: (f64, f64),
    (trials, bins, k): (usize, usize, usize),
    bin_ms: f64,
    c: &CorrectionParams,
    rng: &mut ChaCha8Rng,
) -> PooledCalibration {
    let log_tau = tau_grid(c);
    let log_a = amplitude_levels(c.amplitude_levels, levels);
    let seeds: Vec<u64> = (0..c.surrogates).map(|_| rng.random()).collect();
    let models: Vec<Option<OuPoissonModel>> = log_a
        .iter()
        .flat_map(|&la| log_tau.iter().map(move |&lt| (la.exp(), lt.exp())))
        .map(|(level, tau)| {
            // Expected autocorrelation at lag 1: a·exp(−bin/τ) + offset = level.
            let tr = offset.clamp(0.0, 0.5 * level);
            let a = ((level - tr) / (-bin_ms / tau).exp()).min(0.9);
            OuPoissonModel::from_correlation(tau, bin_ms, mean_count, a, tr).ok()
        })
        .collect();
    // stats[s][cell]: every cell analyses the same random numbers (common
    // random numbers), drawn once per surrogate.
    let stats: Vec<Vec<f64>> = seeds
        .par_iter()
        .map(|&s| {
            let noise = SurrogateNoise::draw(trials, bins, &mut ChaCha8Rng::seed_from_u64(s));
            let mut buf = vec![0.0; trials * bins];
            models
                .iter()
                .map(|m| {
                    let Some(m) = m else { return f64::NAN };
                    m.counts_from_noise(&noise, &mut buf);
                    ArrayView2::from_shape((trials, bins), &buf)
                        .ok()
                        .map(|v| spike_count_autocorrelation(v, k))
                        .and_then(|ac| raw_log_tau_of(&ac, bins, bin_ms, c))
                        .unwrap_or(f64::NAN)
                })
                .collect()
        })
        .collect();
    let values: Vec<f64> = (0..models.len())
        .map(|cell| {
            let mut v: Vec<f64> = stats
                .iter()
                .map(|row| row[cell])
                .filter(|x| x.is_finite())
                .collect();
            if 2 * v.len() >= seeds.len() {
                median(&mut v)
            } else {
                f64::NAN
            }
        })
        .collect();
    let g: Vec<Vec<f64>> = values
        .chunks(log_tau.len())
        .map(|row| row.to_vec())
        .collect();
    PooledCalibration { log_tau, log_a, g }
}

impl PooledCalibration {
    /// The curve of one unit: g interpolated (in log level, clamped to the
    /// levels) at the unit's autocorrelation at its start lag `r1`, over its
    /// informative range ([`Calibration::informative`]).
    fn unit_curve(&self, r1: f64) -> Option<Calibration> {
        let mut log_tau = Vec::new();
        let mut g = Vec::new();
        let n = self.log_a.len();
        let la = if r1 > 0.0 { r1.ln() } else { f64::NEG_INFINITY };
        for (j, &lt) in self.log_tau.iter().enumerate() {
            let v = if n == 1 || la <= self.log_a[0] {
                self.g[0][j]
            } else if la >= self.log_a[n - 1] {
                self.g[n - 1][j]
            } else {
                let r = self
                    .log_a
                    .iter()
                    .position(|&x| x >= la)
                    .unwrap_or(n - 1)
                    .max(1);
                let w = (la - self.log_a[r - 1]) / (self.log_a[r] - self.log_a[r - 1]);
                (1.0 - w) * self.g[r - 1][j] + w * self.g[r][j]
            };
            if v.is_finite() {
                log_tau.push(lt);
                g.push(v);
            }
        }
        Calibration::informative(&log_tau, &g)
    }
}

/// Everything computed for one unit (before the population summary).
struct UnitWork {
    out: UnitUncertainty,
    /// Per bootstrap resample: the unit's τ (ms), NaN when missing.
    boot: Vec<f64>,
    /// Whether the unit enters the pooled autocorrelation (finite counts
    /// and autocorrelation).
    member: bool,
    /// Per bootstrap resample (members, with intervals): the unit's
    /// autocorrelation.
    boot_ac: Vec<Vec<f64>>,
}

fn analyse_unit(
    counts: ArrayView2<f64>,
    params: &TimescaleParams,
    opts: &UncertaintyOptions,
    resamples: &[Vec<usize>],
    pooled: Option<&PooledCalibration>,
) -> UnitWork {
    let base = unit_timescale(counts, params);
    let (trials, bins) = counts.dim();
    let k = params.max_lag_bins();
    let c = &opts.correction;
    let finite = counts.iter().all(|v| v.is_finite());
    let usable = finite && base.exclusion != Some(Exclusion::LowRate);
    let raw = if usable {
        raw_statistic(&base.autocorrelation, bins, params.bin_ms, c)
    } else {
        None
    };
    let mut out = UnitUncertainty {
        tau_raw_ms: raw.map_or(f64::NAN, |r| r.0.exp()),
        base,
        tau_corrected_ms: None,
        corrected_exclusion: None,
        corrected_at_bound: false,
        tau_ci_low_ms: None,
        tau_ci_high_ms: None,
        two: None,
    };
    let mut calibration = None;
    if opts.bias_correct {
        out.corrected_exclusion = match raw {
            None if !finite => Some(Exclusion::NonFiniteCounts),
            None if !usable => Some(Exclusion::LowRate),
            None => Some(Exclusion::NanAutocorrelation),
            Some((_, a)) if a <= 0.0 => Some(Exclusion::NegativeAmplitude),
            Some((log_tau, _)) => {
                let ac = &out.base.autocorrelation;
                let r1 = ac[raw_start(ac) - 1];
                match pooled.and_then(|p| p.unit_curve(r1)) {
                    None => Some(Exclusion::FitFailed),
                    Some(cal) => {
                        let (lo, hi) = (cal.g[0], cal.g[cal.g.len() - 1]);
                        out.corrected_at_bound = log_tau < lo || log_tau > hi;
                        out.tau_corrected_ms = cal.invert(log_tau, true).map(f64::exp);
                        let e = out
                            .tau_corrected_ms
                            .is_none()
                            .then_some(Exclusion::FitFailed);
                        calibration = Some(cal);
                        e
                    }
                }
            }
        };
    }
    if opts.two_timescales
        && let Some(two) = two_timescales(&out.base.autocorrelation, bins, params.bin_ms, c)
        && usable
    {
        out.two = Some(two);
    }
    // A member of the pooled statistic (the units' mean autocorrelation).
    let member = finite && out.base.autocorrelation.iter().all(|v| v.is_finite());
    let mut boot = Vec::new();
    let mut boot_ac = Vec::new();
    if let Some(level) = opts.ci_level {
        let per_unit = if opts.bias_correct {
            out.tau_corrected_ms.is_some()
        } else {
            out.base.tau_ms.is_some()
        };
        let mut rs = Array2::zeros((trials, bins));
        for idx in resamples.iter().filter(|_| per_unit || member) {
            for (mut row, &t) in rs.axis_iter_mut(Axis(0)).zip(idx) {
                row.assign(&counts.row(t));
            }
            let ac = spike_count_autocorrelation(rs.view(), k);
            if per_unit {
                boot.push(match &calibration {
                    Some(cal) => raw_log_tau_of(&ac, bins, params.bin_ms, c)
                        .and_then(|v| cal.invert(v, true))
                        .map_or(f64::NAN, f64::exp),
                    None => unit_timescale(rs.view(), params).tau_ms.unwrap_or(f64::NAN),
                });
            }
            if member {
                boot_ac.push(ac);
            }
        }
        if per_unit && let Some(ci) = percentile_interval(&boot, level) {
            let (lo, hi) = match &calibration {
                Some(cal) => cal.open_at_ends(ci, c),
                None => ci,
            };
            out.tau_ci_low_ms = Some(lo);
            out.tau_ci_high_ms = Some(hi);
        }
    }
    UnitWork {
        out,
        boot,
        member,
        boot_ac,
    }
}

fn two_timescales(
    ac: &[f64],
    bins: usize,
    bin_ms: f64,
    c: &CorrectionParams,
) -> Option<TwoTimescales> {
    if ac.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let m = raw_start(ac);
    let y = &ac[m - 1..];
    let n = y.len();
    if n < 6 {
        return None;
    }
    let lags: Vec<f64> = (m..=ac.len()).map(|k| k as f64 * bin_ms).collect();
    let w = pair_weights(m, ac.len(), bins);
    let one = fit_one_exponential(&lags, y, &w, c.tau_min_ms, c.tau_max_ms, true);
    let fit = fit_two_exponentials(&lags, y, &w, c.tau_min_ms, c.tau_max_ms);
    let nf = n as f64;
    // A floor on RSS keeps the criterion finite for exact data.
    let floor = 1e-300 + 1e-14 * y.iter().zip(&w).map(|(v, wi)| wi * v * v).sum::<f64>();
    let bic = |rss: f64, k: f64| nf * ((rss + floor) / nf).ln() + k * nf.ln();
    let bic_one = bic(one.rss, 3.0);
    let bic_two = fit.map_or(f64::INFINITY, |f| bic(f.rss, 5.0));
    Some(TwoTimescales {
        fit,
        bic_one,
        bic_two,
        model: if bic_two < bic_one {
            TimescaleModel::Two
        } else {
            TimescaleModel::One
        },
    })
}

/// The pooled τ: the raw statistic of the members' mean autocorrelation
/// (`data`), with the percentile interval of the same over the bootstrap
/// resamples (`boot`, one sum per resample; empty without intervals).
fn pooled_timescale(
    data: &AutocorrelationSum,
    boot: &[AutocorrelationSum],
    bins: usize,
    bin_ms: f64,
    opts: &UncertaintyOptions,
) -> PooledTimescale {
    let c = &opts.correction;
    let tau_of = |sum: &AutocorrelationSum| -> Option<f64> {
        match raw_statistic(&sum.mean()?, bins, bin_ms, c) {
            Some((log_tau, a)) if a > 0.0 => Some(log_tau.exp()),
            _ => None,
        }
    };
    let two = data
        .mean()
        .filter(|_| opts.two_timescales)
        .and_then(|mean| two_timescales(&mean, bins, bin_ms, c));
    let mut out = PooledTimescale {
        n_units: data.n,
        tau_ms: tau_of(data),
        ci_low_ms: None,
        ci_high_ms: None,
        two,
    };
    if let (Some(level), Some(_)) = (opts.ci_level, out.tau_ms) {
        let taus: Vec<f64> = boot
            .iter()
            .map(|sum| tau_of(sum).unwrap_or(f64::NAN))
            .collect();
        if let Some((lo, hi)) = percentile_interval(&taus, level) {
            out.ci_low_ms = Some(lo);
            out.ci_high_ms = Some(hi);
        }
    }
    out
}

/// The default pipeline ([`super::autocorrelation_timescales`], unchanged)
/// plus, as `opts` asks: the bias-corrected τ, bootstrap intervals per unit
/// and for the population mean, and the two-timescale fit with BIC model
/// choice. See the module docs for the methods.
///
/// `counts` is `[units, trials, bins]` in bins of `params.bin_ms`. Random
/// draws (resampled trials, surrogates) come from `rng`: one draw seeds an
/// independent stream per unit, so the result for a seed does not depend on
/// the number of threads.
///
/// Errors: as [`super::autocorrelation_timescales`], and invalid `opts`.
pub fn timescales_with_uncertainty(
    counts: ArrayView3<f64>,
    params: &TimescaleParams,
    opts: &UncertaintyOptions,
    rng: &mut ChaCha8Rng,
) -> Result<TimescalesWithUncertainty> {
    params.validate()?;
    opts.validate()?;
    let (units, trials, bins) = counts.dim();
    check_shape(trials, bins, params)?;
    let resamples: Vec<Vec<usize>> = if opts.ci_level.is_some() {
        (0..opts.resamples)
            .map(|_| (0..trials).map(|_| rng.random_range(0..trials)).collect())
            .collect()
    } else {
        Vec::new()
    };
    let pooled = if opts.bias_correct {
        // Population mean count per bin and offset of the autocorrelation
        // (medians over units with a finite autocorrelation).
        let k = params.max_lag_bins();
        let c = &opts.correction;
        let pre: Vec<(f64, f64, f64)> = (0..units)
            .into_par_iter()
            .filter_map(|u| {
                let x = counts.index_axis(Axis(0), u);
                if !x.iter().all(|v| v.is_finite()) {
                    return None;
                }
                let ac = spike_count_autocorrelation(x, k);
                if ac.iter().any(|v| !v.is_finite()) {
                    return None;
                }
                let m = raw_start(&ac);
                let lags: Vec<f64> = (m..=k).map(|j| j as f64 * params.bin_ms).collect();
                let w = pair_weights(m, k, bins);
                let f =
                    fit_one_exponential(&lags, &ac[m - 1..], &w, c.tau_min_ms, c.tau_max_ms, false);
                Some((
                    x.sum() / (trials * bins) as f64,
                    f.c.clamp(0.0, 0.5),
                    ac[m - 1],
                ))
            })
            .collect();
        let mut mu: Vec<f64> = pre.iter().map(|p| p.0).collect();
        let mut off: Vec<f64> = pre.iter().map(|p| p.1).collect();
        let mut lev: Vec<f64> = pre.iter().map(|p| p.2.clamp(0.005, 0.8)).collect();
        lev.sort_by(f64::total_cmp);
        let (mu, off) = (median(&mut mu), median(&mut off));
        (mu.is_finite() && mu > 0.0 && !lev.is_empty()).then(|| {
            // Levels spanning the units' own (5th to 95th percentile).
            let (lo, hi) = (percentile(&lev, 0.05), percentile(&lev, 0.95));
            let mid = (lo * hi).sqrt();
            let half = (hi / lo).sqrt().max(1.1);
            let levels = ((mid / half).max(0.004), (mid * half).min(0.85));
            pooled_calibration(mu, off, levels, (trials, bins, k), params.bin_ms, c, rng)
        })
    } else {
        None
    };
    // Units in blocks, so that the resampled autocorrelations of only one
    // block are held at a time before they are summed for the pooled τ.
    let mut work: Vec<UnitWork> = Vec::with_capacity(units);
    let mut data_sum = AutocorrelationSum::default();
    let mut boot_sums = vec![AutocorrelationSum::default(); resamples.len()];
    let indices: Vec<usize> = (0..units).collect();
    for block in indices.chunks(256) {
        let mut done: Vec<UnitWork> = block
            .par_iter()
            .map(|&u| {
                analyse_unit(
                    counts.index_axis(Axis(0), u),
                    params,
                    opts,
                    &resamples,
                    pooled.as_ref(),
                )
            })
            .collect();
        for w in done.iter_mut().filter(|w| w.member) {
            data_sum.add(&w.out.base.autocorrelation);
            for (sum, ac) in boot_sums.iter_mut().zip(std::mem::take(&mut w.boot_ac)) {
                sum.add(&ac);
            }
        }
        work.extend(done);
    }
    let tau_of = |w: &UnitWork| {
        if opts.bias_correct {
            w.out.tau_corrected_ms
        } else {
            w.out.base.tau_ms
        }
    };
    let taus: Vec<f64> = work.iter().filter_map(tau_of).collect();
    let mut population = PopulationTimescale {
        n_units: taus.len(),
        mean_tau_ms: if taus.is_empty() {
            f64::NAN
        } else {
            taus.iter().sum::<f64>() / taus.len() as f64
        },
        ci_low_ms: None,
        ci_high_ms: None,
        pooled: pooled_timescale(&data_sum, &boot_sums, bins, params.bin_ms, opts),
    };
    if let Some(level) = opts.ci_level
        && !taus.is_empty()
    {
        let mut means: Vec<f64> = (0..opts.resamples)
            .filter_map(|b| {
                let v: Vec<f64> = work
                    .iter()
                    .filter(|w| tau_of(w).is_some())
                    .map(|w| w.boot.get(b).copied().unwrap_or(f64::NAN))
                    .filter(|v| v.is_finite())
                    .collect();
                (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
            })
            .collect();
        if !means.is_empty() {
            means.sort_by(f64::total_cmp);
            let alpha = 1.0 - level;
            population.ci_low_ms = Some(percentile(&means, 0.5 * alpha));
            population.ci_high_ms = Some(percentile(&means, 1.0 - 0.5 * alpha));
        }
    }
    Ok(TimescalesWithUncertainty {
        units: work.into_iter().map(|w| w.out).collect(),
        population,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_pools_violators() {
        assert_eq!(isotonic(&[1.0, 3.0, 2.0, 4.0]), vec![1.0, 2.5, 2.5, 4.0]);
        assert_eq!(isotonic(&[3.0, 2.0, 1.0]), vec![2.0, 2.0, 2.0]);
        assert_eq!(isotonic(&[1.0, 2.0]), vec![1.0, 2.0]);
    }

    #[test]
    fn calibration_inverse_interpolates() {
        let cal = Calibration {
            log_tau: vec![0.0, 1.0, 2.0],
            g: vec![0.5, 1.0, 3.0],
        };
        assert_eq!(cal.invert(0.75, false), Some(0.5));
        assert_eq!(cal.invert(2.0, false), Some(1.5));
        assert_eq!(cal.invert(0.1, false), None);
        assert_eq!(cal.invert(0.1, true), Some(0.0));
        assert_eq!(cal.invert(9.0, true), Some(2.0));
    }

    #[test]
    fn interval_ends_at_the_informative_range_open_to_the_searched_range() {
        // Informative range 50–200 ms; searched range 10–2000 ms.
        let cal = Calibration {
            log_tau: vec![50f64.ln(), 100f64.ln(), 200f64.ln()],
            g: vec![0.0, 1.0, 2.0],
        };
        let c = CorrectionParams::default();
        let close = |(a, b): (f64, f64), (x, y): (f64, f64)| {
            assert!(
                (a - x).abs() < 1e-9 && (b - y).abs() < 1e-9,
                "{a}–{b} vs {x}–{y}"
            )
        };
        close(cal.open_at_ends((60.0, 150.0), &c), (60.0, 150.0));
        close(cal.open_at_ends((60.0, 200.0), &c), (60.0, 2000.0));
        close(cal.open_at_ends((50.0, 150.0), &c), (10.0, 150.0));
        close(cal.open_at_ends((50.0, 200.0), &c), (10.0, 2000.0));
    }

    #[test]
    fn percentile_interval_needs_half_the_values_finite() {
        let v = [1.0, 2.0, 4.0, 8.0, f64::NAN];
        // numpy.percentile([1, 2, 4, 8], [5, 95]) = [1.15, 7.4]
        let (lo, hi) = percentile_interval(&v, 0.9).unwrap();
        assert!((lo - 1.15).abs() < 1e-12 && (hi - 7.4).abs() < 1e-12);
        assert!(percentile_interval(&[1.0, f64::NAN, f64::NAN], 0.9).is_none());
        assert!(percentile_interval(&[], 0.9).is_none());
    }

    #[test]
    fn autocorrelation_sum_gives_the_lagwise_mean_of_finite_ones() {
        let mut sum = AutocorrelationSum::default();
        assert!(sum.mean().is_none());
        sum.add(&[0.2, 0.1, 0.0]);
        sum.add(&[0.9, f64::NAN, 0.9]);
        sum.add(&[0.4, -0.1, 0.3]);
        assert_eq!(sum.n, 2);
        let m = sum.mean().unwrap();
        for (x, want) in m.iter().zip([0.3, 0.0, 0.15]) {
            assert!((x - want).abs() < 1e-15, "{m:?}");
        }
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        let v = [1.0, 2.0, 4.0, 8.0];
        // numpy.percentile([1, 2, 4, 8], [10, 50, 95]) = [1.3, 3.0, 7.4]
        assert!((percentile(&v, 0.10) - 1.3).abs() < 1e-12);
        assert!((percentile(&v, 0.50) - 3.0).abs() < 1e-12);
        assert!((percentile(&v, 0.95) - 7.4).abs() < 1e-12);
    }

    #[test]
    fn degenerate_inputs_give_exclusions_not_panics() {
        let opts = UncertaintyOptions {
            ci_level: Some(0.9),
            resamples: 20,
            bias_correct: true,
            two_timescales: true,
            correction: CorrectionParams {
                surrogates: 8,
                ..CorrectionParams::default()
            },
        };
        let p = TimescaleParams::default();
        let mut rng = super::super::seeded_rng(1);
        // No units.
        let none = ndarray::Array3::<f64>::zeros((0, 10, 20));
        let r = timescales_with_uncertainty(none.view(), &p, &opts, &mut rng).unwrap();
        assert!(r.units.is_empty() && r.population.mean_tau_ms.is_nan());
        // Silent units and a unit with a NaN count.
        let mut c = ndarray::Array3::<f64>::zeros((2, 10, 20));
        c[[1, 3, 4]] = f64::NAN;
        let r = timescales_with_uncertainty(c.view(), &p, &opts, &mut rng).unwrap();
        assert_eq!(
            r.units[0].corrected_exclusion,
            Some(Exclusion::NanAutocorrelation)
        );
        assert_eq!(
            r.units[1].corrected_exclusion,
            Some(Exclusion::NonFiniteCounts)
        );
        assert!(
            r.units
                .iter()
                .all(|u| u.tau_ci_low_ms.is_none() && u.two.is_none())
        );
        // Too few trials is an error naming them.
        let one = ndarray::Array3::<f64>::zeros((1, 1, 20));
        assert!(matches!(
            timescales_with_uncertainty(one.view(), &p, &opts, &mut rng),
            Err(AnalysisError::TooFew { what: "trials", .. })
        ));
    }

    #[test]
    fn bad_options_are_errors() {
        let bad = [
            UncertaintyOptions {
                ci_level: Some(1.5),
                ..Default::default()
            },
            UncertaintyOptions {
                ci_level: Some(f64::NAN),
                ..Default::default()
            },
            UncertaintyOptions {
                resamples: 3,
                ..Default::default()
            },
            UncertaintyOptions {
                correction: CorrectionParams {
                    tau_max_ms: 5.0,
                    ..Default::default()
                },
                ..Default::default()
            },
        ];
        for o in bad {
            assert!(matches!(
                o.validate(),
                Err(AnalysisError::InvalidParameter { .. })
            ));
        }
        assert!(UncertaintyOptions::default().validate().is_ok());
    }
}
