//! Spike-train utilities: binning, rates, PSTH, Fano factors and smoothing.
//!
//! Times are in milliseconds (`_ms`), rates in spikes per second (`_hz`).
//! Binned counts are `[trials, bins]` for one unit and `[units, trials, bins]`
//! for a population, as in Kim & Sejnowski's analyses (their MATLAB code,
//! github.com/rkim35/wmRNN: 50-ms bins, Fano factor of per-trial totals).
//!
//! Bins are half-open, `[t_start + i·bin, t_start + (i + 1)·bin)`; a trailing
//! partial bin is dropped. Invalid parameters (non-positive widths, reversed
//! windows) are errors; non-finite *counts* propagate as NaN, as documented
//! per function.

use ndarray::{Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

use crate::error::{AnalysisError, Result, ensure_at_least, ensure_finite};

/// Refuse to allocate more bins (or kernel taps) than this.
const MAX_BINS: f64 = 1e9;

fn positive(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(AnalysisError::invalid(name, v, "finite and > 0"))
    }
}

/// Number of whole bins of `bin_ms` in `span_ms` (a relative slack of 1e-9
/// absorbs rounding, so 1000 ms / 50 ms is 20 bins).
fn whole_bins(span_ms: f64, bin_ms: f64) -> Result<usize> {
    let n = (span_ms / bin_ms * (1.0 + 1e-9)).floor();
    if n > MAX_BINS {
        return Err(AnalysisError::invalid(
            "bin_ms",
            bin_ms,
            "at most 1e9 bins in the window",
        ));
    }
    Ok(n as usize)
}

/// Count spikes in consecutive half-open bins of `bin_ms` starting at
/// `t_start_ms`: bin i covers `[t_start + i·bin, t_start + (i + 1)·bin)`.
///
/// Returns `floor((t_stop − t_start) / bin)` counts (as `f64`); a trailing
/// partial bin and spikes at or after its start, or at/after `t_stop_ms`, are
/// dropped, as are spikes before `t_start_ms`. `spike_times_ms` need not be
/// sorted. Errors: non-finite times or window; `bin_ms ≤ 0`;
/// `t_stop_ms − t_start_ms < bin_ms` (no whole bin).
pub fn bin_spikes(
    spike_times_ms: &[f64],
    t_start_ms: f64,
    t_stop_ms: f64,
    bin_ms: f64,
) -> Result<Vec<f64>> {
    ensure_finite("spike_times_ms", spike_times_ms)?;
    ensure_finite("t_start_ms", [&t_start_ms])?;
    ensure_finite("t_stop_ms", [&t_stop_ms])?;
    positive("bin_ms", bin_ms)?;
    let n = whole_bins(t_stop_ms - t_start_ms, bin_ms)?;
    if n == 0 {
        return Err(AnalysisError::invalid(
            "t_stop_ms",
            t_stop_ms,
            "at least t_start_ms + bin_ms",
        ));
    }
    let mut counts = vec![0.0; n];
    let end_ms = t_stop_ms.min(t_start_ms + n as f64 * bin_ms);
    for &t in spike_times_ms {
        if t < t_start_ms || t >= end_ms {
            continue;
        }
        let i = (((t - t_start_ms) / bin_ms).floor() as usize).min(n - 1);
        counts[i] += 1.0;
    }
    Ok(counts)
}

/// Largest `units × trials × bins` array [`bin_spike_table`] allocates
/// (2²⁸ counts, 2 GiB of `f64`: 10,000 units × 1,000 trials × 26 bins);
/// larger requests are refused before any memory is reserved.
pub const MAX_TABLE_COUNTS: usize = 1 << 28;

