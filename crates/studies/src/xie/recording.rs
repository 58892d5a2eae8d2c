//! The analyses of Xie et al. 2022 (Methods) on one recording:
//! delay units, preferred locations, normalised PSTHs and the correct-vs-error
//! observations of one checkpoint, saccade endpoints, and the rate–behaviour
//! correlation and Fano factor of a single fully-trained checkpoint.
//!
//! A recording is the R locations × `repeats` test trials of the analysed ODR
//! rule, ordered by location (trial b is at location b ÷ repeats), with the
//! rates `r` `[T, B, N]` of one forward pass. Every rate here is 50·r
//! ("Hz", as Xie's code scales it; the Fano factor depends on that scale).

use std::f64::consts::{PI, TAU};
use std::ops::Range;

use ndarray::Array2;
use serde::Serialize;
use wm_analysis::odr::{median, population_fano_factor, toward_preferred_sign};
use wm_analysis::ring::circular_distance;
use wm_analysis::ring::{AlignedTuning, align_tuning};
use wm_analysis::stats::{AnovaResult, anova_one_way, finite_mean, pearson, ttest_paired};
use wm_tasks::xie::{CORRECT_TOLERANCE, FIXATION_RELEASE, Layout, TrialOutcome};

use crate::xie::config::DelayUnitRule;

/// Xie's rate scale: a rate is 50·r.
pub const RATE_SCALE: f64 = 50.0;

/// Step ranges of the analysed epochs (`[on, off)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epochs {
    /// fix1: trial start to cue onset (the baseline).
    pub fixation: Range<usize>,
    /// stim1: the cue.
    pub cue: Range<usize>,
    /// delay1: cue offset to the response, or to the distractor when there
    /// is one (delay units and preferred locations are read here).
    pub delay: Range<usize>,
    /// The last 1 s before the response.
    pub last_second: Range<usize>,
    /// The window of the correct-vs-error comparison: the last 1 s of the
    /// delay (Xie et al. 2022, Fig. 5) or, with a distractor, the second
    /// delay interval from distractor offset to the response (Fig. 6C).
    pub compared: Range<usize>,
}

impl Epochs {
    /// The epochs of a trial layout at step `dt_ms`.
    pub fn of(lay: &Layout, dt_ms: f64) -> Self {
        let one_second = (1000.0 / dt_ms).round() as usize;
        let first_delay_end = lay.distractor.map_or(lay.response_on, |(on, _)| on);
        let delay = lay.cue_off..first_delay_end;
        let last_second =
            lay.response_on.saturating_sub(one_second).max(lay.cue_off)..lay.response_on;
        let compared = match lay.distractor {
            Some((_, off)) => off..lay.response_on,
            None => last_second.clone(),
        };
        Self {
            fixation: 0..lay.cue_on,
            cue: lay.cue_on..lay.cue_off,
            delay,
            last_second,
            compared,
        }
    }
}

/// Borrowed rates `[T, B, N]` of a recording.
#[derive(Debug, Clone, Copy)]
pub struct Rates<'a> {
    /// Row-major `[T, B, N]` values of r.
    pub values: &'a [f32],
    /// T.
    pub n_steps: usize,
    /// B.
    pub n_trials: usize,
    /// N.
    pub n_units: usize,
}

impl Rates<'_> {
    /// 50·r of unit `i` in trial `b` at step `t`.
    #[inline]
    pub fn at(&self, t: usize, b: usize, i: usize) -> f64 {
        RATE_SCALE * f64::from(self.values[(t * self.n_trials + b) * self.n_units + i])
    }

    /// Mean 50·r of unit `i` in trial `b` over `steps` (NaN if empty).
    pub fn mean(&self, b: usize, i: usize, steps: &Range<usize>) -> f64 {
        if steps.is_empty() {
            return f64::NAN;
        }
        steps.clone().map(|t| self.at(t, b, i)).sum::<f64>() / steps.len() as f64
    }
}

