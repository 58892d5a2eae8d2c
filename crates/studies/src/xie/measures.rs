//! The measures of each condition, pooled over its networks (Xie et al.
//! 2022, Figs. 2–5): per training stage the correct-vs-error t-test of the
//! normalised delay rate, the mean PSTHs and the saccade-endpoint
//! histograms; at the single analysed checkpoints the delay-unit count, the
//! rate–behaviour correlation, the Fano factor and its ANOVA; the activity
//! heat map's near-over-far ratio. [`statistics`] names them for
//! `summary.toml`.

use std::collections::BTreeMap;

use wm_analysis::odr::median;
use wm_analysis::stats::{
    AnovaResult, Correlation, RankTestResult, TestResult, finite_mean, mann_whitney_u, mean_sem,
    pearson, ttest_paired, ttest_student, ttest_welch,
};

use crate::xie::config::Condition;
use crate::xie::maps::{ActivityMap, SortedWeights};
use crate::xie::network::{
    CheckpointRow, NetworkAnalysis, NetworkRow, SingleCheckpoint, StagePart,
};
use crate::xie::recording::{BehaviourAnalysis, CheckpointAnalysis, ErrorKinds};
use crate::xie::train::Stage;

/// Bins of the endpoint histograms over 0–180° (Xie et al. 2022, Fig. 2).
pub const ENDPOINT_BINS: usize = 30;

/// Everything a run computed.
pub struct Outcome {
    /// One row per network, in run order.
    pub networks: Vec<NetworkRow>,
    /// One row per analysed stage checkpoint, network by network.
    pub checkpoints: Vec<CheckpointRow>,
    /// The pooled measures of each configured condition, in config order.
    pub conditions: Vec<ConditionMeasures>,
}

/// One condition's networks, pooled.
pub struct ConditionMeasures {
    /// The condition.
    pub condition: Condition,
    /// Its networks.
    pub n_networks: usize,
    /// Mean final analysed-ODR evaluation performance.
    pub final_odr_perf_mean: f64,
    /// Lowest final analysed-ODR evaluation performance (+∞ without networks).
    pub final_odr_perf_min: f64,
    /// Mean training steps.
    pub train_steps_mean: f64,
    /// The three stages in training order.
    pub stages: Vec<StageMeasures>,
    /// The single-checkpoint analyses, `None` when no network reached a stage.
    pub behaviour: Option<BehaviourMeasures>,
    /// The first network's activity heat map and its near-over-far ratio.
    pub activity: Option<ActivityMeasures>,
    /// The first network's sorted recurrent weights.
    pub weights: Option<SortedWeights>,
}

/// One stage's checkpoints, pooled.
pub struct StageMeasures {
    /// The stage.
    pub stage: Stage,
    /// Checkpoints analysed at this stage over all networks.
    pub n_checkpoints: usize,
    /// The pooled analyses, `None` without checkpoints.
    pub pooled: Option<StagePooled>,
}

/// The pooled analyses of a stage with at least one checkpoint.
pub struct StagePooled {
    /// Mean normalised last-second delay rate at the preferred location, correct trials,
    /// over every (checkpoint, delay unit).
    pub correct_rate_norm: f64,
    /// The same over error trials.
    pub error_rate_norm: f64,
    /// Student t-test of those correct vs error observations.
    pub test: Option<TestResult>,
    /// The same test under the other pairing of rates and behaviour.
    pub test_other: Option<TestResult>,
    /// Mann–Whitney U test of the same observations (configured pairing):
    /// by ranks, so the few huge ratios of a rate to a near-zero baseline
    /// weigh no more than other observations (a diagnostic beside the
    /// paper's t-test, not a published statistic).
    pub rank_test: Option<RankTestResult>,
    /// Mean normalised last-second delay rate at the preferred location over direction
    /// errors only (released fixation, saccade outside the tolerance).
    pub direction_error_rate_norm: f64,
    /// Student t-test of the correct observations against those.
    pub test_direction: Option<TestResult>,
    /// Mann–Whitney U test of the same.
    pub rank_direction: Option<RankTestResult>,
    /// Error trials of each kind over the stage's recordings (configured pairing).
    pub error_kinds: ErrorKinds,
    /// Within checkpoints: paired t-test of correct minus error observations
    /// of the same unit in the same checkpoint (units with both).
    pub within_checkpoint: Option<TestResult>,
    /// The ODR-with-distractor comparison over the second delay interval,
    /// `None` when no checkpoint recorded the task.
    pub distractor: Option<DistractorPooled>,
    /// Composition: Welch t-test of the correct observations of units with
    /// no error observation against those of units with one. With f the
    /// share of correct observations from units without one, the pooled
    /// correct − error difference is f × this difference plus the within
    /// difference (up to units with an error observation but no correct one).
    pub composition: Option<TestResult>,
    /// Between checkpoints: Pearson r of a checkpoint's accuracy with its
    /// delay units' mean normalised correct-trial delay rate. Xie et al.
    /// (2022, Results, "Unit activity and behaviour") attribute the
    /// published difference mostly to this between-instance part.
    pub between_checkpoints: Option<Correlation>,
    /// Mean normalised PSTH at the preferred location over checkpoints, correct trials, `[T]`.
    pub psth_correct: Vec<f64>,
    /// The same over error trials.
    pub psth_error: Vec<f64>,
    /// Endpoint histogram of the correct trials (`None` without any).
    pub endpoints_correct: Option<EndpointHistogram>,
    /// Endpoint histogram of the error trials (`None` without any).
    pub endpoints_error: Option<EndpointHistogram>,
}