/// Bin a table of spikes, one row per spike (`unit[k]`, `trial[k]`,
/// `time_ms[k]`, 0-based indices), into counts `[units, trials, bins]` of
/// `bin_ms` over `[t_start_ms, t_stop_ms)`, with the bins of [`bin_spikes`].
///
/// This is the layout of a spike monitor (Brian2's `i`, `t`) or of an
/// experiment's spike table. The number of units and trials is
/// `max index + 1` unless given (`n_units`, `n_trials`, which must exceed
/// every index: units or trials with no spike are rows of zeros). The size
/// is checked against [`MAX_TABLE_COUNTS`] before anything is allocated, so
/// a stray huge index is an error, not an out-of-memory abort.
///
/// # Errors
/// [`AnalysisError::ShapeMismatch`] if the three columns differ in length;
/// [`AnalysisError::NonFinite`] for a non-finite time or window;
/// [`AnalysisError::InvalidParameter`] for `bin_ms ≤ 0`, a window shorter
/// than one bin, an index at or above a given `n_units`/`n_trials`, or a
/// table of more than [`MAX_TABLE_COUNTS`] counts.
#[allow(clippy::too_many_arguments)]
pub fn bin_spike_table(
    unit: &[usize],
    trial: &[usize],
    time_ms: &[f64],
    t_start_ms: f64,
    t_stop_ms: f64,
    bin_ms: f64,
    n_units: Option<usize>,
    n_trials: Option<usize>,
) -> Result<Array3<f64>> {
    let n = time_ms.len();
    if unit.len() != n || trial.len() != n {
        return Err(AnalysisError::shape(
            "spike table",
            format!("unit, trial and time_ms of equal length ({n} = len(time_ms))"),
            format!("len(unit) = {}, len(trial) = {}", unit.len(), trial.len()),
        ));
    }
    ensure_finite("time_ms", time_ms)?;
    ensure_finite("t_start_ms", [&t_start_ms])?;
    ensure_finite("t_stop_ms", [&t_stop_ms])?;
    positive("bin_ms", bin_ms)?;
    let bins = whole_bins(t_stop_ms - t_start_ms, bin_ms)?;
    if bins == 0 {
        return Err(AnalysisError::invalid(
            "t_stop_ms",
            t_stop_ms,
            "at least t_start_ms + bin_ms",
        ));
    }
    let count = |name: &'static str, idx: &[usize], given: Option<usize>| -> Result<usize> {
        let needed = idx.iter().max().map_or(0, |&m| m.saturating_add(1));
        match given {
            Some(g) if g < needed => Err(AnalysisError::invalid(
                name,
                g,
                format!("> the largest index in the table ({})", needed - 1),
            )),
            Some(g) => Ok(g),
            None => Ok(needed),
        }
    };
    let units = count("n_units", unit, n_units)?;
    let trials = count("n_trials", trial, n_trials)?;
    let total = units
        .checked_mul(trials)
        .and_then(|c| c.checked_mul(bins))
        .filter(|&c| c <= MAX_TABLE_COUNTS);
    if total.is_none() {
        return Err(AnalysisError::invalid(
            "spike table size",
            format!("{units} units x {trials} trials x {bins} bins"),
            format!(
                "at most {MAX_TABLE_COUNTS} counts (check the largest unit/trial index and the window)"
            ),
        ));
    }
    let mut counts = Array3::zeros((units, trials, bins));
    let end_ms = t_stop_ms.min(t_start_ms + bins as f64 * bin_ms);
    for ((&u, &k), &t) in unit.iter().zip(trial).zip(time_ms) {
        if t < t_start_ms || t >= end_ms {
            continue;
        }
        let i = (((t - t_start_ms) / bin_ms).floor() as usize).min(bins - 1);
        counts[[u, k, i]] += 1.0;
    }
    Ok(counts)
}

/// Sum a `[trials, time]` raster (0/1 spikes, or counts, per step of `dt_ms`)
/// into `[trials, bins]` counts of `bin_ms`.
///
/// `bin_ms` must be a whole multiple of `dt_ms` (within 1e-9 relative); bin j
/// sums steps `j·s .. (j + 1)·s` with `s = bin_ms / dt_ms`; trailing steps
/// that do not fill a bin are dropped. Non-finite raster values propagate
/// into their bin. Errors: non-positive `dt_ms`/`bin_ms`, a `bin_ms` that is
/// not a multiple, or fewer steps than one bin.
pub fn raster_to_counts(raster: ArrayView2<f64>, dt_ms: f64, bin_ms: f64) -> Result<Array2<f64>> {
    positive("dt_ms", dt_ms)?;
    positive("bin_ms", bin_ms)?;
    let ratio = bin_ms / dt_ms;
    let steps = ratio.round();
    if steps < 1.0 || (steps - ratio).abs() > 1e-9 * ratio || steps > MAX_BINS {
        return Err(AnalysisError::invalid(
            "bin_ms",
            bin_ms,
            format!("a whole multiple of dt_ms = {dt_ms}"),
        ));
    }
    let steps = steps as usize;
    let (trials, time) = raster.dim();
    let n = time / steps;
    ensure_at_least("raster time steps (one bin)", steps, time)?;
    let mut out = Array2::zeros((trials, n));
    for (row, mut orow) in raster.outer_iter().zip(out.outer_iter_mut()) {
        for (j, o) in orow.iter_mut().enumerate() {
            *o = (j * steps..(j + 1) * steps).map(|t| row[t]).sum();
        }
    }
    Ok(out)
}

