//! The measures of the Orhan & Ma reproduction, typed, and the one function
//! that names them for `summary.toml` ([`statistics`]).
//!
//! Across networks: regressions of SI on the grid's factors (Fig. 2; Supp.
//! Figs. 8–11), SI by task and task/condition contrasts (Fig. 3a), the
//! recurrent weight profiles of high- and low-SI networks against their own
//! untrained weights (Fig. 6) and the Schur modes of the mean connectivity
//! (Supp. Fig. 12); besides them the untrained grid (Supp. Fig. 1) and the
//! banded model (Supp. Fig. 7).

use std::collections::BTreeMap;

use anyhow::Result;
use ndarray::{Array2, ArrayView2, Axis};
use wm_analysis::schur::{ModeOrder, real_schur, reorder_schur, schur_modes};
use wm_analysis::sequentiality::{SiParams, sequentiality_index};
use wm_analysis::stats::{TestResult, simple_linear_regression, ttest_welch};
use wm_analysis::weight_profile::WeightProfile;

use crate::orhan_ma::aggregate::{
    Coefficient, Factor, FactorRegression, NetworkResult, PairedRho, SiContrast, TaskSi, included,
    included_positions, multiple_regression, paired_rho_regression, regress_on, si_by_task,
    si_contrast, success_rate,
};
use crate::orhan_ma::banded::{BandedModel, PEAK_ORDER_MIN_FRACTION, peak_order_rho};
use crate::orhan_ma::compute::Outcome;
use crate::orhan_ma::config::{Condition, OrhanMaConfig};
use crate::orhan_ma::network::{average_profiles, toeplitz_from_profile};
use crate::orhan_ma::task_ordering::{
    PairedSiDiff, SiRankCorrelation, paired_condition_differences, paired_task_differences,
    si_active_correlations, si_loss_correlations,
};
use crate::orhan_ma::train::TrainedNetwork;
use crate::orhan_ma::untrained::UntrainedCell;

/// Size of the Toeplitz matrix built from a mean weight profile for the Schur analysis.
const SCHUR_DIM: usize = 100;
/// Schur modes shown when none is significant.
const SCHUR_SHOWN_IF_NONE: usize = 20;

/// One simulation of the banded model (Supp. Fig. 7).
pub struct BandedRun {
    /// `sequential`, `persistent` or `as_written`.
    pub name: &'static str,
    /// Activity `[time, unit]`.
    pub activity: Array2<f64>,
    /// The SI's activity threshold: 1 % of the largest unit mean (the model
    /// is linear in its pulse, so its activity has no natural scale).
    pub threshold: f64,
    /// Sequentiality index.
    pub si: f64,
    /// Spearman correlation of unit index with peak time, when defined.
    pub peak_order_rho: Option<f64>,
}

/// Simulate and measure the banded model, its persistent counterpart and
/// the model as the supplement's text gives it.
pub fn banded_runs(model: &BandedModel) -> Result<Vec<BandedRun>> {
    let mut runs = Vec::new();
    for (name, model) in [
        ("sequential", model.clone()),
        ("persistent", model.persistent()),
        ("as_written", model.as_written()),
    ] {
        let rows = model.simulate();
        let activity = to_array(&rows);
        let top_mean = activity
            .mean_axis(Axis(0))
            .map_or(0.0, |m| m.fold(0.0_f64, |a, &b| a.max(b)));
        let params = SiParams {
            activity_threshold: PEAK_ORDER_MIN_FRACTION * top_mean,
            ..SiParams::default()
        };
        let si = sequentiality_index(activity.view().insert_axis(Axis(0)), &params)?.si;
        runs.push(BandedRun {
            name,
            threshold: params.activity_threshold,
            si,
            peak_order_rho: peak_order_rho(&rows).ok(),
            activity,
        });
    }
    Ok(runs)
}

/// A named difference in mean SI between two groups of networks.
pub struct Contrast {
    /// Group a (a task or a condition).
    pub a: String,
    /// Group b.
    pub b: String,
    /// The difference and its Welch test.
    pub contrast: SiContrast,
}