fn mean_of(x: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = x.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// Trials of location `loc` (with `repeats` trials per location) that pass `keep`.
pub(crate) fn trials_at(
    loc: usize,
    repeats: usize,
    outcomes: &[TrialOutcome],
    keep: impl Fn(&TrialOutcome) -> bool,
) -> Vec<usize> {
    (loc * repeats..(loc + 1) * repeats)
        .filter(|&b| keep(&outcomes[b]))
        .collect()
}

/// Normalised rate ρ = rate/baseline − 1 of unit `i` over `steps`, averaged
/// over `trials`, with the baseline from fix1 of the same trials (NaN when
/// there are no trials or the baseline is 0).
fn normalised(
    r: &Rates,
    i: usize,
    trials: &[usize],
    steps: &Range<usize>,
    fix: &Range<usize>,
) -> f64 {
    let base = mean_of(trials.iter().map(|&b| r.mean(b, i, fix)));
    let rate = mean_of(trials.iter().map(|&b| r.mean(b, i, steps)));
    wm_analysis::odr::normalized_rate(rate, base)
}

/// What one checkpoint's recording contributes to the stage-pooled analyses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointAnalysis {
    /// Fraction of test trials correct.
    pub accuracy: f64,
    /// Indices of the delay units.
    pub delay_units: Vec<usize>,
    /// Preferred location of each delay unit (argmax of the mean normalised
    /// delay rate on correct trials).
    pub preferred: Vec<usize>,
    /// Per delay unit: mean normalised rate over the compared window
    /// ([`Epochs::compared`]) at its preferred location, correct trials (NaN
    /// without correct trials there). Xie et al. (2022, Results, Fig. 5)
    /// compare "mean activity in the last 1 s of the delay period" between
    /// correct and error trials.
    pub correct_rate: Vec<f64>,
    /// The same over error trials (NaN without error trials there).
    pub error_rate: Vec<f64>,
    /// The same over direction errors only (NaN without one there).
    pub direction_error_rate: Vec<f64>,
    /// Trials of each kind of error over the whole recording.
    pub error_kinds: ErrorKinds,
    /// Normalised PSTH at the preferred location, correct trials, averaged over delay units (NaN-mean), `[T]`.
    pub psth_correct: Vec<f64>,
    /// The same for error trials.
    pub psth_error: Vec<f64>,
}

/// Why the error trials of a recording failed the correct-trial rule.
///
/// A *direction error* released fixation and saccaded more than the
/// tolerance (36°) away from the cue: the memory was lost or drifted. A
/// *fixation error* never released fixation at the response: the trial
/// failed on timing, whatever the memory held. Xie et al. (2022) pool both
/// as error trials; separating them asks which kind carries the weaker
/// delay activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ErrorKinds {
    /// Released, but decoded outside the tolerance (or undefined).
    pub direction: usize,
    /// Fixation output still ≥ 0.5 at the response.
    pub fixation: usize,
}

/// Whether an error trial is a direction error: fixation released, but the
/// decoded direction outside the tolerance (a NaN direction counts).
fn is_direction_error(o: &TrialOutcome) -> bool {
    !o.correct
        && o.fixation < FIXATION_RELEASE
        && circular_distance(o.decoded, o.answer).partial_cmp(&CORRECT_TOLERANCE)
            != Some(std::cmp::Ordering::Less)
}

impl std::iter::Sum for ErrorKinds {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |a, b| Self {
            direction: a.direction + b.direction,
            fixation: a.fixation + b.fixation,
        })
    }
}

impl ErrorKinds {
    /// Count the error kinds of `outcomes`.
    pub fn of(outcomes: &[TrialOutcome]) -> Self {
        Self {
            direction: outcomes.iter().filter(|o| is_direction_error(o)).count(),
            fixation: outcomes
                .iter()
                .filter(|o| !o.correct && o.fixation >= FIXATION_RELEASE)
                .count(),
        }
    }
}

