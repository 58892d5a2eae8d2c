//! Cross-temporal discriminability of long- vs short-timescale units on DMS
//! (Kim & Sejnowski 2019, Fig. 3; `cross_temporal_disc.m` of
//! github.com/rkim35/wmRNN).
//!
//! The fitted units of the kept DMS networks are pooled; units whose
//! timescale lies above the `long_quantile` of the pooled timescales are
//! "long", below the `short_quantile` "short" (quantiles with Hazen plotting
//! positions, as MATLAB's `quantile`). Each network (at its best scaling
//! factor) runs `trials_per_cue` LIF trials per cue c ∈ {−1, +1} on the
//! long-delay DMS timeline with s1 = s2 = c. Spikes are counted in 5-ms bins
//! and smoothed with a causal Gaussian kernel (5 s.d. long, peak delayed by
//! 2.5 s.d., as the code's `filter(gausswin(…))`), giving rates in Hz, then
//! averaged into `step_ms` bins. The units of all networks are stacked, the
//! trials split into odd/even halves, and the Fisher-z discriminability maps
//! of the long and short groups computed with `wm_analysis`. Their
//! difference z(long) − z(short) is tested with the cluster permutation test
//! over permutations of the long/short labels (group sizes kept).

use std::path::PathBuf;

use anyhow::{Context, Result};
use ndarray::{Array2, Array3, Axis, concatenate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use wm_analysis::discriminability::{SplitHalves, mean_z_in_block, split_half_means};
use wm_analysis::permutation::{ClusterParams, ClusterTest, cluster_permutation_test};
use wm_spiking::{RateArrays, SimOptions};

use crate::io::derive_seed;
use crate::kim_sejnowski::config::KimSejnowskiConfig;
use crate::kim_sejnowski::lif::steps_per_input;
use crate::kim_sejnowski::network::{NetworkOutcome, long_delay_task, sub_seed};

/// The result of the analysis.
#[derive(Debug, Clone)]
pub struct DiscrimResult {
    /// DMS networks that contributed units.
    pub n_networks: usize,
    /// Long-timescale units.
    pub n_long: usize,
    /// Short-timescale units.
    pub n_short: usize,
    /// Timescale above which a unit is long, ms.
    pub long_threshold_ms: f64,
    /// Timescale below which a unit is short, ms.
    pub short_threshold_ms: f64,
    /// Fisher-z map of the long units `[t1, t2]`.
    pub z_long: Array2<f64>,
    /// Fisher-z map of the short units.
    pub z_short: Array2<f64>,
    /// Cluster test of z(long) − z(short).
    pub test: ClusterTest,
    /// Times of the map's points relative to the first stimulus's onset, ms.
    pub time_ms: Vec<f64>,
    /// Map indices of the delay period.
    pub delay: std::ops::Range<usize>,
    /// Mean z over the delay × delay block, long units.
    pub mean_z_delay_long: f64,
    /// Mean z over the delay × delay block, short units.
    pub mean_z_delay_short: f64,
}

/// Quantile with Hazen plotting positions ((i − ½)/n, linear interpolation,
/// clamped at the ends) of a sorted, non-empty slice.
pub fn quantile_hazen(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let h = (n as f64 * p + 0.5).clamp(1.0, n as f64);
    let lo = h.floor() as usize;
    let frac = h - lo as f64;
    if lo >= n {
        sorted[n - 1]
    } else {
        sorted[lo - 1] + frac * (sorted[lo] - sorted[lo - 1])
    }
}

/// Causal Gaussian smoothing of 5-ms counts into rates (Hz), then block
/// means over `m` bins: `counts` is one unit's counts of one trial.
fn smooth(counts: &[f64], dt_ms: f64, sd_ms: f64, m: usize) -> Vec<f64> {
    let taps = ((5.0 * sd_ms / dt_ms).round() as usize).max(1);
    let centre = 2.5 * sd_ms;
    let mut g: Vec<f64> = (0..=taps)
        .map(|k| {
            let t = k as f64 * dt_ms - centre;
            (-t * t / (2.0 * sd_ms * sd_ms)).exp()
        })
        .collect();
    let total: f64 = g.iter().sum();
    g.iter_mut().for_each(|x| *x /= total * dt_ms / 1000.0);
    let rate: Vec<f64> = (0..counts.len())
        .map(|t| {
            g.iter()
                .enumerate()
                .take(t + 1)
                .map(|(k, w)| w * counts[t - k])
                .sum()
        })
        .collect();
    rate.chunks_exact(m)
        .map(|c| c.iter().sum::<f64>() / m as f64)
        .collect()
}

/// Rates `[trials, time, units]` per cue (−1 then +1) of the `units` of one
/// network, from its saved weights at its best scaling factor.
fn network_rates(
    cfg: &KimSejnowskiConfig,
    weights: &std::path::Path,
    scale: f64,
    seed: u64,
    units: &[usize],
) -> Result<[Array3<f64>; 2]> {
    let d = &cfg.discriminability;
    let arrays = RateArrays::from_safetensors(weights)?;
    let net = arrays.to_lif::<f64>(scale, &cfg.lif)?;
    let task = long_delay_task(cfg)?;
    let n = d.trials_per_cue;
    let pairs: Vec<(f64, f64)> = (0..2 * n)
        .map(|k| if k < n { (-1.0, -1.0) } else { (1.0, 1.0) })
        .collect();
    let batch = task.batch_with(&pairs);
    let sim = net.simulate(
        &batch.input,
        batch.n_steps,
        batch.batch_size,
        &SimOptions {
            seed: sub_seed(seed, 6),
            steps_per_input: steps_per_input(cfg),
            record_spikes: true,
            readout: false,
        },
    )?;
    let dt = cfg.dms.dt_ms;
    let (counts, bins) = sim.spikes.binned_counts(dt);
    let m = (d.step_ms / dt).round() as usize;
    let tc = bins / m;
    let nb = 2 * n;
    let mut out = [
        Array3::zeros((n, tc, units.len())),
        Array3::zeros((n, tc, units.len())),
    ];
    for (j, &u) in units.iter().enumerate() {
        for b in 0..nb {
            let start = (u * nb + b) * bins;
            let r = smooth(&counts[start..start + bins], dt, d.smooth_sd_ms, m);
            let (cue, trial) = (b / n, b % n);
            for (t, v) in r.into_iter().enumerate().take(tc) {
                out[cue][[trial, t, j]] = v;
            }
        }
    }
    Ok(out)
}

/// Fisher z of a group's map, with |r| capped at 0.999 so that a perfect
/// correlation of few units gives a finite z.
fn z_of(halves: &SplitHalves, units: &[usize]) -> wm_analysis::Result<Array2<f64>> {
    let r = halves.discriminability_of(units)?.r;
    Ok(r.mapv(|v| v.clamp(-0.999, 0.999).atanh()))
}

/// The long- and short-timescale units of the kept DMS networks.
struct Selection {
    /// Timescale above which a unit is long, ms.
    long_threshold_ms: f64,
    /// Timescale below which a unit is short, ms.
    short_threshold_ms: f64,
    /// Per network, its selected units.
    units: Vec<Vec<usize>>,
    /// The selected units of all networks in turn: true = long.
    labels: Vec<bool>,
    /// Long units.
    n_long: usize,
}

/// Pool the fitted units of `nets` and select the long and short ones.
/// `None` when there are fewer than 3 long or 3 short units.
fn select_units(
    cfg: &KimSejnowskiConfig,
    nets: &[(&NetworkOutcome, PathBuf)],
) -> Option<Selection> {
    let d = &cfg.discriminability;
    let fitted = |o: &NetworkOutcome| -> Vec<(usize, f64)> {
        o.units
            .iter()
            .filter(|u| u.rate_hz <= cfg.timescale.max_rate_hz)
            .filter_map(|u| u.timescale_ms.map(|t| (u.unit, t)))
            .collect()
    };
    let mut pooled: Vec<f64> = nets
        .iter()
        .flat_map(|(o, _)| fitted(o).into_iter().map(|x| x.1))
        .collect();
    if pooled.is_empty() {
        return None;
    }
    pooled.sort_by(f64::total_cmp);
    let hi = quantile_hazen(&pooled, d.long_quantile);
    let lo = quantile_hazen(&pooled, d.short_quantile);
    // Per network, its selected units and their labels (true = long).
    let selected: Vec<(Vec<usize>, Vec<bool>)> = nets
        .iter()
        .map(|(o, _)| {
            fitted(o)
                .into_iter()
                .filter(|&(_, t)| t > hi || t < lo)
                .map(|(u, t)| (u, t > hi))
                .unzip()
        })
        .collect();
    let labels: Vec<bool> = selected.iter().flat_map(|s| s.1.clone()).collect();
    let n_long = labels.iter().filter(|&&l| l).count();
    let n_short = labels.len() - n_long;
    if n_long < 3 || n_short < 3 {
        tracing::warn!(
            n_long,
            n_short,
            "too few long or short units for the discriminability analysis"
        );
        return None;
    }
    Some(Selection {
        long_threshold_ms: hi,
        short_threshold_ms: lo,
        units: selected.into_iter().map(|s| s.0).collect(),
        labels,
        n_long,
    })
}

/// Run the analysis over the kept DMS networks `nets` (outcome and weights
/// file each). `None` when there are fewer than 3 long or 3 short units.
pub fn discriminability(
    cfg: &KimSejnowskiConfig,
    nets: &[(&NetworkOutcome, PathBuf)],
) -> Result<Option<DiscrimResult>> {
    let d = &cfg.discriminability;
    let Some(sel) = select_units(cfg, nets) else {
        return Ok(None);
    };
    let rates: Vec<[Array3<f64>; 2]> = nets
        .par_iter()
        .zip(sel.units.par_iter())
        .filter(|(_, units)| !units.is_empty())
        .map(|((o, w), units)| {
            network_rates(cfg, w, o.row.best_scale, o.spec.seed, units)
                .with_context(|| format!("discriminability trials of {}", o.spec.dir_name()))
        })
        .collect::<Result<_>>()?;
    let stack = |cue: usize| -> Result<Array3<f64>> {
        let views: Vec<_> = rates.iter().map(|r| r[cue].view()).collect();
        Ok(concatenate(Axis(2), &views)?)
    };
    let (minus, plus) = (stack(0)?, stack(1)?);
    let halves = split_half_means(&[minus.view(), plus.view()])?;
    let pick = |labels: &[bool], g: bool| -> Vec<usize> {
        (0..labels.len()).filter(|&u| labels[u] == g).collect()
    };
    let statistic = |l: &[bool]| -> wm_analysis::Result<Array2<f64>> {
        Ok(z_of(&halves, &pick(l, true))? - z_of(&halves, &pick(l, false))?)
    };
    let params = ClusterParams {
        n_permutations: d.permutations,
        ..ClusterParams::new(d.cluster_threshold)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(cfg.seed, 7_000_000));
    let test = cluster_permutation_test(&sel.labels, statistic, &params, &mut rng)?;
    let z_long = z_of(&halves, &pick(&sel.labels, true))?;
    let z_short = z_of(&halves, &pick(&sel.labels, false))?;
    let (time_ms, delay) = map_times(cfg, z_long.dim().0)?;
    Ok(Some(DiscrimResult {
        n_networks: rates.len(),
        n_long: sel.n_long,
        n_short: sel.labels.len() - sel.n_long,
        long_threshold_ms: sel.long_threshold_ms,
        short_threshold_ms: sel.short_threshold_ms,
        mean_z_delay_long: mean_z_in_block(z_long.view(), delay.clone(), delay.clone())?,
        mean_z_delay_short: mean_z_in_block(z_short.view(), delay.clone(), delay.clone())?,
        z_long,
        z_short,
        test,
        time_ms,
        delay,
    }))
}

/// The times of a map's `tc` points relative to the first stimulus's
/// onset (ms), and the map indices of the delay period.
fn map_times(cfg: &KimSejnowskiConfig, tc: usize) -> Result<(Vec<f64>, std::ops::Range<usize>)> {
    let d = &cfg.discriminability;
    let task = long_delay_task(cfg)?;
    let m = (d.step_ms / cfg.dms.dt_ms).round() as usize;
    let s1 = task.epoch("stimulus_1").start as f64 * cfg.dms.dt_ms;
    let time_ms: Vec<f64> = (0..tc).map(|j| (j as f64 + 0.5) * d.step_ms - s1).collect();
    let dr = task.epoch("delay");
    let delay = (dr.start.div_ceil(m)).min(tc)..(dr.end / m).min(tc);
    Ok((time_ms, delay))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hazen_quantiles_match_matlab() {
        // MATLAB: quantile([1 2 3 4], [0.25 0.5 0.75]) = [1.5 2.5 3.5].
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((quantile_hazen(&x, 0.25) - 1.5).abs() < 1e-12);
        assert!((quantile_hazen(&x, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile_hazen(&x, 0.75) - 3.5).abs() < 1e-12);
        assert_eq!(quantile_hazen(&x, 0.0), 1.0);
        assert_eq!(quantile_hazen(&x, 1.0), 4.0);
    }

    #[test]
    fn smoothing_preserves_the_rate_of_a_steady_train() {
        // One spike per 5-ms bin is 200 Hz; after the kernel's warm-up the
        // smoothed rate is 200 Hz, and it is causal (zero before the first spike).
        let mut c = vec![0.0; 100];
        c[40..].iter_mut().for_each(|x| *x = 1.0);
        let r = smooth(&c, 5.0, 10.0, 1);
        assert!(r[..40].iter().all(|&v| v == 0.0));
        assert!((r[99] - 200.0).abs() < 1e-9, "{}", r[99]);
        let coarse = smooth(&c, 5.0, 10.0, 5);
        assert_eq!(coarse.len(), 20);
    }
}