/// Mean firing rate (Hz) of one spike train over the half-open window
/// `[t_start_ms, t_stop_ms)`: spikes in the window / window length in s.
///
/// Errors: non-finite times or window, or `t_stop_ms ≤ t_start_ms`.
pub fn firing_rate_hz(spike_times_ms: &[f64], t_start_ms: f64, t_stop_ms: f64) -> Result<f64> {
    ensure_finite("spike_times_ms", spike_times_ms)?;
    ensure_finite("t_start_ms", [&t_start_ms])?;
    ensure_finite("t_stop_ms", [&t_stop_ms])?;
    if t_stop_ms <= t_start_ms {
        return Err(AnalysisError::invalid(
            "t_stop_ms",
            t_stop_ms,
            "> t_start_ms",
        ));
    }
    let n = spike_times_ms
        .iter()
        .filter(|&&t| t >= t_start_ms && t < t_stop_ms)
        .count();
    Ok(n as f64 / ((t_stop_ms - t_start_ms) / 1000.0))
}

/// Mean firing rate (Hz) from `[trials, bins]` counts of `bin_ms`: the mean
/// count per bin over all trials and bins, divided by the bin length in s.
///
/// This divides by the binned duration. Kim & Sejnowski's code divides the
/// spikes of 20 bins (1.0 s) by 1.05 s, i.e. their rates are 1/1.05 of these.
/// Non-finite counts give NaN. Errors: `bin_ms ≤ 0`, or no trials or bins.
pub fn mean_rate_hz(counts: ArrayView2<f64>, bin_ms: f64) -> Result<f64> {
    positive("bin_ms", bin_ms)?;
    ensure_at_least("counts (trials x bins)", 1, counts.len())?;
    Ok(counts.sum() / counts.len() as f64 / (bin_ms / 1000.0))
}

/// Peri-stimulus time histogram (Hz): the trial-averaged count in each bin of
/// `[trials, bins]` counts, divided by the bin length in s (length = bins).
///
/// Non-finite counts give NaN in their bin. Errors: `bin_ms ≤ 0`, no trials.
pub fn psth_hz(counts: ArrayView2<f64>, bin_ms: f64) -> Result<Vec<f64>> {
    positive("bin_ms", bin_ms)?;
    let trials = counts.nrows();
    ensure_at_least("trials", 1, trials)?;
    let scale = 1.0 / (trials as f64 * bin_ms / 1000.0);
    Ok(counts.sum_axis(Axis(0)).iter().map(|s| s * scale).collect())
}

/// Fano factor of spike counts across trials: sample variance (N − 1
/// denominator) / mean, dimensionless (1 for a Poisson process).
///
/// NaN when there are fewer than 2 trials, when the mean is 0 (no spikes), or
/// when a count is non-finite.
pub fn fano_factor(counts_per_trial: ArrayView1<f64>) -> f64 {
    let n = counts_per_trial.len();
    if n < 2 {
        return f64::NAN;
    }
    let mean = counts_per_trial.sum() / n as f64;
    if mean == 0.0 || !mean.is_finite() {
        return f64::NAN;
    }
    let var = counts_per_trial
        .iter()
        .map(|c| (c - mean) * (c - mean))
        .sum::<f64>()
        / (n - 1) as f64;
    var / mean
}

/// [`fano_factor`] of each unit of `[units, trials]` counts (length = units).
pub fn fano_factors(counts: ArrayView2<f64>) -> Vec<f64> {
    counts.outer_iter().map(fano_factor).collect()
}

/// Fano factor per unit of `[units, trials, bins]` counts, from each trial's
/// total count over the bins (Kim & Sejnowski 2021; `compute_fano.m` of
/// github.com/rkim35/wmRNN).
/// Length = units; NaN as in [`fano_factor`].
pub fn fano_factors_binned(counts: ArrayView3<f64>) -> Vec<f64> {
    counts
        .outer_iter()
        .map(|unit| fano_factor(unit.sum_axis(Axis(1)).view()))
        .collect()
}

