//! Diagnostics of the task ordering of SI (Orhan & Ma 2019, Fig. 3a: 2AFC
//! the most sequential task, DE-1 and DE-2 the most persistent).
//!
//! The published comparison is over successful networks only. When training
//! success differs between tasks, which grid cells (λ0, σ0, ρ) a task's
//! successful networks come from differs too, and SI depends on those cells
//! (Fig. 2). Two measures separate the task effect from that composition and
//! from how far training went:
//! * [`paired_task_differences`]: over every network with a finite SI,
//!   successful or not, the SI difference between two tasks matched by grid
//!   cell (condition, λ0, σ0, ρ, g, replicate), with a paired t-test (and
//!   [`paired_condition_differences`], the same for a condition against the
//!   basic one, matched by task, λ0, σ0, ρ, g and replicate);
//! * [`si_loss_correlations`]: within each task, the Spearman correlation of
//!   SI with the test fractional loss — negative when networks become more
//!   sequential as they learn, so that a task trained less far reads as more
//!   persistent;
//! * [`si_active_correlations`]: within each task, over successful networks,
//!   the Spearman correlation of SI with the number of active units — a
//!   network that solves its task with a handful of units cannot tile the
//!   trial with their peaks (the SI's peak-time entropy is at most the log
//!   of the active units).

use std::collections::BTreeMap;

use wm_analysis::stats::{spearman, ttest_paired};

use crate::orhan_ma::aggregate::NetworkResult;
use crate::orhan_ma::config::Condition;

/// The SI difference between two tasks, or two conditions, over networks
/// matched by grid cell.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedSiDiff {
    /// Task or condition a.
    pub a: String,
    /// Task or condition b.
    pub b: String,
    /// Matched pairs (cells where both networks have a finite SI).
    pub n_pairs: usize,
    /// Mean of SI(a) − SI(b) over the pairs.
    pub mean_diff: f64,
    /// Its standard error.
    pub std_error: f64,
    /// Two-sided paired t-test p-value.
    pub p_value: f64,
}

/// Within one task, the Spearman correlation of SI with another property
/// of the networks (fractional loss, active units).
#[derive(Debug, Clone, PartialEq)]
pub struct SiRankCorrelation {
    /// Task name.
    pub task: String,
    /// Networks with a finite SI and a finite value of the property.
    pub n: usize,
    /// Spearman ρ of SI on the property.
    pub spearman_r: f64,
    /// Its two-sided p-value.
    pub p_value: f64,
}

/// The grid cell of a network apart from the factor being compared (its
/// task or its condition): the other of the two, λ0, σ0, ρ, g (as bit
/// patterns, so that equal floats match) and replicate.
type Cell = (String, u64, u64, u64, u64, usize);

/// `r`'s cell, with `other` the factor that is not compared.
fn cell(r: &NetworkResult, other: &str) -> Cell {
    (
        other.to_string(),
        r.lambda0.to_bits(),
        r.sigma0.to_bits(),
        r.rho.to_bits(),
        r.input_gain.to_bits(),
        r.replicate,
    )
}

/// Paired SI differences for every pair of `tasks` (in the order given),
/// over all networks with a finite SI, matched by condition, λ0, σ0, ρ, g
/// and replicate; a pair with fewer than two matched cells or constant
/// differences is left out.
pub fn paired_task_differences(rows: &[NetworkResult], tasks: &[String]) -> Vec<PairedSiDiff> {
    let pairs: Vec<(String, String)> = tasks
        .iter()
        .enumerate()
        .flat_map(|(i, a)| tasks[i + 1..].iter().map(move |b| (a.clone(), b.clone())))
        .collect();
    paired_differences(rows, &pairs, |r| {
        (r.task.clone(), cell(r, r.condition.name()))
    })
}