/// Correct vs error trials of the ODR with distractor, pooled over a
/// stage's checkpoints (Xie et al. 2022, Fig. 6C).
pub struct DistractorPooled {
    /// Mean normalised second-delay rate at the preferred location, correct trials.
    pub correct_rate_norm: f64,
    /// The same over error trials.
    pub error_rate_norm: f64,
    /// Student t-test of the pooled observations (the paper's test).
    pub test: Option<TestResult>,
    /// Paired t-test within units and checkpoints.
    pub within: Option<TestResult>,
    /// Error trials over the stage's recordings.
    pub error_kinds: ErrorKinds,
    /// Fraction of the recorded trials correct.
    pub accuracy: f64,
}

/// Saccade endpoints of one kind of trial (correct or error) at one stage.
pub struct EndpointHistogram {
    /// The trials of this kind over all the stage's recorded trials.
    pub fraction: f64,
    /// Fraction of these trials in each of [`ENDPOINT_BINS`] bins of the
    /// distance from the cue over 0–180°.
    pub density: Vec<f64>,
    /// Median distance from the cue over the trials with a defined
    /// direction, degrees (NaN if none).
    pub median_deg: f64,
}

/// The single analysed checkpoints of a condition's networks, pooled.
pub struct BehaviourMeasures {
    /// Mean delay-unit count per network.
    pub delay_units_mean: f64,
    /// Mean delay-unit count per network by the paper's t-test rule.
    pub delay_units_ttest_mean: f64,
    /// Every finite per-unit rate–behaviour r.
    pub per_unit_r: Vec<f64>,
    /// Their mean.
    pub rate_behaviour_r_mean: f64,
    /// The mean finite per-unit r under the other pairing.
    pub rate_behaviour_r_mean_other: f64,
    /// Mean Fano factor over networks and relative positions.
    pub fano_mean: f64,
    /// The first network's ANOVA of the Fano factor across positions.
    pub fano_anova: Option<AnovaResult>,
    /// Relative positions −180…+180° (the first network's).
    pub positions_deg: Vec<f64>,
    /// Mean Fano factor over networks at each position.
    pub fano_by_position: Vec<f64>,
    /// The M shape of the Fano factor: its mean on the flanks (positions
    /// strictly between 0 and ±180°) minus its mean at the preferred (0°)
    /// and opposite (±180°) positions; > 0 for an M (Xie et al. 2022, Fig. 9).
    pub fano_m_contrast: f64,
    /// Its standard error over networks (0 where undefined).
    pub fano_sem: Vec<f64>,
    /// Mean rate–behaviour r across units over networks at each position.
    pub r_by_position: Vec<f64>,
}

/// The activity heat map shown for a condition and the delay activity it
/// shows.
pub struct ActivityMeasures {
    /// The map.
    pub map: ActivityMap,
    /// Mean normalised delay rate of the units preferring within 45° of the
    /// 90° cue over that of the others (> 1 for a bump-like code).
    pub near_over_far: f64,
}

/// The outcome of a run from its networks' analyses: the rows, and each of
/// `conditions` pooled over its networks.
pub fn outcome(conditions: &[Condition], analyses: &[NetworkAnalysis]) -> Outcome {
    Outcome {
        networks: analyses.iter().map(|a| a.row.clone()).collect(),
        checkpoints: analyses
            .iter()
            .flat_map(|a| a.checkpoints.iter().cloned())
            .collect(),
        conditions: conditions
            .iter()
            .map(|&c| {
                let of: Vec<&NetworkAnalysis> = analyses
                    .iter()
                    .filter(|a| a.row.condition == c.name())
                    .collect();
                condition_measures(c, &of)
            })
            .collect(),
    }
}