/// A condition against the basic one within one task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskConditionContrast {
    /// The task.
    pub task: String,
    /// The condition compared with basic.
    pub condition: Condition,
    /// SI(condition) − SI(basic) and its Welch test.
    pub contrast: SiContrast,
}

/// Schur modes of a mean connectivity (Supp. Fig. 12).
pub struct SchurSummary {
    /// Modes taking part in at least one interaction above the threshold.
    pub significant: usize,
    /// Non-normal fraction of ‖T‖.
    pub nonnormal_fraction: f64,
    /// |T_ij| between the shown modes (the significant ones, or the first
    /// 20 by |λ| when none is), ordered by |λ|.
    pub shown_interaction: Array2<f64>,
}

/// The mean weight profile of one group of networks and its Schur modes.
pub struct GroupProfile {
    /// `high_si`, `low_si` or `untrained`.
    pub name: &'static str,
    /// The group's mean profile.
    pub profile: WeightProfile,
    /// Schur modes of the Toeplitz matrix built from it.
    pub schur: SchurSummary,
}

/// The top and bottom thirds of the included networks by SI, compared.
pub struct SiGroups {
    /// Index (into the outcome's networks) of the most sequential network.
    pub most_sequential: usize,
    /// Index of the most persistent network.
    pub most_persistent: usize,
    /// Per-network forward-minus-backward profile asymmetry of the high-SI
    /// group against the low-SI group and against the untrained weights.
    pub asymmetry_tests: Vec<(&'static str, TestResult)>,
    /// Mean profiles (high-SI, low-SI, untrained), where defined.
    pub profiles: Vec<GroupProfile>,
}

/// Everything measured across the trained networks.
pub struct Measures {
    /// Slope of the untrained grid's SI on σ0, when defined.
    pub untrained_si_sigma0_slope: Option<f64>,
    /// Positions (in the outcome's networks) of those that enter the statistics.
    pub included: Vec<usize>,
    /// SI on each factor that varies, over the included networks.
    pub regressions: Vec<FactorRegression>,
    /// The same over every network with a finite SI (only when success is
    /// required: briefly trained grids lose whole corners to it).
    pub regressions_all: Vec<FactorRegression>,
    /// SI on every varying factor at once, with R².
    pub multiple: Option<(Vec<Coefficient>, f64)>,
    /// The within-seed ρ slope.
    pub paired_rho: Option<PairedRho>,
    /// Mean SI by task, most sequential first.
    pub by_task: Vec<TaskSi>,
    /// Task pairs (config order) and each condition against basic.
    pub contrasts: Vec<Contrast>,
    /// Each condition against basic within each task (successful networks):
    /// the pooled contrast above mixes the tasks in the proportions in which
    /// they succeeded, which can differ between conditions.
    pub conditions_by_task: Vec<TaskConditionContrast>,
    /// Task pairs over every network with a finite SI, matched by grid cell.
    pub paired_tasks: Vec<PairedSiDiff>,
    /// Each condition against basic over every network with a finite SI,
    /// matched by task, λ0, σ0, ρ, g and replicate.
    pub paired_conditions: Vec<PairedSiDiff>,
    /// Within each task, SI against fractional loss (every network).
    pub si_loss: Vec<SiRankCorrelation>,
    /// Within each task, SI against active units (successful networks).
    pub si_active: Vec<SiRankCorrelation>,
    /// Weight profiles and Schur modes of the SI groups.
    pub groups: Option<SiGroups>,
}

/// Measure the grid: regressions, contrasts, profiles and Schur modes.
pub fn measure(
    cfg: &OrhanMaConfig,
    untrained: &[UntrainedCell],
    networks: &[TrainedNetwork],
) -> Result<Measures> {
    let rows: Vec<NetworkResult> = networks.iter().map(|t| t.result.clone()).collect();
    let inc = included(&rows, cfg.require_success);
    let regressions = Factor::ALL
        .into_iter()
        .filter_map(|f| regress_on(&inc, f))
        .collect();
    let regressions_all = if cfg.require_success {
        let all = included(&rows, false);
        Factor::ALL
            .into_iter()
            .filter_map(|f| regress_on(&all, f))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Measures {
        untrained_si_sigma0_slope: untrained_slope(untrained),
        included: included_positions(&rows, cfg.require_success),
        regressions,
        regressions_all,
        multiple: multiple_regression(&inc),
        paired_rho: paired_rho_regression(&inc),
        by_task: si_by_task(&inc),
        contrasts: contrasts(cfg, &inc),
        conditions_by_task: conditions_by_task(cfg, &inc),
        paired_tasks: paired_task_differences(&rows, &cfg.tasks),
        paired_conditions: paired_condition_differences(&rows, &cfg.conditions),
        si_loss: si_loss_correlations(&rows, &cfg.tasks),
        si_active: si_active_correlations(&rows, &cfg.tasks),
        groups: si_groups(cfg, networks)?,
    })
}

/// Slope of SI on σ0 over the untrained grid's finite cells.
fn untrained_slope(cells: &[UntrainedCell]) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = cells
        .iter()
        .filter(|c| c.si.is_finite())
        .map(|c| (c.sigma0, c.si))
        .unzip();
    simple_linear_regression(&x, &y)
        .ok()
        .map(|fit| fit.coefficients[1])
}