/// Delay units: with [`DelayUnitRule::Lax`] (Xie's code) a unit
/// whose mean delay rate exceeds its mean fixation rate at any location
/// (correct trials); with [`DelayUnitRule::Ttest`] a paired t-test of
/// per-trial delay vs fixation means with p < 0.05 and a higher delay mean
/// at any location.
pub fn delay_units(
    r: &Rates,
    outcomes: &[TrialOutcome],
    repeats: usize,
    ep: &Epochs,
    rule: DelayUnitRule,
) -> Vec<usize> {
    let n_loc = r.n_trials / repeats;
    (0..r.n_units)
        .filter(|&i| {
            (0..n_loc).any(|loc| {
                let trials = trials_at(loc, repeats, outcomes, |o| o.correct);
                if trials.is_empty() {
                    return false;
                }
                let delay: Vec<f64> = trials.iter().map(|&b| r.mean(b, i, &ep.delay)).collect();
                let fix: Vec<f64> = trials.iter().map(|&b| r.mean(b, i, &ep.fixation)).collect();
                let higher = mean_of(delay.iter().copied()) > mean_of(fix.iter().copied());
                match rule {
                    DelayUnitRule::Lax => higher,
                    DelayUnitRule::Ttest => {
                        higher && ttest_paired(&delay, &fix).is_ok_and(|t| t.p_value < 0.05)
                    }
                }
            })
        })
        .collect()
}

/// Analyse one checkpoint's recording: delay units, PSTHs and the
/// correct-vs-error observations.
pub fn analyse_checkpoint(
    r: &Rates,
    outcomes: &[TrialOutcome],
    repeats: usize,
    ep: &Epochs,
    rule: DelayUnitRule,
) -> CheckpointAnalysis {
    let n_loc = r.n_trials / repeats;
    let units = delay_units(r, outcomes, repeats, ep, rule);
    let correct_at: Vec<Vec<usize>> = (0..n_loc)
        .map(|l| trials_at(l, repeats, outcomes, |o| o.correct))
        .collect();
    let error_at: Vec<Vec<usize>> = (0..n_loc)
        .map(|l| trials_at(l, repeats, outcomes, |o| !o.correct))
        .collect();
    let direction_error_at: Vec<Vec<usize>> = (0..n_loc)
        .map(|l| trials_at(l, repeats, outcomes, is_direction_error))
        .collect();
    let mut direction_error_rate = Vec::with_capacity(units.len());
    let mut preferred = Vec::with_capacity(units.len());
    let mut correct_rate = Vec::with_capacity(units.len());
    let mut error_rate = Vec::with_capacity(units.len());
    let mut psth_c = vec![Vec::new(); r.n_steps];
    let mut psth_e = vec![Vec::new(); r.n_steps];
    for &i in &units {
        let tuning: Vec<f64> = correct_at
            .iter()
            .map(|tr| normalised(r, i, tr, &ep.delay, &ep.fixation))
            .collect();
        let pref = argmax(&tuning);
        preferred.push(pref);
        correct_rate.push(normalised(
            r,
            i,
            &correct_at[pref],
            &ep.last_second,
            &ep.fixation,
        ));
        error_rate.push(normalised(
            r,
            i,
            &error_at[pref],
            &ep.last_second,
            &ep.fixation,
        ));
        direction_error_rate.push(normalised(
            r,
            i,
            &direction_error_at[pref],
            &ep.compared,
            &ep.fixation,
        ));
        for (trials, psth) in [
            (&correct_at[pref], &mut psth_c),
            (&error_at[pref], &mut psth_e),
        ] {
            let base = mean_of(trials.iter().map(|&b| r.mean(b, i, &ep.fixation)));
            for (t, col) in psth.iter_mut().enumerate() {
                let rate = mean_of(trials.iter().map(|&b| r.at(t, b, i)));
                col.push(wm_analysis::odr::normalized_rate(rate, base));
            }
        }
    }
    let accuracy =
        outcomes.iter().filter(|o| o.correct).count() as f64 / outcomes.len().max(1) as f64;
    CheckpointAnalysis {
        accuracy,
        delay_units: units,
        preferred,
        correct_rate,
        error_rate,
        direction_error_rate,
        error_kinds: ErrorKinds::of(outcomes),
        psth_correct: psth_c.into_iter().map(finite_mean).collect(),
        psth_error: psth_e.into_iter().map(finite_mean).collect(),
    }
}

/// Index of the largest finite value (0 if none is finite; ties: the first).
pub fn argmax(x: &[f64]) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (k, &v) in x.iter().enumerate() {
        if v.is_finite() && v > best.1 {
            best = (k, v);
        }
    }
    best.0
}

