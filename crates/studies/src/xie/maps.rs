//! The unit-sorted maps of one network's single analysed checkpoint: the
//! activity heat map (Xie et al. 2022, Fig. 4) and the recurrent weights
//! sorted by preferred location (Xie et al. 2022, Fig. 5A).

use std::ops::Range;

use anyhow::Result;
use wm_tasks::xie::TrialOutcome;

use crate::xie::config::HeatmapSort;
use crate::xie::recording::{Epochs, Rates, argmax, trials_at};

/// The activity heat map (Xie et al. 2022, Fig. 4): each unit's mean rate
/// over the correct trials with the cue at 90° (or, when no trial there is
/// correct, at the location with the most correct trials, the nearest to
/// 90° among equals), `[unit, step]`, divided by
/// the peak of its mean delay-period rate at its own preferred location;
/// units sorted by that location.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityMap {
    /// One row per unit, sorted by preferred location (ties in index order).
    pub rows: Vec<Vec<f64>>,
    /// Preferred location (index) of each row's unit.
    pub preferred: Vec<usize>,
    /// Cue locations R.
    pub n_locations: usize,
    /// The delay period's steps.
    pub delay: Range<usize>,
    /// The cue location (index) whose correct trials the rows average:
    /// R/4 (90°) unless none of its trials is correct.
    pub shown_location: usize,
    /// Those correct trials; 0 (no correct trial at all) leaves every row
    /// undefined.
    pub shown_trials: usize,
}

/// `W_rec` `[post, pre]` with both axes sorted by preferred cue location.
#[derive(Debug, Clone, PartialEq)]
pub struct SortedWeights {
    /// The sorted matrix.
    pub values: Vec<Vec<f64>>,
}

/// `W_rec` as post × pre, both axes sorted by each unit's preferred cue
/// location (argmax of the normalised cue-period rate, correct trials; ties
/// in index order), as in Xie et al. 2022, Fig. 5A.
pub fn sorted_weights(
    model: &wm_rate_rnn::Leaky,
    rates: &Rates,
    outcomes: &[TrialOutcome],
    repeats: usize,
    ep: &Epochs,
) -> Result<SortedWeights> {
    let n = rates.n_units;
    let n_loc = rates.n_trials / repeats;
    let pref: Vec<usize> = (0..n)
        .map(|i| {
            let tuning: Vec<f64> = (0..n_loc)
                .map(|l| {
                    let trials: Vec<usize> = (l * repeats..(l + 1) * repeats)
                        .filter(|&b| outcomes[b].correct)
                        .collect();
                    let base = trials
                        .iter()
                        .map(|&b| rates.mean(b, i, &ep.fixation))
                        .sum::<f64>()
                        / trials.len().max(1) as f64;
                    let cue = trials
                        .iter()
                        .map(|&b| rates.mean(b, i, &ep.cue))
                        .sum::<f64>()
                        / trials.len().max(1) as f64;
                    wm_analysis::odr::normalized_rate(cue, base)
                })
                .collect();
            argmax(&tuning)
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (pref[i], i));
    // Leaky stores w_rec as pre × post.
    let w = model.parameter("w_rec")?;
    let values = order
        .iter()
        .map(|&post| order.iter().map(|&pre| w[pre * n + post]).collect())
        .collect();
    Ok(SortedWeights { values })
}

/// The location the heat map shows: R/4 (90°) if any of its trials is
/// correct, else the one with the most correct trials, the nearest to R/4
/// (then the lowest index) among equals.
fn shown_location(by_location: &[Vec<usize>]) -> usize {
    let n = by_location.len();
    let quarter = n / 4;
    if !by_location[quarter].is_empty() {
        return quarter;
    }
    let distance = |l: usize| {
        let d = l.abs_diff(quarter);
        d.min(n - d)
    };
    (0..n)
        .min_by_key(|&l| (std::cmp::Reverse(by_location[l].len()), distance(l), l))
        .unwrap_or(quarter)
}

/// Mean 50·r of unit `i` at each step over `trials` (NaN if none).
fn mean_trace(rates: &Rates, i: usize, trials: &[usize]) -> Vec<f64> {
    (0..rates.n_steps)
        .map(|t| {
            if trials.is_empty() {
                f64::NAN
            } else {
                trials.iter().map(|&b| rates.at(t, b, i)).sum::<f64>() / trials.len() as f64
            }
        })
        .collect()
}

/// The activity heat map of one recording (see [`ActivityMap`]): every unit,
/// its preferred location the argmax over locations of the normalised
/// delay-period (or, with [`HeatmapSort::CuePreference`], cue-period) rate
/// on correct trials; ties in index order.
pub fn activity_map(
    rates: &Rates,
    outcomes: &[TrialOutcome],
    repeats: usize,
    ep: &Epochs,
    sort: HeatmapSort,
) -> ActivityMap {
    let n_loc = rates.n_trials / repeats;
    let by_location: Vec<Vec<usize>> = (0..n_loc)
        .map(|l| trials_at(l, repeats, outcomes, |o| o.correct))
        .collect();
    let window = match sort {
        HeatmapSort::DelayPeak => &ep.delay,
        HeatmapSort::CuePreference => &ep.cue,
    };
    let shown_location = shown_location(&by_location);
    let shown = &by_location[shown_location];
    let mut units: Vec<(usize, usize, Vec<f64>)> = (0..rates.n_units)
        .map(|i| {
            let tuning: Vec<f64> = by_location
                .iter()
                .map(|trials| {
                    let mean = |steps: &Range<usize>| {
                        trials.iter().map(|&b| rates.mean(b, i, steps)).sum::<f64>()
                            / trials.len() as f64
                    };
                    wm_analysis::odr::normalized_rate(mean(window), mean(&ep.fixation))
                })
                .collect();
            let pref = argmax(&tuning);
            let peak = mean_trace(rates, i, &by_location[pref])[ep.delay.clone()]
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            let row = mean_trace(rates, i, shown)
                .into_iter()
                .map(|v| if peak > 0.0 { v / peak } else { f64::NAN })
                .collect();
            (pref, i, row)
        })
        .collect();
    units.sort_by_key(|u| (u.0, u.1));
    ActivityMap {
        preferred: units.iter().map(|u| u.0).collect(),
        rows: units.into_iter().map(|u| u.2).collect(),
        n_locations: n_loc,
        delay: ep.delay.clone(),
        shown_location,
        shown_trials: shown.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::shown_location;

    #[test]
    fn the_heat_map_shows_90_degrees_unless_no_trial_there_is_correct() {
        // 8 locations: R/4 = 2 (90°).
        let mut by = vec![
            vec![1],
            vec![],
            vec![7],
            vec![3, 4],
            vec![],
            vec![],
            vec![],
            vec![],
        ];
        assert_eq!(shown_location(&by), 2);
        by[2].clear();
        assert_eq!(shown_location(&by), 3, "most correct trials");
        by[3] = vec![3];
        // Locations 0, 1 (none), 3 tie with one trial: 3 and 1 are nearest
        // to 2, and 1 has none, so 3.
        assert_eq!(shown_location(&by), 3);
        by[3].clear();
        by[1] = vec![9];
        // 0 and 1 tie on count; 1 is nearer to 2.
        assert_eq!(shown_location(&by), 1);
        assert_eq!(shown_location(&[vec![], vec![], vec![], vec![]]), 1);
    }
}