/// Task and condition contrasts: every pair of tasks (in config order) and
/// every condition against the basic one, the comparisons behind Fig. 3a
/// (tasks) and the conditions the paper reports as favouring sequential or
/// persistent solutions.
fn contrasts(cfg: &OrhanMaConfig, inc: &[&NetworkResult]) -> Vec<Contrast> {
    let mut out = Vec::new();
    let mut put = |a: &str, b: &str, c: Option<SiContrast>| {
        if let Some(contrast) = c {
            out.push(Contrast {
                a: a.to_string(),
                b: b.to_string(),
                contrast,
            });
        }
    };
    for (i, a) in cfg.tasks.iter().enumerate() {
        for b in &cfg.tasks[i + 1..] {
            put(a, b, si_contrast(inc, |r| r.task == *a, |r| r.task == *b));
        }
    }
    if cfg.conditions.contains(&Condition::Basic) {
        for &c in cfg.conditions.iter().filter(|&&c| c != Condition::Basic) {
            // Only tasks trained in both conditions enter the comparison.
            let shared = |r: &NetworkResult| {
                inc.iter()
                    .any(|o| o.task == r.task && o.condition == Condition::Basic)
                    && inc.iter().any(|o| o.task == r.task && o.condition == c)
            };
            put(
                c.name(),
                Condition::Basic.name(),
                si_contrast(
                    inc,
                    |r| r.condition == c && shared(r),
                    |r| r.condition == Condition::Basic && shared(r),
                ),
            );
        }
    }
    out
}

/// Every condition but basic against basic, within each task, over the
/// included networks (empty without a basic condition).
fn conditions_by_task(cfg: &OrhanMaConfig, inc: &[&NetworkResult]) -> Vec<TaskConditionContrast> {
    if !cfg.conditions.contains(&Condition::Basic) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for task in &cfg.tasks {
        for &c in cfg.conditions.iter().filter(|&&c| c != Condition::Basic) {
            let contrast = si_contrast(
                inc,
                |r| r.task == *task && r.condition == c,
                |r| r.task == *task && r.condition == Condition::Basic,
            );
            out.extend(contrast.map(|contrast| TaskConditionContrast {
                task: task.clone(),
                condition: c,
                contrast,
            }));
        }
    }
    out
}

/// The profile's mean weight at offset `k` (NaN where it has none).
pub fn profile_at(p: &WeightProfile, k: i64) -> f64 {
    p.offsets
        .iter()
        .position(|&o| o == k)
        .map_or(f64::NAN, |i| p.mean[i])
}