/// Paired SI differences of every condition but `basic` against `basic`,
/// over all networks with a finite SI, matched by task, λ0, σ0, ρ, g and
/// replicate: a condition effect free of which networks succeeded in which
/// condition (successful networks pool the two tasks in proportions that
/// can differ between conditions).
pub fn paired_condition_differences(
    rows: &[NetworkResult],
    conditions: &[Condition],
) -> Vec<PairedSiDiff> {
    if !conditions.contains(&Condition::Basic) {
        return Vec::new();
    }
    let pairs: Vec<(String, String)> = conditions
        .iter()
        .filter(|&&c| c != Condition::Basic)
        .map(|c| (c.name().to_string(), Condition::Basic.name().to_string()))
        .collect();
    paired_differences(rows, &pairs, |r| {
        (r.condition.name().to_string(), cell(r, &r.task))
    })
}

/// Paired SI differences for each (a, b) of `pairs` of groups, where
/// `group_and_cell` gives a network's group and the cell it is matched by.
fn paired_differences(
    rows: &[NetworkResult],
    pairs: &[(String, String)],
    group_and_cell: impl Fn(&NetworkResult) -> (String, Cell),
) -> Vec<PairedSiDiff> {
    let mut by_group: BTreeMap<String, BTreeMap<Cell, f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.si.is_finite()) {
        let (group, cell) = group_and_cell(r);
        by_group.entry(group).or_default().insert(cell, r.si);
    }
    let empty = BTreeMap::new();
    let mut out = Vec::new();
    for (a, b) in pairs {
        let sa = by_group.get(a).unwrap_or(&empty);
        let sb = by_group.get(b).unwrap_or(&empty);
        let (x, y): (Vec<f64>, Vec<f64>) = sa
            .iter()
            .filter_map(|(c, &si_a)| sb.get(c).map(|&si_b| (si_a, si_b)))
            .unzip();
        if let Ok(t) = ttest_paired(&x, &y) {
            out.push(PairedSiDiff {
                a: a.clone(),
                b: b.clone(),
                n_pairs: x.len(),
                mean_diff: t.estimate,
                std_error: t.std_error,
                p_value: t.p_value,
            });
        }
    }
    out
}

/// Spearman correlation of SI with fractional loss within each of `tasks`,
/// over every network.
pub fn si_loss_correlations(rows: &[NetworkResult], tasks: &[String]) -> Vec<SiRankCorrelation> {
    si_rank_correlations(rows.iter(), tasks, |r| r.fractional_loss)
}

/// Spearman correlation of SI with the mean number of active units within
/// each of `tasks`, over the successful networks.
pub fn si_active_correlations(rows: &[NetworkResult], tasks: &[String]) -> Vec<SiRankCorrelation> {
    si_rank_correlations(rows.iter().filter(|r| r.success), tasks, |r| r.n_active)
}

