//! Per-network measures: SI of the recorded test trials and the recurrent
//! weight profile along the peak-time order.

use anyhow::Result;
use ndarray::{Array2, ArrayView2, ArrayView3, Axis};
use wm_analysis::sequentiality::{
    SiParams, SiSummary, sequentiality_index, sequentiality_index_trial,
};
use wm_analysis::weight_profile::{WeightProfile, trial_averaged_peak_order, weight_profile};

/// What a trained network contributes to the study beyond its table row.
#[derive(Debug, Clone)]
pub struct NetworkMeasures {
    /// Network SI (nan-mean over trials).
    pub si: f64,
    /// Trials with SI = NaN.
    pub si_nan_trials: usize,
    /// Trials with SI = +∞.
    pub si_inf_trials: usize,
    /// Mean number of active units per trial.
    pub n_active: f64,
    /// Weight profile along the trial-averaged peak order of the active units
    /// (`None` when fewer than two units are active).
    pub profile: Option<WeightProfile>,
    /// The recorded trial whose SI is closest to the network's SI, `[time, units]`,
    /// for example heat maps.
    pub example_trial: Array2<f64>,
}

/// SI of each trial over its updated steps only: variable-delay trials drop
/// their padded (held) steps before the SI (the original code keeps them).
/// `update` is `[T, B]` (1 update, 0 hold) for `activity` `[B, T, N]`.
pub fn si_of_updated_steps(
    activity: ArrayView3<f64>,
    update: &[f32],
    params: &SiParams,
) -> Result<SiSummary> {
    let (nb, nt, _) = activity.dim();
    anyhow::ensure!(
        update.len() == nt * nb,
        "update flags have {} entries, expected T·B = {}",
        update.len(),
        nt * nb
    );
    let mut per_trial = Vec::with_capacity(nb);
    for b in 0..nb {
        let keep: Vec<usize> = (0..nt).filter(|&t| update[t * nb + b] > 0.5).collect();
        let trial = activity.index_axis(Axis(0), b).select(Axis(0), &keep);
        per_trial.push(sequentiality_index_trial(trial.view(), params)?.si);
    }
    let n_nan = per_trial.iter().filter(|v| v.is_nan()).count();
    let n_inf = per_trial.iter().filter(|v| v.is_infinite()).count();
    let kept: Vec<f64> = per_trial.iter().copied().filter(|v| !v.is_nan()).collect();
    let si = if kept.is_empty() {
        f64::NAN
    } else {
        kept.iter().sum::<f64>() / kept.len() as f64
    };
    Ok(SiSummary {
        per_trial,
        si,
        n_nan,
        n_inf,
    })
}

/// Measure one network from its recurrent matrix `w_hh` `[pre, post]` and the
/// activity of its recorded test trials `[trials, time, units]`. With
/// `update` flags (`[T, B]`, variable-delay trials), SI skips held steps.
pub fn measure(
    w_hh: ArrayView2<f64>,
    activity: ArrayView3<f64>,
    update: Option<&[f32]>,
    max_offset: usize,
) -> Result<NetworkMeasures> {
    let params = SiParams::default();
    let si = match update {
        Some(u) => si_of_updated_steps(activity, u, &params)?,
        None => sequentiality_index(activity, &params)?,
    };
    let n_active = activity
        .axis_iter(Axis(0))
        .map(|trial| {
            trial.mean_axis(Axis(0)).map_or(0, |m| {
                m.iter().filter(|&&v| v > params.activity_threshold).count()
            })
        })
        .sum::<usize>() as f64
        / activity.len_of(Axis(0)).max(1) as f64;
    let order = trial_averaged_peak_order(activity, params.activity_threshold)?;
    let profile = if order.len() >= 2 {
        Some(weight_profile(w_hh, &order, max_offset)?)
    } else {
        None
    };
    let example = si
        .per_trial
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .min_by(|a, b| (a.1 - si.si).abs().total_cmp(&(b.1 - si.si).abs()))
        .map_or(0, |(i, _)| i);
    Ok(NetworkMeasures {
        si: si.si,
        si_nan_trials: si.n_nan,
        si_inf_trials: si.n_inf,
        n_active,
        profile,
        example_trial: activity.index_axis(Axis(0), example).to_owned(),
    })
}