/// Saccade endpoint: distance of the decoded direction from the cue, degrees
/// in [0, 180], and whether the trial was correct (Xie et al. 2022, Fig. 2).
pub fn endpoints(outcomes: &[TrialOutcome], cues: &[f64]) -> Vec<(f64, bool)> {
    outcomes
        .iter()
        .zip(cues)
        .map(|(o, &cue)| {
            let d = (o.decoded - cue).rem_euclid(TAU);
            (d.min(TAU - d).to_degrees(), o.correct)
        })
        .collect()
}

/// The single-checkpoint analyses: rate–behaviour correlation and Fano factor.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviourAnalysis {
    /// Delay units analysed.
    pub units: Vec<usize>,
    /// Per-unit Pearson r of signed saccade deviation vs rate deviation over
    /// its correct trials away from its preferred location (NaN if undefined).
    pub per_unit_r: Vec<f64>,
    /// Relative positions −180…+180° (L + 1 values, both ends the opposite location).
    pub positions_deg: Vec<f64>,
    /// At each relative position, Pearson r across units of (mean signed Δθ, mean Δf).
    pub position_r: Vec<f64>,
    /// Mean Fano factor across units at each relative position.
    pub fano_aligned: Vec<f64>,
    /// Mean normalised last-1-s tuning curve at each relative position.
    pub tuning_aligned: Vec<f64>,
    /// One-way ANOVA of the per-unit Fano factor across the L relative positions.
    pub fano_anova: Option<AnovaResult>,
}

/// Each correct trial's saccade deviation from its location's median
/// decoded angle: |Δθ| in degrees (NaN for error trials) and whether it is
/// counter-clockwise. Location 0 lifts angles below π/4 by 2π.
fn saccade_deviations(
    outcomes: &[TrialOutcome],
    correct_at: &[Vec<usize>],
    n_trials: usize,
) -> (Vec<f64>, Vec<bool>) {
    let lifted = |loc: usize, th: f64| {
        if loc == 0 && th < PI / 4.0 {
            th + TAU
        } else {
            th
        }
    };
    let mut abs_dev = vec![f64::NAN; n_trials];
    let mut ccw = vec![false; n_trials];
    for (loc, trials) in correct_at.iter().enumerate() {
        let angles: Vec<f64> = trials
            .iter()
            .map(|&b| lifted(loc, outcomes[b].decoded))
            .collect();
        let m = median(&angles);
        for (&b, &th) in trials.iter().zip(&angles) {
            abs_dev[b] = (th - m).abs().to_degrees();
            ccw[b] = th > m;
        }
    }
    (abs_dev, ccw)
}

/// Per-unit measures of the last second of the delay, `[unit, location]`
/// where a matrix.
struct UnitMeasures {
    /// Pearson r of signed Δθ vs rate deviation away from the preference.
    per_unit_r: Vec<f64>,
    /// Mean signed Δθ (unsigned at the opposite location).
    mean_dtheta: Array2<f64>,
    /// Mean deviation of the rate from its location's median.
    mean_df: Array2<f64>,
    /// Fano factor of the per-trial rates.
    fano: Array2<f64>,
    /// Normalised tuning curve.
    tuning: Array2<f64>,
    /// Preferred location by raw last-second rate.
    pref_raw: Vec<usize>,
    /// Preferred location by normalised tuning.
    pref_norm: Vec<usize>,
}