fn condition_measures(c: Condition, nets: &[&NetworkAnalysis]) -> ConditionMeasures {
    let finals: Vec<f64> = nets.iter().map(|a| a.row.final_odr_perf).collect();
    let steps: Vec<f64> = nets.iter().map(|a| a.row.steps as f64).collect();
    let singles: Vec<&SingleCheckpoint> = nets.iter().filter_map(|a| a.single.as_ref()).collect();
    ConditionMeasures {
        condition: c,
        n_networks: nets.len(),
        final_odr_perf_mean: finite_mean(&finals),
        final_odr_perf_min: finals.iter().copied().fold(f64::INFINITY, f64::min),
        train_steps_mean: finite_mean(&steps),
        stages: Stage::ALL
            .into_iter()
            .map(|stage| {
                let parts: Vec<&StagePart> = nets
                    .iter()
                    .flat_map(|a| a.stages.iter().filter(|p| p.stage == stage))
                    .collect();
                StageMeasures {
                    stage,
                    n_checkpoints: parts.len(),
                    pooled: (!parts.is_empty()).then(|| stage_pooled(&parts)),
                }
            })
            .collect(),
        behaviour: (!singles.is_empty()).then(|| behaviour_measures(&singles)),
        activity: singles.first().map(|s| activity_measures(&s.activity)),
        weights: singles.first().map(|s| s.weights.clone()),
    }
}

/// The correct and error observations of one pairing pooled over `parts`
/// (finite ones only), with `errors` choosing which error observations
/// (all error trials or direction errors only): their means, the Student
/// t-test between them and the Mann–Whitney U test.
fn correct_vs_error(
    parts: &[&StagePart],
    pick: impl Fn(&StagePart) -> Option<&CheckpointAnalysis>,
    errors: fn(&CheckpointAnalysis) -> &Vec<f64>,
) -> (f64, f64, Option<TestResult>, Option<RankTestResult>) {
    let (mut cr, mut er) = (Vec::new(), Vec::new());
    for p in parts {
        if let Some(a) = pick(p) {
            cr.extend(a.correct_rate.iter().copied().filter(|v| v.is_finite()));
            er.extend(errors(a).iter().copied().filter(|v| v.is_finite()));
        }
    }
    (
        finite_mean(&cr),
        finite_mean(&er),
        ttest_student(&cr, &er).ok(),
        mann_whitney_u(&cr, &er).ok(),
    )
}

/// Paired t-test of correct minus error observations of the same unit in
/// the same checkpoint (the analyses `pick` chooses), over the pairs where
/// both are finite: the difference with no between-checkpoint part.
fn within_checkpoint(
    parts: &[&StagePart],
    pick: impl Fn(&StagePart) -> Option<&CheckpointAnalysis>,
) -> Option<TestResult> {
    let (c, e): (Vec<f64>, Vec<f64>) = parts
        .iter()
        .filter_map(|p| pick(p))
        .flat_map(|a| a.correct_rate.iter().zip(&a.error_rate))
        .filter(|(c, e)| c.is_finite() && e.is_finite())
        .map(|(&c, &e)| (c, e))
        .unzip();
    ttest_paired(&c, &e).ok()
}

/// The ODR-with-distractor comparison of a stage, when its checkpoints
/// recorded the task.
fn distractor_pooled(parts: &[&StagePart]) -> Option<DistractorPooled> {
    let recorded: Vec<&CheckpointAnalysis> =
        parts.iter().filter_map(|p| p.distractor.as_ref()).collect();
    if recorded.is_empty() {
        return None;
    }
    let (correct_rate_norm, error_rate_norm, test, _) =
        correct_vs_error(parts, |p| p.distractor.as_ref(), |a| &a.error_rate);
    Some(DistractorPooled {
        correct_rate_norm,
        error_rate_norm,
        test,
        within: within_checkpoint(parts, |p| p.distractor.as_ref()),
        error_kinds: recorded.iter().map(|a| a.error_kinds).sum(),
        accuracy: finite_mean(recorded.iter().map(|a| a.accuracy).collect::<Vec<_>>()),
    })
}

/// Welch t-test of the correct observations of units without a finite error
/// observation against those of units with one (configured pairing).
fn composition(parts: &[&StagePart]) -> Option<TestResult> {
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for p in parts {
        for (&c, &e) in p.main.correct_rate.iter().zip(&p.main.error_rate) {
            if c.is_finite() {
                if e.is_finite() {
                    &mut with
                } else {
                    &mut without
                }
                .push(c);
            }
        }
    }
    ttest_welch(&without, &with).ok()
}