/// High- and low-SI thirds of the included networks: their weight profiles
/// against the untrained baseline (the same networks' initial weights, each
/// ordered by its own untrained responses), and Schur modes; `None` when no
/// network is included.
fn si_groups(cfg: &OrhanMaConfig, trained: &[TrainedNetwork]) -> Result<Option<SiGroups>> {
    let mut ranked: Vec<usize> = (0..trained.len())
        .filter(|&i| {
            let r = &trained[i].result;
            r.si.is_finite() && (!cfg.require_success || r.success)
        })
        .collect();
    if ranked.is_empty() {
        return Ok(None);
    }
    ranked.sort_by(|&a, &b| trained[b].result.si.total_cmp(&trained[a].result.si));
    let third = ranked.len().div_ceil(3);
    let (high, low) = (&ranked[..third], &ranked[ranked.len() - third..]);
    let profiles_of = |group: &[usize]| -> Vec<&WeightProfile> {
        group
            .iter()
            .filter_map(|&i| trained[i].measures.profile.as_ref())
            .collect()
    };
    let untrained: Vec<&WeightProfile> = ranked
        .iter()
        .filter_map(|&i| trained[i].untrained_profile.as_ref())
        .collect();
    let (high_p, low_p) = (profiles_of(high), profiles_of(low));
    // Fig. 6: sequential networks carry a forward band; random ones none.
    let asymmetries = |ps: &[&WeightProfile]| -> Vec<f64> {
        ps.iter()
            .map(|p| profile_at(p, 1) - profile_at(p, -1))
            .filter(|a| a.is_finite())
            .collect()
    };
    let asymmetry_tests = [("low_si", &low_p), ("untrained", &untrained)]
        .into_iter()
        .filter_map(|(name, other)| {
            ttest_welch(&asymmetries(&high_p), &asymmetries(other))
                .ok()
                .map(|t| (name, t))
        })
        .collect();
    let mut profiles = Vec::new();
    for (name, ps) in [
        ("high_si", high_p),
        ("low_si", low_p),
        ("untrained", untrained),
    ] {
        if let Some(profile) = average_profiles(&ps) {
            let w = toeplitz_from_profile(&profile, SCHUR_DIM.min(cfg.n_units));
            let schur = schur_summary(w.view(), cfg.schur_threshold)?;
            profiles.push(GroupProfile {
                name,
                profile,
                schur,
            });
        }
    }
    Ok(Some(SiGroups {
        most_sequential: high[0],
        most_persistent: low[low.len() - 1],
        asymmetry_tests,
        profiles,
    }))
}

/// Schur modes of `w` ordered by |λ|, with an absolute threshold on |T_ij|
/// (c = `threshold` with a reference s.d. of 1).
fn schur_summary(w: ArrayView2<f64>, threshold: f64) -> Result<SchurSummary> {
    let schur = reorder_schur(&real_schur(w)?, ModeOrder::Magnitude)?;
    let modes = schur_modes(&schur, threshold, 1.0)?;
    let sig: Vec<usize> = (0..schur.dim()).filter(|&i| modes.significant[i]).collect();
    let show: Vec<usize> = if sig.is_empty() {
        (0..schur.dim().min(SCHUR_SHOWN_IF_NONE)).collect()
    } else {
        sig.clone()
    };
    let shown_interaction = Array2::from_shape_fn((show.len(), show.len()), |(i, j)| {
        modes.interaction[[show[i], show[j]]].abs()
    });
    Ok(SchurSummary {
        significant: sig.len(),
        nonnormal_fraction: modes.nonnormal_fraction,
        shown_interaction,
    })
}

/// The named statistics of `summary.toml`.
pub fn statistics(cfg: &OrhanMaConfig, outcome: &Outcome) -> BTreeMap<String, f64> {
    let m = &outcome.measures;
    let mut s = BTreeMap::new();
    if let Some(slope) = m.untrained_si_sigma0_slope {
        s.insert("untrained_si_sigma0_slope".into(), slope);
    }
    for b in &outcome.banded {
        s.insert(format!("banded_si_{}", b.name), b.si);
        if let Some(rho) = b.peak_order_rho {
            let key = match b.name {
                "sequential" => "banded_peak_order_rho".to_string(),
                other => format!("banded_{other}_peak_order_rho"),
            };
            s.insert(key, rho);
        }
    }
    grid_statistics(cfg, outcome, &mut s);
    regression_statistics(m, &mut s);
    if let Some(g) = &m.groups {
        group_statistics(g, &mut s);
    }
    s
}