/// Index into `0..n` of extended index `e` under half-sample symmetric
/// reflection (`… c b a | a b c … x y z | z y x …`), for any `e`.
fn reflect(e: isize, n: usize) -> usize {
    let p = 2 * n as isize;
    let e = e.rem_euclid(p);
    if e < n as isize {
        e as usize
    } else {
        (p - 1 - e) as usize
    }
}

/// Smooth a signal sampled every `dt_ms` with a centred Gaussian of standard
/// deviation `sigma_ms` (output length = input length, same units).
///
/// The kernel is sampled at multiples of `dt_ms`, truncated at ±4σ
/// (half-width `ceil(4σ/dt)` samples) and normalised to sum 1, so a constant
/// signal is unchanged. Edges use half-sample symmetric reflection
/// (`c b a | a b c`, scipy.ndimage's `reflect`), which with a symmetric
/// normalised kernel preserves the total `Σ signal` exactly (no mass leaks
/// off the ends). Non-finite samples spread NaN/∞ to their neighbourhood.
/// An empty signal gives an empty result. Errors: non-positive or non-finite
/// `sigma_ms`/`dt_ms`, or a kernel of more than 1e9 taps.
pub fn gaussian_smooth(signal: ArrayView1<f64>, sigma_ms: f64, dt_ms: f64) -> Result<Vec<f64>> {
    positive("sigma_ms", sigma_ms)?;
    positive("dt_ms", dt_ms)?;
    let half = (4.0 * sigma_ms / dt_ms).ceil();
    if half > MAX_BINS {
        return Err(AnalysisError::invalid(
            "sigma_ms",
            sigma_ms,
            "at most 2.5e8 * dt_ms",
        ));
    }
    let half = half as usize;
    let n = signal.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let s = sigma_ms / dt_ms;
    let mut kernel: Vec<f64> = (0..=2 * half)
        .map(|i| {
            let x = (i as f64 - half as f64) / s;
            (-0.5 * x * x).exp()
        })
        .collect();
    let total: f64 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= total);
    let h = half as isize;
    let out = (0..n as isize)
        .map(|i| {
            let lo = i - h;
            if lo >= 0 && i + h < n as isize {
                let lo = lo as usize;
                kernel
                    .iter()
                    .zip(signal.slice(ndarray::s![lo..lo + 2 * half + 1]))
                    .map(|(k, x)| k * x)
                    .sum()
            } else {
                kernel
                    .iter()
                    .enumerate()
                    .map(|(j, k)| k * signal[reflect(lo + j as isize, n)])
                    .sum()
            }
        })
        .collect();
    Ok(out)
}