/// Pearson r across checkpoints of accuracy with the mean normalised
/// correct-trial delay rate of the checkpoint's delay units.
fn between_checkpoints(parts: &[&StagePart]) -> Option<Correlation> {
    let (acc, rate): (Vec<f64>, Vec<f64>) = parts
        .iter()
        .map(|p| (p.main.accuracy, finite_mean(&p.main.correct_rate)))
        .filter(|(a, r)| a.is_finite() && r.is_finite())
        .unzip();
    pearson(&acc, &rate).ok()
}

/// The PSTH `pick` of the configured pairing averaged over `parts`, step by
/// step over the checkpoints that have the step (finite values only).
fn mean_psth(parts: &[&StagePart], pick: fn(&CheckpointAnalysis) -> &Vec<f64>) -> Vec<f64> {
    let len = parts.iter().map(|p| pick(&p.main).len()).max().unwrap_or(0);
    (0..len)
        .map(|t| {
            finite_mean(
                parts
                    .iter()
                    .filter_map(|p| pick(&p.main).get(t).copied())
                    .collect::<Vec<_>>(),
            )
        })
        .collect()
}

/// The endpoint histogram of the correct (`want`) or error trials of `parts`.
fn endpoint_histogram(parts: &[&StagePart], want: bool) -> Option<EndpointHistogram> {
    let mut h = [0.0; ENDPOINT_BINS];
    let mut distances = Vec::new();
    for p in parts {
        for &(d, correct) in &p.endpoints {
            if correct == want {
                let bin = ((d / 180.0 * ENDPOINT_BINS as f64) as usize).min(ENDPOINT_BINS - 1);
                h[bin] += 1.0;
                distances.push(d);
            }
        }
    }
    let n = distances.len() as f64;
    (n > 0.0).then(|| EndpointHistogram {
        fraction: n / parts.iter().map(|p| p.endpoints.len()).sum::<usize>() as f64,
        density: h.iter().map(|v| v / n).collect(),
        median_deg: median(&distances),
    })
}

fn stage_pooled(parts: &[&StagePart]) -> StagePooled {
    let (correct_rate_norm, error_rate_norm, test, rank_test) =
        correct_vs_error(parts, |p| Some(&p.main), |a| &a.error_rate);
    let (_, _, test_other, _) = correct_vs_error(parts, |p| p.other.as_ref(), |a| &a.error_rate);
    let (_, direction_error_rate_norm, test_direction, rank_direction) =
        correct_vs_error(parts, |p| Some(&p.main), |a| &a.direction_error_rate);
    let error_kinds = parts.iter().map(|p| p.main.error_kinds).sum();
    StagePooled {
        correct_rate_norm,
        error_rate_norm,
        test,
        test_other,
        rank_test,
        direction_error_rate_norm,
        test_direction,
        rank_direction,
        error_kinds,
        within_checkpoint: within_checkpoint(parts, |p| Some(&p.main)),
        distractor: distractor_pooled(parts),
        composition: composition(parts),
        between_checkpoints: between_checkpoints(parts),
        psth_correct: mean_psth(parts, |a| &a.psth_correct),
        psth_error: mean_psth(parts, |a| &a.psth_error),
        endpoints_correct: endpoint_histogram(parts, true),
        endpoints_error: endpoint_histogram(parts, false),
    }
}

/// Mean of `values` on the flanks (positions strictly between 0 and ±180°)
/// minus their mean at 0° and ±180° (finite values only; NaN if either
/// side has none).
fn m_contrast(positions_deg: &[f64], values: &[f64]) -> f64 {
    let (mut flank, mut ends) = (Vec::new(), Vec::new());
    for (&p, &v) in positions_deg.iter().zip(values) {
        let a = p.abs();
        if a > 1e-9 && a < 180.0 - 1e-9 {
            flank.push(v);
        } else {
            ends.push(v);
        }
    }
    finite_mean(&flank) - finite_mean(&ends)
}