/// Counts, success and mean fractional loss of the grid.
fn grid_statistics(cfg: &OrhanMaConfig, outcome: &Outcome, s: &mut BTreeMap<String, f64>) {
    let rows = outcome.rows();
    s.insert("n_networks".into(), rows.len() as f64);
    s.insert("n_included".into(), outcome.measures.included.len() as f64);
    s.insert(
        "n_diverged".into(),
        rows.iter().filter(|r| r.diverged).count() as f64,
    );
    s.insert("success_rate".into(), success_rate(&rows));
    // Per task and per condition when the grid has several: training
    // success differs between them, and so does which networks the
    // SI statistics include.
    if cfg.tasks.len() > 1 {
        for t in &cfg.tasks {
            let of: Vec<NetworkResult> = rows.iter().filter(|r| r.task == *t).cloned().collect();
            s.insert(format!("success_rate_task_{t}"), success_rate(&of));
        }
    }
    if cfg.conditions.len() > 1 {
        for c in &cfg.conditions {
            let of: Vec<NetworkResult> =
                rows.iter().filter(|r| r.condition == *c).cloned().collect();
            s.insert(
                format!("success_rate_condition_{}", c.name()),
                success_rate(&of),
            );
        }
    }
    s.insert(
        "require_success".into(),
        f64::from(u8::from(cfg.require_success)),
    );
    let finite_f: Vec<f64> = rows
        .iter()
        .map(|r| r.fractional_loss)
        .filter(|f| f.is_finite())
        .collect();
    if !finite_f.is_empty() {
        s.insert(
            "mean_fractional_loss".into(),
            finite_f.iter().sum::<f64>() / finite_f.len() as f64,
        );
    }
}

/// Regressions, task means and contrasts.
fn regression_statistics(m: &Measures, s: &mut BTreeMap<String, f64>) {
    for reg in &m.regressions {
        let k = reg.factor.name();
        s.insert(format!("si_slope_{k}"), reg.slope);
        s.insert(format!("si_slope_se_{k}"), reg.slope_se);
        s.insert(format!("si_p_{k}"), reg.p_value);
    }
    for reg in &m.regressions_all {
        let k = reg.factor.name();
        s.insert(format!("si_slope_all_{k}"), reg.slope);
        s.insert(format!("si_p_all_{k}"), reg.p_value);
    }
    if let Some((coefs, r2)) = &m.multiple {
        for (f, b, se, p) in coefs {
            s.insert(format!("si_multi_coef_{}", f.name()), *b);
            s.insert(format!("si_multi_se_{}", f.name()), *se);
            s.insert(format!("si_multi_p_{}", f.name()), *p);
        }
        s.insert("si_multi_r2".into(), *r2);
    }
    if let Some(p) = &m.paired_rho {
        s.insert("si_paired_rho_slope".into(), p.slope);
        s.insert("si_paired_rho_se".into(), p.slope_se);
        s.insert("si_paired_rho_p".into(), p.p_value);
        s.insert("si_paired_rho_groups".into(), p.groups as f64);
    }
    for t in &m.by_task {
        s.insert(format!("si_mean_{}", t.task), t.mean);
    }
    for c in &m.contrasts {
        s.insert(format!("si_diff_{}_vs_{}", c.a, c.b), c.contrast.diff);
        s.insert(format!("si_diff_p_{}_vs_{}", c.a, c.b), c.contrast.p_value);
    }
    for c in &m.conditions_by_task {
        let k = format!("{}_vs_basic_in_{}", c.condition.name(), c.task);
        s.insert(format!("si_diff_{k}"), c.contrast.diff);
        s.insert(format!("si_diff_p_{k}"), c.contrast.p_value);
    }
    for d in m.paired_tasks.iter().chain(&m.paired_conditions) {
        s.insert(
            format!("si_paired_diff_all_{}_vs_{}", d.a, d.b),
            d.mean_diff,
        );
        s.insert(
            format!("si_paired_diff_all_p_{}_vs_{}", d.a, d.b),
            d.p_value,
        );
    }
    for c in &m.si_loss {
        s.insert(format!("si_loss_spearman_{}", c.task), c.spearman_r);
        s.insert(format!("si_loss_spearman_p_{}", c.task), c.p_value);
    }
    for c in &m.si_active {
        s.insert(format!("si_active_units_spearman_{}", c.task), c.spearman_r);
        s.insert(format!("si_active_units_spearman_p_{}", c.task), c.p_value);
    }
}