/// Spearman correlation of SI with `property` within each of `tasks`; a
/// task with fewer than three usable networks or no spread is left out.
fn si_rank_correlations<'a>(
    rows: impl Iterator<Item = &'a NetworkResult> + Clone,
    tasks: &[String],
    property: fn(&NetworkResult) -> f64,
) -> Vec<SiRankCorrelation> {
    tasks
        .iter()
        .filter_map(|task| {
            let (x, si): (Vec<f64>, Vec<f64>) = rows
                .clone()
                .filter(|r| &r.task == task && r.si.is_finite() && property(r).is_finite())
                .map(|r| (property(r), r.si))
                .unzip();
            if x.len() < 3 {
                return None;
            }
            let c = spearman(&x, &si).ok()?;
            c.r.is_finite().then(|| SiRankCorrelation {
                task: task.clone(),
                n: c.n,
                spearman_r: c.r,
                p_value: c.p_value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orhan_ma::aggregate::row;

    fn net(task: &str, sigma0: f64, replicate: usize, si: f64, loss: f64) -> NetworkResult {
        NetworkResult {
            replicate,
            fractional_loss: loss,
            success: loss < 0.5,
            ..row(task, sigma0, 0.9, 0.0, si)
        }
    }

    #[test]
    fn pairs_match_cells_and_skip_non_finite_si() {
        // Cells (σ0, replicate): A − B = 1, 2, 3 where both are finite; the
        // cell (0.2, 1) has a NaN SI for B and must not be paired; A's
        // extra cell (0.3, 0) has no partner.
        let rows = vec![
            net("A", 0.1, 0, 5.0, 0.1),
            net("B", 0.1, 0, 4.0, 0.1),
            net("A", 0.1, 1, 6.0, 0.1),
            net("B", 0.1, 1, 4.0, 0.1),
            net("A", 0.2, 0, 7.0, 0.1),
            net("B", 0.2, 0, 4.0, 0.1),
            net("A", 0.2, 1, 9.0, 0.1),
            net("B", 0.2, 1, f64::NAN, 0.1),
            net("A", 0.3, 0, 1.0, 0.1),
        ];
        let d = paired_task_differences(&rows, &["A".into(), "B".into()]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].n_pairs, 3);
        assert!((d[0].mean_diff - 2.0).abs() < 1e-12);
        // Differences 1, 2, 3: s = 1, SE = 1/√3, t = 2√3 on 2 df, p = 0.0742.
        assert!((d[0].std_error - 1.0 / 3f64.sqrt()).abs() < 1e-12);
        assert!((d[0].p_value - 0.074_180).abs() < 1e-5, "{}", d[0].p_value);
    }

    #[test]
    fn conditions_pair_within_a_task_and_grid_cell_against_basic() {
        // Cells (task, σ0): hebbian − basic = −1, −2 in task A and −3 in B,
        // failed networks included; a hebbian network without a basic
        // partner (σ0 = 0.3) and the other task's cell do not pair across.
        let with =
            |task: &str, sigma0: f64, condition: Condition, si: f64, loss: f64| NetworkResult {
                condition,
                ..net(task, sigma0, 0, si, loss)
            };
        let rows = vec![
            with("A", 0.1, Condition::Basic, 5.0, 0.1),
            with("A", 0.1, Condition::Hebbian, 4.0, 0.9),
            with("A", 0.2, Condition::Basic, 6.0, 0.1),
            with("A", 0.2, Condition::Hebbian, 4.0, 0.1),
            with("B", 0.1, Condition::Basic, 9.0, 0.1),
            with("B", 0.1, Condition::Hebbian, 6.0, 0.1),
            with("A", 0.3, Condition::Hebbian, 0.0, 0.1),
        ];
        let d = paired_condition_differences(&rows, &[Condition::Basic, Condition::Hebbian]);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].a.as_str(), d[0].b.as_str()), ("hebbian", "basic"));
        assert_eq!(d[0].n_pairs, 3);
        assert!((d[0].mean_diff + 2.0).abs() < 1e-12);
        // Differences −1, −2, −3: the same t as in the task test, negated.
        assert!((d[0].p_value - 0.074_180).abs() < 1e-5, "{}", d[0].p_value);
        // Without a basic condition there is nothing to compare with.
        assert!(paired_condition_differences(&rows, &[Condition::Hebbian]).is_empty());
    }

    #[test]
    fn si_falling_with_loss_gives_a_negative_rank_correlation() {
        let rows: Vec<NetworkResult> = (0..6)
            .map(|i| net("A", 0.1, i, 10.0 - i as f64, 0.2 * i as f64))
            .chain([net("B", 0.1, 0, 1.0, 0.1), net("B", 0.1, 1, 2.0, 0.2)])
            .collect();
        let c = si_loss_correlations(&rows, &["A".into(), "B".into()]);
        // B has two networks only: left out.
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].n, 6);
        assert!((c[0].spearman_r + 1.0).abs() < 1e-12);
    }

    #[test]
    fn active_unit_correlations_use_successful_networks_only() {
        // Successful networks (loss < 0.5): SI rises with active units; the
        // two failed ones would break the order and must be left out.
        let mut rows: Vec<NetworkResult> = (0..4)
            .map(|i| NetworkResult {
                n_active: 5.0 + i as f64,
                ..net("A", 0.1, i, 2.0 + i as f64, 0.1)
            })
            .collect();
        for i in 4..6 {
            rows.push(NetworkResult {
                n_active: 50.0,
                ..net("A", 0.1, i, 0.0, 0.9)
            });
        }
        let c = si_active_correlations(&rows, &["A".into()]);
        assert_eq!(c[0].n, 4);
        assert!((c[0].spearman_r - 1.0).abs() < 1e-12);
    }
}