/// Pool the single analysed checkpoints (at least one).
fn behaviour_measures(singles: &[&SingleCheckpoint]) -> BehaviourMeasures {
    let units: Vec<f64> = singles.iter().map(|s| s.delay_units as f64).collect();
    let finite_r = |b: &BehaviourAnalysis| -> Vec<f64> {
        b.per_unit_r
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect()
    };
    let rs: Vec<f64> = singles.iter().flat_map(|s| finite_r(&s.main)).collect();
    let rs_other: Vec<f64> = singles
        .iter()
        .filter_map(|s| s.other.as_ref())
        .flat_map(finite_r)
        .collect();
    let fano: Vec<f64> = singles
        .iter()
        .flat_map(|s| s.main.fano_aligned.iter().copied())
        .collect();
    let first = &singles[0].main;
    let n_positions = first.positions_deg.len();
    let at = |j: usize, pick: fn(&BehaviourAnalysis) -> &Vec<f64>| -> Vec<f64> {
        singles
            .iter()
            .filter_map(|s| pick(&s.main).get(j).copied())
            .collect()
    };
    let fano_by_position: Vec<f64> = (0..n_positions)
        .map(|j| finite_mean(at(j, |b| &b.fano_aligned)))
        .collect();
    BehaviourMeasures {
        delay_units_mean: finite_mean(&units),
        delay_units_ttest_mean: finite_mean(
            singles
                .iter()
                .map(|s| s.delay_units_ttest as f64)
                .collect::<Vec<_>>(),
        ),
        rate_behaviour_r_mean: finite_mean(&rs),
        rate_behaviour_r_mean_other: finite_mean(&rs_other),
        per_unit_r: rs,
        fano_mean: finite_mean(&fano),
        fano_anova: first.fano_anova,
        positions_deg: first.positions_deg.clone(),
        fano_by_position: fano_by_position.clone(),
        fano_m_contrast: m_contrast(&first.positions_deg, &fano_by_position),
        fano_sem: (0..n_positions)
            .map(|j| {
                let v: Vec<f64> = at(j, |b| &b.fano_aligned)
                    .into_iter()
                    .filter(|v| v.is_finite())
                    .collect();
                mean_sem(&v).map_or(0.0, |m| if m.sem.is_finite() { m.sem } else { 0.0 })
            })
            .collect(),
        r_by_position: (0..n_positions)
            .map(|j| finite_mean(at(j, |b| &b.position_r)))
            .collect(),
    }
}

/// Delay activity at the shown cue (90° when any trial there is correct)
/// carried by the units tuned near it: the mean normalised delay rate of
/// units preferring within 45° of the cue over that of the others.
fn activity_measures(m: &ActivityMap) -> ActivityMeasures {
    let (mut near, mut far) = (Vec::new(), Vec::new());
    for (row, &p) in m.rows.iter().zip(&m.preferred) {
        let d = (p as f64 - m.shown_location as f64).abs() * 360.0 / m.n_locations as f64;
        let v = finite_mean(&row[m.delay.clone()]);
        if d.min(360.0 - d) <= 45.0 {
            near.push(v);
        } else {
            far.push(v);
        }
    }
    ActivityMeasures {
        map: m.clone(),
        near_over_far: finite_mean(&near) / finite_mean(&far),
    }
}

/// The named statistics of `summary.toml`: `<condition>_<name>`, finite
/// values only.
pub fn statistics(outcome: &Outcome) -> BTreeMap<String, f64> {
    let mut stats = BTreeMap::new();
    for c in &outcome.conditions {
        let k = c.condition.name();
        for (name, v) in condition_statistics(c) {
            if v.is_finite() {
                stats.insert(format!("{k}_{name}"), v);
            }
        }
    }
    stats
}

/// One condition's statistics, unprefixed, finite or not.
fn condition_statistics(c: &ConditionMeasures) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = vec![
        ("n_networks".into(), c.n_networks as f64),
        ("final_odr_perf_mean".into(), c.final_odr_perf_mean),
        ("final_odr_perf_min".into(), c.final_odr_perf_min),
        ("train_steps_mean".into(), c.train_steps_mean),
    ];
    for st in &c.stages {
        v.extend(stage_statistics(st));
    }
    if let Some(b) = &c.behaviour {
        v.extend([
            ("delay_units_mean".into(), b.delay_units_mean),
            ("delay_units_ttest_mean".into(), b.delay_units_ttest_mean),
            ("fano_m_contrast".into(), b.fano_m_contrast),
            ("rate_behaviour_r_mean".into(), b.rate_behaviour_r_mean),
            (
                "rate_behaviour_r_mean_other_pairing".into(),
                b.rate_behaviour_r_mean_other,
            ),
            ("rate_behaviour_n_units".into(), b.per_unit_r.len() as f64),
            ("fano_mean".into(), b.fano_mean),
        ]);
        if let Some(a) = &b.fano_anova {
            v.extend([
                ("fano_anova_f".into(), a.f),
                ("fano_anova_p".into(), a.p_value),
                ("fano_anova_df_within".into(), a.df_within as f64),
            ]);
        }
    }
    if let Some(a) = &c.activity {
        v.push(("heatmap_delay_near_over_far".into(), a.near_over_far));
    }
    v
}