/// Average several networks' profiles offset by offset (mean of means and mean
/// of s.d.s, as the paper averages profiles over networks). Offsets with no
/// data in a network are skipped for that network.
pub fn average_profiles(profiles: &[&WeightProfile]) -> Option<WeightProfile> {
    let first = profiles.first()?;
    let k = first.offsets.len();
    if profiles.iter().any(|p| p.offsets != first.offsets) {
        return None;
    }
    let mut mean = vec![0.0; k];
    let mut sd = vec![0.0; k];
    let mut count = vec![0usize; k];
    for p in profiles {
        for i in 0..k {
            if p.count[i] > 0 && p.mean[i].is_finite() {
                mean[i] += p.mean[i];
                sd[i] += p.sd[i];
                count[i] += 1;
            }
        }
    }
    for i in 0..k {
        if count[i] > 0 {
            mean[i] /= count[i] as f64;
            sd[i] /= count[i] as f64;
        } else {
            mean[i] = f64::NAN;
            sd[i] = f64::NAN;
        }
    }
    Some(WeightProfile {
        offsets: first.offsets.clone(),
        mean,
        sd,
        count,
    })
}

/// The Toeplitz matrix of a mean weight profile, `[n, n]` with
/// `W[i][i+k] = mean(k)` (pre × post): the "mean recurrent connectivity
/// pattern" whose Schur modes Supp. Fig. 12 shows. Offsets beyond the
/// profile's range are 0.
pub fn toeplitz_from_profile(profile: &WeightProfile, n: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, n), |(i, j)| {
        let k = j as i64 - i as i64;
        profile
            .offsets
            .iter()
            .position(|&o| o == k)
            .map(|p| profile.mean[p])
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn toeplitz_places_each_offset_on_its_diagonal() {
        let p = WeightProfile {
            offsets: vec![-1, 0, 1],
            mean: vec![0.01, 1.0, 0.09],
            sd: vec![0.0; 3],
            count: vec![1; 3],
        };
        let w = toeplitz_from_profile(&p, 4);
        assert_eq!(w[[0, 0]], 1.0);
        assert_eq!(w[[0, 1]], 0.09);
        assert_eq!(w[[1, 0]], 0.01);
        assert_eq!(w[[0, 2]], 0.0);
    }

    #[test]
    fn averaging_profiles_skips_missing_offsets() {
        let a = WeightProfile {
            offsets: vec![0, 1],
            mean: vec![1.0, 2.0],
            sd: vec![0.5, 0.5],
            count: vec![3, 2],
        };
        let b = WeightProfile {
            offsets: vec![0, 1],
            mean: vec![3.0, f64::NAN],
            sd: vec![1.5, f64::NAN],
            count: vec![3, 0],
        };
        let m = average_profiles(&[&a, &b]).unwrap();
        assert_eq!(m.mean, vec![2.0, 2.0]);
        assert_eq!(m.sd, vec![1.0, 0.5]);
    }

    #[test]
    fn held_steps_are_dropped_before_the_si() {
        // Trial 0 holds its last state for 20 padded steps in the middle; the SI
        // over its updated steps equals the SI of the same trial without padding.
        let (n, t_real, pad) = (30, 60, 20);
        let bump = |s: usize, i: usize| 4.0 * (-((s as f64 - 2.0 * i as f64).powi(2)) / 8.0).exp();
        let unpadded = Array3::from_shape_fn((1, t_real, n), |(_, s, i)| bump(s, i));
        let padded = Array3::from_shape_fn((1, t_real + pad, n), |(_, s, i)| {
            if s < 30 {
                bump(s, i)
            } else if s < 30 + pad {
                bump(29, i)
            } else {
                bump(s - pad, i)
            }
        });
        let update: Vec<f32> = (0..t_real + pad)
            .map(|s| {
                if (30..30 + pad).contains(&s) {
                    0.0
                } else {
                    1.0
                }
            })
            .collect();
        let params = SiParams::default();
        let want = sequentiality_index(unpadded.view(), &params).unwrap().si;
        let got = si_of_updated_steps(padded.view(), &update, &params)
            .unwrap()
            .si;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        let with_padding = sequentiality_index(padded.view(), &params).unwrap().si;
        assert!(
            (with_padding - want).abs() > 1e-3,
            "padding must matter for this test to mean anything"
        );
    }

    #[test]
    fn a_travelling_bump_is_measured_as_sequential_with_a_forward_profile() {
        // 40 units; unit i peaks at step 3i; W chains i → i+1.
        let (n, t) = (40, 150);
        let act = Array3::from_shape_fn((2, t, n), |(_, s, i)| {
            5.0 * (-((s as f64 - 3.0 * i as f64).powi(2)) / 18.0).exp()
        });
        let w = Array2::from_shape_fn((n, n), |(i, j)| if j == i + 1 { 0.5 } else { 0.0 });
        let m = measure(w.view(), act.view(), None, 3).unwrap();
        assert!(m.si > 5.0, "SI {}", m.si);
        let p = m.profile.unwrap();
        let at = |k: i64| p.mean[p.offsets.iter().position(|&o| o == k).unwrap()];
        assert!((at(1) - 0.5).abs() < 1e-12 && at(-1) == 0.0);
    }
}