/// The [`UnitMeasures`] of `units` over the correct trials `correct_at` of
/// each location, given each trial's saccade deviation.
fn unit_measures(
    r: &Rates,
    ep: &Epochs,
    units: &[usize],
    correct_at: &[Vec<usize>],
    (abs_dev, ccw): (&[f64], &[bool]),
) -> UnitMeasures {
    let n_loc = correct_at.len();
    let mut m = UnitMeasures {
        per_unit_r: Vec::with_capacity(units.len()),
        mean_dtheta: Array2::from_elem((units.len(), n_loc), f64::NAN),
        mean_df: Array2::from_elem((units.len(), n_loc), f64::NAN),
        fano: Array2::from_elem((units.len(), n_loc), f64::NAN),
        tuning: Array2::from_elem((units.len(), n_loc), f64::NAN),
        pref_raw: Vec::with_capacity(units.len()),
        pref_norm: Vec::with_capacity(units.len()),
    };
    for (u, &i) in units.iter().enumerate() {
        let last: Vec<f64> = (0..r.n_trials)
            .map(|b| r.mean(b, i, &ep.last_second))
            .collect();
        let raw: Vec<f64> = correct_at
            .iter()
            .map(|tr| mean_of(tr.iter().map(|&b| last[b])))
            .collect();
        let pref = argmax(&raw);
        m.pref_raw.push(pref);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for (loc, trials) in correct_at.iter().enumerate() {
            let vals: Vec<f64> = trials.iter().map(|&b| last[b]).collect();
            let med = median(&vals);
            let opposite = 2 * ((loc + n_loc - pref) % n_loc) == n_loc;
            let (mut dt, mut df) = (Vec::new(), Vec::new());
            for (&b, &f) in trials.iter().zip(&vals) {
                let signed = abs_dev[b] * toward_preferred_sign(loc, pref, n_loc, ccw[b]);
                if loc != pref {
                    xs.push(signed);
                    ys.push(f - med);
                }
                // Per-position means: the opposite location's deviation unsigned.
                dt.push(if opposite { abs_dev[b] } else { signed });
                df.push(f - med);
            }
            m.mean_dtheta[[u, loc]] = mean_of(dt.into_iter());
            m.mean_df[[u, loc]] = mean_of(df.into_iter());
            m.fano[[u, loc]] = population_fano_factor(&vals);
            m.tuning[[u, loc]] = normalised(r, i, trials, &ep.last_second, &ep.fixation);
        }
        m.per_unit_r
            .push(pearson(&xs, &ys).map_or(f64::NAN, |c| c.r));
        m.pref_norm.push(argmax(&m.tuning.row(u).to_vec()));
    }
    m
}

/// NaN-mean of each column of an aligned matrix (empty without one).
fn column_means(a: &Option<AlignedTuning>) -> Vec<f64> {
    a.as_ref().map_or_else(Vec::new, |a| {
        a.curves
            .columns()
            .into_iter()
            .map(|c| finite_mean(c.iter()))
            .collect()
    })
}

/// At each aligned position, Pearson r across units of the finite pairs
/// (x, y) (empty unless both are aligned).
fn position_correlations(x: &Option<AlignedTuning>, y: &Option<AlignedTuning>) -> Vec<f64> {
    let (Some(x), Some(y)) = (x, y) else {
        return Vec::new();
    };
    x.curves
        .columns()
        .into_iter()
        .zip(y.curves.columns())
        .map(|(cx, cy)| {
            let (a, b): (Vec<f64>, Vec<f64>) = cx
                .iter()
                .zip(cy.iter())
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .map(|(a, b)| (*a, *b))
                .unzip();
            pearson(&a, &b).map_or(f64::NAN, |c| c.r)
        })
        .collect()
}

/// One-way ANOVA over the `n_loc` distinct relative positions (the last
/// column repeats the first) of the finite values.
fn position_anova(a: &Option<AlignedTuning>, n_loc: usize) -> Option<AnovaResult> {
    let a = a.as_ref()?;
    let groups: Vec<Vec<f64>> = (0..n_loc)
        .map(|j| {
            a.curves
                .column(j)
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect()
        })
        .collect();
    let refs: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
    anova_one_way(&refs).ok()
}