/// Profile asymmetries and Schur modes of the SI groups.
fn group_statistics(g: &SiGroups, s: &mut BTreeMap<String, f64>) {
    for (name, t) in &g.asymmetry_tests {
        s.insert(
            format!("profile_asymmetry_diff_high_si_vs_{name}"),
            t.estimate,
        );
        s.insert(
            format!("profile_asymmetry_diff_p_high_si_vs_{name}"),
            t.p_value,
        );
    }
    for p in &g.profiles {
        let at = |k: i64| profile_at(&p.profile, k);
        s.insert(format!("profile_asymmetry_{}", p.name), at(1) - at(-1));
        s.insert(format!("profile_self_{}", p.name), at(0));
        s.insert(
            format!("schur_significant_modes_{}", p.name),
            p.schur.significant as f64,
        );
        s.insert(
            format!("schur_nonnormal_fraction_{}", p.name),
            p.schur.nonnormal_fraction,
        );
    }
    let modes = |name: &str| g.profiles.iter().find(|p| p.name == name);
    if let (Some(h), Some(l)) = (modes("high_si"), modes("low_si")) {
        s.insert(
            "schur_significant_modes_high_minus_low_si".into(),
            h.schur.significant as f64 - l.schur.significant as f64,
        );
    }
}

/// Convert nested rows into an `Array2` (rows of equal length).
fn to_array(rows: &[Vec<f64>]) -> Array2<f64> {
    let n = rows.first().map_or(0, Vec::len);
    Array2::from_shape_fn((rows.len(), n), |(i, j)| rows[i][j])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orhan_ma::aggregate::row;

    #[test]
    fn conditions_are_compared_with_basic_within_each_task() {
        let cfg = OrhanMaConfig {
            tasks: vec!["A".into(), "B".into()],
            conditions: vec![Condition::Basic, Condition::VariableDelay],
            ..OrhanMaConfig::default()
        };
        let with = |task: &str, condition: Condition, si: f64| NetworkResult {
            condition,
            ..row(task, 0.0, 0.9, 0.0, si)
        };
        // Task A: variable delay 1, 2 against basic 4, 5 (difference −3);
        // task B has one variable-delay network only: no test there.
        let rows = [
            with("A", Condition::VariableDelay, 1.0),
            with("A", Condition::VariableDelay, 2.0),
            with("A", Condition::Basic, 4.0),
            with("A", Condition::Basic, 5.0),
            with("B", Condition::VariableDelay, 7.0),
            with("B", Condition::Basic, 8.0),
            with("B", Condition::Basic, 9.0),
        ];
        let inc: Vec<&NetworkResult> = rows.iter().collect();
        let c = conditions_by_task(&cfg, &inc);
        assert_eq!(c.len(), 1);
        assert_eq!(
            (c[0].task.as_str(), c[0].condition),
            ("A", Condition::VariableDelay)
        );
        assert_eq!(c[0].contrast.diff, -3.0);
        assert_eq!((c[0].contrast.n_a, c[0].contrast.n_b), (2, 2));
        let basic_only = OrhanMaConfig {
            conditions: vec![Condition::VariableDelay],
            ..cfg
        };
        assert!(conditions_by_task(&basic_only, &inc).is_empty());
    }
}