/// One stage's statistics, named `<stage>_<name>`.
fn stage_statistics(st: &StageMeasures) -> Vec<(String, f64)> {
    let s = st.stage.name();
    let mut v = vec![(format!("{s}_n_checkpoints"), st.n_checkpoints as f64)];
    let Some(p) = &st.pooled else {
        return v;
    };
    v.push((format!("{s}_correct_rate_norm"), p.correct_rate_norm));
    v.push((format!("{s}_error_rate_norm"), p.error_rate_norm));
    if let Some(t) = &p.test {
        v.push((format!("{s}_correct_vs_error_t"), t.statistic));
        v.push((format!("{s}_correct_vs_error_df"), t.df));
        v.push((format!("{s}_correct_vs_error_p"), t.p_value));
    }
    if let Some(t) = &p.test_other {
        v.push((format!("{s}_correct_vs_error_t_other_pairing"), t.statistic));
    }
    if let Some(r) = &p.rank_test {
        v.push((
            format!("{s}_correct_vs_error_prob_superiority"),
            r.prob_superiority,
        ));
        v.push((format!("{s}_correct_vs_error_rank_p"), r.p_value));
    }
    v.push((
        format!("{s}_n_direction_errors"),
        p.error_kinds.direction as f64,
    ));
    v.push((
        format!("{s}_n_fixation_errors"),
        p.error_kinds.fixation as f64,
    ));
    v.push((
        format!("{s}_direction_error_rate_norm"),
        p.direction_error_rate_norm,
    ));
    if let Some(t) = &p.test_direction {
        v.push((format!("{s}_correct_vs_direction_error_t"), t.statistic));
        v.push((format!("{s}_correct_vs_direction_error_df"), t.df));
        v.push((format!("{s}_correct_vs_direction_error_p"), t.p_value));
    }
    if let Some(t) = &p.within_checkpoint {
        v.push((format!("{s}_correct_minus_error_within_t"), t.statistic));
        v.push((format!("{s}_correct_minus_error_within_p"), t.p_value));
        v.push((format!("{s}_correct_minus_error_within_mean"), t.estimate));
    }
    if let Some(d) = &p.distractor {
        v.push((format!("{s}_odrd_accuracy"), d.accuracy));
        v.push((format!("{s}_odrd_correct_rate_norm"), d.correct_rate_norm));
        v.push((format!("{s}_odrd_error_rate_norm"), d.error_rate_norm));
        v.push((
            format!("{s}_odrd_n_error_trials"),
            (d.error_kinds.direction + d.error_kinds.fixation) as f64,
        ));
        if let Some(t) = &d.test {
            v.push((format!("{s}_odrd_correct_vs_error_t"), t.statistic));
            v.push((format!("{s}_odrd_correct_vs_error_df"), t.df));
            v.push((format!("{s}_odrd_correct_vs_error_p"), t.p_value));
        }
        if let Some(t) = &d.within {
            v.push((
                format!("{s}_odrd_correct_minus_error_within_t"),
                t.statistic,
            ));
            v.push((format!("{s}_odrd_correct_minus_error_within_p"), t.p_value));
            v.push((
                format!("{s}_odrd_correct_minus_error_within_mean"),
                t.estimate,
            ));
        }
    }
    if let Some(t) = &p.composition {
        v.push((
            format!("{s}_correct_units_without_minus_with_error_t"),
            t.statistic,
        ));
        v.push((
            format!("{s}_correct_units_without_minus_with_error_p"),
            t.p_value,
        ));
        v.push((
            format!("{s}_correct_units_without_minus_with_error_mean"),
            t.estimate,
        ));
    }
    if let Some(c) = &p.between_checkpoints {
        v.push((format!("{s}_accuracy_vs_delay_rate_r"), c.r));
        v.push((format!("{s}_accuracy_vs_delay_rate_p"), c.p_value));
    }
    if let Some(r) = &p.rank_direction {
        v.push((
            format!("{s}_correct_vs_direction_error_prob_superiority"),
            r.prob_superiority,
        ));
        v.push((format!("{s}_correct_vs_direction_error_rank_p"), r.p_value));
    }
    for (label, h) in [
        ("correct", &p.endpoints_correct),
        ("error", &p.endpoints_error),
    ] {
        if let Some(h) = h {
            v.push((format!("{s}_endpoint_{label}_fraction"), h.fraction));
            v.push((format!("{s}_endpoint_{label}_median_deg"), h.median_deg));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(endpoints: Vec<(f64, bool)>, correct: Vec<f64>, error: Vec<f64>) -> StagePart {
        StagePart {
            stage: Stage::Mid,
            main: CheckpointAnalysis {
                accuracy: 0.5,
                delay_units: (0..correct.len()).collect(),
                preferred: vec![0; correct.len()],
                correct_rate: correct,
                direction_error_rate: error.clone(),
                error_rate: error,
                error_kinds: ErrorKinds {
                    direction: 2,
                    fixation: 1,
                },
                psth_correct: vec![1.0, 3.0],
                psth_error: vec![f64::NAN],
            },
            other: None,
            distractor: None,
            endpoints,
        }
    }

    /// Endpoints fall in 6° bins over 0–180° (180° itself in the last bin);
    /// each kind's density sums to 1 and its fraction counts every trial of
    /// every checkpoint.
    #[test]
    fn endpoint_histograms_bin_by_six_degrees() {
        let a = part(
            vec![(10.0, true), (100.0, true), (180.0, false)],
            vec![],
            vec![],
        );
        let b = part(vec![(0.0, true)], vec![], vec![]);
        let parts = [&a, &b];
        let c = endpoint_histogram(&parts, true).unwrap();
        assert_eq!(c.fraction, 0.75);
        let mut want = vec![0.0; ENDPOINT_BINS];
        (want[0], want[1], want[16]) = (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0);
        assert_eq!(c.density, want);
        let e = endpoint_histogram(&parts, false).unwrap();
        assert_eq!((e.fraction, e.density[ENDPOINT_BINS - 1]), (0.25, 1.0));
        assert!(endpoint_histogram(&[&b], false).is_none());
    }

    /// The stage pools every finite (checkpoint, unit) observation; the PSTH
    /// is averaged step by step over the checkpoints that have the step.
    #[test]
    fn a_stage_pools_observations_over_checkpoints() {
        let a = part(vec![], vec![1.0, f64::NAN], vec![0.0, 0.5]);
        let mut b = part(vec![], vec![2.0, 3.0], vec![1.0, 0.5]);
        b.main.psth_correct = vec![3.0];
        let p = stage_pooled(&[&a, &b]);
        assert_eq!(p.correct_rate_norm, 2.0);
        assert_eq!(p.error_rate_norm, 0.5);
        // Student t of {1, 2, 3} vs {0, 0.5, 1, 0.5}: pooled variance
        // (2 + 0.5) / 5 = 0.5, t = 1.5 / sqrt(0.5 (1/3 + 1/4)).
        let t = p.test.unwrap();
        assert!((t.statistic - 1.5 / (0.5f64 * 7.0 / 12.0).sqrt()).abs() < 1e-12);
        assert_eq!(t.df, 5.0);
        assert!(p.test_other.is_none());
        // Error kinds add over checkpoints.
        assert_eq!(
            p.error_kinds,
            ErrorKinds {
                direction: 4,
                fixation: 2
            }
        );
        assert_eq!(p.psth_correct, vec![2.0, 3.0]);
        assert!(p.psth_error[0].is_nan());
        // Within: pairs (1, 0), (2, 1), (3, 0.5): differences 1, 1, 2.5,
        // mean 1.5, s.d. √0.75, SE 0.5, t = 3 on 2 df.
        let w = p.within_checkpoint.unwrap();
        assert!((w.estimate - 1.5).abs() < 1e-12);
        assert!((w.statistic - 3.0).abs() < 1e-12);
        // Every unit with a correct observation has an error one: no
        // composition contrast; equal accuracies: no between correlation.
        assert!(p.composition.is_none());
        assert!(p.between_checkpoints.is_none());
    }

    /// The distractor comparison pools only the checkpoints that recorded
    /// the task, and is absent when none did.
    #[test]
    fn the_distractor_comparison_pools_recorded_checkpoints_only() {
        let a = part(vec![], vec![1.0], vec![0.0]);
        assert!(stage_pooled(&[&a]).distractor.is_none());
        let mut b = part(vec![], vec![], vec![]);
        let mut odrd = part(vec![], vec![3.0, 4.0, f64::NAN], vec![1.0, 1.5, 2.0]).main;
        odrd.accuracy = 0.75;
        b.distractor = Some(odrd);
        let d = stage_pooled(&[&a, &b]).distractor.unwrap();
        assert_eq!(d.accuracy, 0.75);
        assert_eq!(d.correct_rate_norm, 3.5);
        assert_eq!(d.error_rate_norm, 1.5);
        assert_eq!(
            d.error_kinds,
            ErrorKinds {
                direction: 2,
                fixation: 1
            }
        );
        // Student t of {3, 4} vs {1, 1.5, 2}: pooled variance (0.5 + 0.5) / 3,
        // t = 2 / sqrt(1/3 · (1/2 + 1/3)).
        let t = d.test.unwrap();
        assert!((t.statistic - 2.0 / (1.0f64 / 3.0 * 5.0 / 6.0).sqrt()).abs() < 1e-12);
        // Within: pairs (3, 1), (4, 1.5): differences 2 and 2.5.
        assert!((d.within.unwrap().estimate - 2.25).abs() < 1e-12);
    }

    /// Composition compares the correct observations of units without an
    /// error observation with those of units with one; between correlates
    /// checkpoint accuracy with the mean correct observation.
    #[test]
    fn composition_and_between_parts_follow_their_definitions() {
        let mut a = part(
            vec![],
            vec![4.0, 6.0, 1.0, 2.0],
            vec![f64::NAN, f64::NAN, 0.0, 1.0],
        );
        a.main.accuracy = 0.9;
        let mut b = part(vec![], vec![1.0], vec![f64::NAN]);
        b.main.accuracy = 0.5;
        let mut c = part(vec![], vec![2.0], vec![f64::NAN]);
        c.main.accuracy = 0.6;
        let p = stage_pooled(&[&a, &b, &c]);
        // Without: {4, 6, 1, 2}, with: {1, 2}: difference 3.25 − 1.5.
        let t = p.composition.unwrap();
        assert!((t.estimate - 1.75).abs() < 1e-12);
        // Checkpoint means 3.25, 1, 2 against accuracies 0.9, 0.5, 0.6.
        let r = p.between_checkpoints.unwrap();
        // By hand: Sxy = 0.458333, Sxx = 0.086667, Syy = 2.541667.
        let want = 0.458_333_333 / (0.086_666_667_f64 * 2.541_666_667).sqrt();
        assert!((r.r - want).abs() < 1e-8, "{} vs {want}", r.r);
        assert_eq!(r.n, 3);
    }

    /// The M contrast averages the flanks against 0° and both ±180° ends.
    #[test]
    fn the_m_contrast_is_flanks_minus_centre_and_ends() {
        let pos = [-180.0, -90.0, 0.0, 90.0, 180.0];
        let v = [1.0, 4.0, 2.0, 6.0, 3.0];
        assert!((m_contrast(&pos, &v) - (5.0 - 2.0)).abs() < 1e-12);
        assert!(m_contrast(&pos, &[1.0, f64::NAN, 2.0, f64::NAN, 3.0]).is_nan());
    }

    /// With the cue at location R/4 (90°), units preferring within 45° of it
    /// are "near": here locations 1–3 of 8.
    #[test]
    fn the_heat_map_ratio_compares_units_near_the_cue_with_the_others() {
        let preferred = vec![0, 1, 2, 3, 4, 6];
        let rows = preferred
            .iter()
            .map(|&p| {
                let v = if (1..=3).contains(&p) { 0.8 } else { 0.2 };
                vec![9.0, v, v]
            })
            .collect();
        let m = ActivityMap {
            rows,
            preferred,
            n_locations: 8,
            delay: 1..3,
            shown_location: 2,
            shown_trials: 5,
        };
        assert!((activity_measures(&m).near_over_far - 4.0).abs() < 1e-12);
    }

    /// Statistics are `<condition>_<name>`, a stage without checkpoints
    /// gives only its count, and non-finite values are left out.
    #[test]
    fn statistics_are_prefixed_and_finite() {
        let stage = |stage, n| StageMeasures {
            stage,
            n_checkpoints: n,
            pooled: None,
        };
        let c = ConditionMeasures {
            condition: Condition::Variable,
            n_networks: 2,
            final_odr_perf_mean: 0.5,
            final_odr_perf_min: f64::INFINITY,
            train_steps_mean: f64::NAN,
            stages: vec![stage(Stage::Mid, 0)],
            behaviour: None,
            activity: None,
            weights: None,
        };
        let stats = statistics(&Outcome {
            networks: Vec::new(),
            checkpoints: Vec::new(),
            conditions: vec![c],
        });
        let want = BTreeMap::from([
            ("variable_n_networks".to_string(), 2.0),
            ("variable_final_odr_perf_mean".to_string(), 0.5),
            ("variable_mid_n_checkpoints".to_string(), 0.0),
        ]);
        assert_eq!(stats, want);
    }
}