/// Causal smoothing with a one-sided, normalised exponential kernel of time
/// constant `tau_ms`: `y[t] = α y[t − 1] + (1 − α) x[t]`, `α = exp(−dt/τ)`,
/// i.e. the kernel `(1 − α) αʲ`, j ≥ 0, which sums to 1.
///
/// Each output depends only on the present and past, so it lags the input by
/// about τ. The signal is taken as 0 before its first sample (`y[−1] = 0`),
/// so a constant input ramps up over a few τ. Mass: the kernel is normalised,
/// and what is missing from `Σ y` is the tail beyond the last sample,
/// `Σ y + y[n − 1]·α/(1 − α) = Σ x` exactly. Output length = input length.
/// Errors: non-positive or non-finite `tau_ms`/`dt_ms`.
pub fn causal_smooth(signal: ArrayView1<f64>, tau_ms: f64, dt_ms: f64) -> Result<Vec<f64>> {
    positive("tau_ms", tau_ms)?;
    positive("dt_ms", dt_ms)?;
    let alpha = (-dt_ms / tau_ms).exp();
    let mut y = 0.0;
    Ok(signal
        .iter()
        .map(|&x| {
            y = alpha * y + (1.0 - alpha) * x;
            y
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};

    #[test]
    fn binning_hand_example() {
        let c = bin_spikes(
            &[0.0, 49.9, 50.0, 120.0, 199.99, 200.0, -1.0],
            0.0,
            200.0,
            50.0,
        )
        .unwrap();
        assert_eq!(c, vec![2.0, 1.0, 1.0, 1.0]);
        // Trailing partial bin dropped: 0..130 with 50 ms → 2 bins; 120 is in the partial bin.
        let c = bin_spikes(&[10.0, 60.0, 120.0], 0.0, 130.0, 50.0).unwrap();
        assert_eq!(c, vec![1.0, 1.0]);
        assert!(bin_spikes(&[1.0], 0.0, 10.0, 50.0).is_err());
        assert!(bin_spikes(&[f64::NAN], 0.0, 100.0, 50.0).is_err());
        assert!(bin_spikes(&[], 0.0, 100.0, 0.0).is_err());
    }

    #[test]
    fn spike_table_bins_each_unit_and_trial_like_bin_spikes() {
        let unit = [0, 2, 2, 1, 0, 2];
        let trial = [1, 0, 0, 1, 1, 1];
        let time = [10.0, 55.0, 60.0, 149.0, 99.9, -3.0];
        let c = bin_spike_table(&unit, &trial, &time, 0.0, 150.0, 50.0, None, None).unwrap();
        assert_eq!(c.dim(), (3, 2, 3));
        for u in 0..3 {
            for k in 0..2 {
                let own: Vec<f64> = (0..time.len())
                    .filter(|&s| unit[s] == u && trial[s] == k)
                    .map(|s| time[s])
                    .collect();
                let want = bin_spikes(&own, 0.0, 150.0, 50.0).unwrap();
                assert_eq!(
                    c.slice(ndarray::s![u, k, ..]).to_vec(),
                    want,
                    "unit {u} trial {k}"
                );
            }
        }
        assert_eq!(c.sum(), 5.0);
        // Given counts add silent rows; a count below an index is refused.
        let c = bin_spike_table(&unit, &trial, &time, 0.0, 150.0, 50.0, Some(5), Some(3)).unwrap();
        assert_eq!((c.dim(), c.sum()), ((5, 3, 3), 5.0));
        assert!(bin_spike_table(&unit, &trial, &time, 0.0, 150.0, 50.0, Some(2), None).is_err());
        // A stray huge index is refused before allocation.
        let err = bin_spike_table(&[999_999], &[999_999], &[0.0], 0.0, 50.0, 50.0, None, None)
            .unwrap_err();
        assert!(
            matches!(err, AnalysisError::InvalidParameter { .. }),
            "{err}"
        );
        let err = bin_spike_table(&[0], &[0], &[0.0], 0.0, 4e10, 50.0, None, None).unwrap_err();
        assert!(err.to_string().contains("spike table size"), "{err}");
        assert!(bin_spike_table(&[0, 1], &[0], &[0.0], 0.0, 50.0, 50.0, None, None).is_err());
        assert!(bin_spike_table(&[0], &[0], &[f64::NAN], 0.0, 50.0, 50.0, None, None).is_err());
    }

    #[test]
    fn raster_counts_and_rates() {
        let r = array![[1.0, 0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0, 1.0]];
        let c = raster_to_counts(r.view(), 0.5, 1.0).unwrap();
        assert_eq!(c, array![[1.0, 2.0], [0.0, 1.0]]);
        assert!(raster_to_counts(r.view(), 0.5, 0.75).is_err());
        let p = psth_hz(c.view(), 1.0).unwrap();
        assert_eq!(p, vec![500.0, 1500.0]);
        assert!((mean_rate_hz(c.view(), 1.0).unwrap() - 1000.0).abs() < 1e-12);
        assert!((firing_rate_hz(&[1.0, 2.0, 500.0], 0.0, 1000.0).unwrap() - 3.0).abs() < 1e-12);
    }

    #[test]
    fn fano_edge_cases() {
        assert!(fano_factor(array![0.0, 0.0, 0.0].view()).is_nan());
        assert!(fano_factor(array![3.0].view()).is_nan());
        assert!((fano_factor(array![1.0, 3.0].view()) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn smoothing_keeps_constants_and_mass() {
        let x = Array1::from_elem(50, 2.5);
        let y = gaussian_smooth(x.view(), 3.0, 1.0).unwrap();
        assert!(y.iter().all(|v| (v - 2.5).abs() < 1e-12));
        let spike = Array1::from_shape_fn(20, |i| if i == 1 { 1.0 } else { 0.0 });
        let y = gaussian_smooth(spike.view(), 10.0, 1.0).unwrap();
        assert!((y.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let y = causal_smooth(spike.view(), 5.0, 1.0).unwrap();
        assert_eq!(y[0], 0.0);
        let alpha = (-1.0f64 / 5.0).exp();
        assert!((y.iter().sum::<f64>() + y[19] * alpha / (1.0 - alpha) - 1.0).abs() < 1e-12);
    }
}