/// Rate–behaviour correlation and Fano factor (Xie et al. 2022, Methods) of the delay
/// units `units`, over the correct trials of the recording (behaviour from
/// the outcomes' decoded directions).
pub fn behaviour_analysis(
    r: &Rates,
    outcomes: &[TrialOutcome],
    repeats: usize,
    ep: &Epochs,
    units: &[usize],
) -> BehaviourAnalysis {
    let n_loc = r.n_trials / repeats;
    let correct_at: Vec<Vec<usize>> = (0..n_loc)
        .map(|l| trials_at(l, repeats, outcomes, |o| o.correct))
        .collect();
    let (abs_dev, ccw) = saccade_deviations(outcomes, &correct_at, r.n_trials);
    let m = unit_measures(r, ep, units, &correct_at, (&abs_dev, &ccw));
    let aligned = |a: &Array2<f64>, pref: &[usize]| align_tuning(a.view(), pref).ok();
    let dtheta_al = aligned(&m.mean_dtheta, &m.pref_raw);
    let df_al = aligned(&m.mean_df, &m.pref_raw);
    let fano_al = aligned(&m.fano, &m.pref_norm);
    let tuning_al = aligned(&m.tuning, &m.pref_norm);
    BehaviourAnalysis {
        units: units.to_vec(),
        per_unit_r: m.per_unit_r,
        positions_deg: dtheta_al
            .as_ref()
            .map(|a| a.offsets_rad.iter().map(|o| o.to_degrees()).collect())
            .unwrap_or_default(),
        position_r: position_correlations(&dtheta_al, &df_al),
        fano_aligned: column_means(&fano_al),
        tuning_aligned: column_means(&tuning_al),
        fano_anova: position_anova(&fano_al, n_loc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(decoded: f64, correct: bool) -> TrialOutcome {
        TrialOutcome {
            decoded,
            answer: 0.0,
            fixation: 0.1,
            correct,
        }
    }

    /// Two locations × 3 repeats, 2 units, T = 4: fixation [0, 1), delay [2, 4).
    fn toy() -> (Vec<f32>, Epochs) {
        let (t, b, n) = (4, 6, 2);
        let mut v = vec![0.0f32; t * b * n];
        for s in 0..t {
            for trial in 0..b {
                // Unit 0: baseline 0.02 (1 Hz), delay 0.06 (3 Hz) at location 0, 0.02 at location 1.
                let delay = s >= 2;
                let u0 = if delay && trial < 3 { 0.06 } else { 0.02 };
                // Unit 1: flat 0.04 except a lower delay everywhere.
                let u1 = if delay { 0.02 } else { 0.04 };
                v[(s * b + trial) * n] = u0;
                v[(s * b + trial) * n + 1] = u1;
            }
        }
        let ep = Epochs {
            fixation: 0..1,
            cue: 1..2,
            delay: 2..4,
            last_second: 3..4,
            compared: 3..4,
        };
        (v, ep)
    }

    #[test]
    fn delay_units_preference_and_normalised_rates_follow_the_definitions() {
        let (v, ep) = toy();
        let r = Rates {
            values: &v,
            n_steps: 4,
            n_trials: 6,
            n_units: 2,
        };
        let outcomes: Vec<TrialOutcome> = (0..6).map(|b| outcome(0.0, b != 2)).collect();
        let a = analyse_checkpoint(&r, &outcomes, 3, &ep, DelayUnitRule::Lax);
        assert_eq!(a.delay_units, vec![0]);
        assert_eq!(a.preferred, vec![0]);
        // ρ = 3 Hz / 1 Hz − 1 = 2 on both correct and error trials at location 0.
        assert!(
            (a.correct_rate[0] - 2.0).abs() < 1e-6,
            "{:?}",
            a.correct_rate
        );
        assert!((a.error_rate[0] - 2.0).abs() < 1e-6);
        assert!((a.psth_correct[3] - 2.0).abs() < 1e-6);
        assert!(a.psth_correct[0].abs() < 1e-6);
        assert!((a.accuracy - 5.0 / 6.0).abs() < 1e-12);
    }

    /// One location × 3 trials, one unit (baseline 1 Hz): a correct trial
    /// (delay 3 Hz), a fixation error (2 Hz) and a direction error (1 Hz).
    /// All errors average to ρ = 0.5, direction errors alone to ρ = 0.
    #[test]
    fn direction_errors_are_told_apart_from_fixation_errors() {
        let rates_per_trial = [0.06f32, 0.04, 0.02];
        let mut v = vec![0.02f32; 3 * 3];
        for (b, &d) in rates_per_trial.iter().enumerate() {
            v[2 * 3 + b] = d;
        }
        let r = Rates {
            values: &v,
            n_steps: 3,
            n_trials: 3,
            n_units: 1,
        };
        let ep = Epochs {
            fixation: 0..1,
            cue: 1..2,
            delay: 2..3,
            last_second: 2..3,
            compared: 2..3,
        };
        let fixation_error = TrialOutcome {
            fixation: 0.9,
            ..outcome(0.0, false)
        };
        let outcomes = [outcome(0.0, true), fixation_error, outcome(PI, false)];
        let a = analyse_checkpoint(&r, &outcomes, 3, &ep, DelayUnitRule::Lax);
        assert_eq!(
            a.error_kinds,
            ErrorKinds {
                direction: 1,
                fixation: 1
            }
        );
        assert!((a.correct_rate[0] - 2.0).abs() < 1e-6);
        assert!((a.error_rate[0] - 0.5).abs() < 1e-6);
        assert!(a.direction_error_rate[0].abs() < 1e-6);
    }

    /// The ODR compares the last second before the response; with a
    /// distractor the first delay ends at its onset and the comparison
    /// covers the second delay interval (distractor offset to response).
    #[test]
    fn epochs_follow_the_layout_with_and_without_a_distractor() {
        use wm_tasks::xie::{XieRule, XieTaskOptions};
        let opts = XieTaskOptions::default();
        let dt = opts.dt_ms;
        let st = |ms: f64| (ms / dt).round() as usize;
        let odr = Epochs::of(&Layout::new(XieRule::Odr3000, &opts, 0.0), dt);
        assert_eq!(odr.delay, st(1500.0)..st(4500.0));
        assert_eq!(odr.compared, st(3500.0)..st(4500.0));
        assert_eq!(odr.compared, odr.last_second);
        let odrd = Epochs::of(&Layout::new(XieRule::Odrd, &opts, 0.0), dt);
        assert_eq!(odrd.fixation, 0..st(1000.0));
        assert_eq!(odrd.delay, st(1500.0)..st(2000.0));
        assert_eq!(odrd.compared, st(2500.0)..st(3000.0));
    }

    #[test]
    fn endpoint_distances_wrap_around_the_circle() {
        let e = endpoints(
            &[outcome(0.1, true), outcome(TAU - 0.1, false)],
            &[TAU - 0.1, 0.1],
        );
        assert!((e[0].0 - 0.2f64.to_degrees()).abs() < 1e-9);
        assert!((e[1].0 - 0.2f64.to_degrees()).abs() < 1e-9);
        assert!(e[0].1 && !e[1].1);
    }

    #[test]
    fn a_unit_whose_rate_follows_the_saccade_toward_its_preference_has_positive_r() {
        // 8 locations × 8 repeats, one unit preferring location 2; on each
        // trial the saccade deviates by δ and the unit's last-second rate
        // rises by 10·(signed toward-preference δ): r must be +1.
        let (n_loc, rep, t) = (8usize, 8usize, 3usize);
        let nb = n_loc * rep;
        let pref = 2usize;
        let mut outcomes = Vec::new();
        let mut v = vec![0.0f32; t * nb];
        for b in 0..nb {
            let loc = b / rep;
            let delta = 0.02 * ((b % rep) as f64 - 3.5);
            let theta = TAU * loc as f64 / n_loc as f64 + delta;
            outcomes.push(outcome(theta.rem_euclid(TAU), true));
            let sign = toward_preferred_sign(loc, pref, n_loc, delta > 0.0);
            let tuning = if loc == pref { 2.0 } else { 1.0 };
            let rate = tuning + 10.0 * sign * delta.abs().to_degrees() / 50.0;
            for s in 0..t {
                v[s * nb + b] = if s == 0 { 0.5 } else { (rate / 50.0) as f32 };
            }
        }
        let r = Rates {
            values: &v,
            n_steps: t,
            n_trials: nb,
            n_units: 1,
        };
        let ep = Epochs {
            fixation: 0..1,
            cue: 1..2,
            delay: 1..3,
            last_second: 2..3,
            compared: 2..3,
        };
        let b = behaviour_analysis(&r, &outcomes, rep, &ep, &[0]);
        assert!((b.per_unit_r[0] - 1.0).abs() < 1e-4, "{:?}", b.per_unit_r);
        assert_eq!(b.positions_deg.len(), n_loc + 1);
        // Fano factor of the per-trial rates at a location: closed form from the planted rates.
        let vals: Vec<f64> = (0..rep)
            .map(|k| {
                let b = 5 * rep + k;
                r.mean(b, 0, &ep.last_second)
            })
            .collect();
        let want = population_fano_factor(&vals);
        // Location 5 sits at +3 positions from the preference: column 3 + L/2.
        let got = b.fano_aligned[3 + n_loc / 2];
        assert!(want > 0.0 && (got - want).abs() < 1e-9, "{got} vs {want}");
    }
}
