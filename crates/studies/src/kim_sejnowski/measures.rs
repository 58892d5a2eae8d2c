//! The measures of the Kim & Sejnowski reproduction, from the trained and
//! analysed networks: how many networks trained, converged and were kept and
//! how well they perform; the pooled unit timescales of the kept networks;
//! per τ^s regime the network-mean and unit timescales of each task with the
//! Student t-test DMS vs Go-NoGo (Kim & Sejnowski 2019, Fig. 4). And
//! [`statistics`], which names them (with the cross-temporal
//! discriminability, Fig. 3) for `summary.toml`.

use std::collections::BTreeMap;

use wm_analysis::stats::{TestResult, ttest_student};

use crate::kim_sejnowski::config::{KimSejnowskiConfig, KimTask, TauRegime};
use crate::kim_sejnowski::discrim::DiscrimResult;
use crate::kim_sejnowski::network::{NetworkOutcome, NetworkRow, mean_median};

/// Everything measured from the networks (the discriminability aside).
#[derive(Debug, Clone)]
pub struct Measures {
    /// Training, conversion and keeping, over the networks.
    pub networks: NetworkMeasures,
    /// The fitted unit timescales of all kept networks.
    pub units: UnitTimescales,
    /// DMS vs Go-NoGo, one per τ regime of the config, in its order.
    pub regimes: Vec<RegimeComparison>,
    /// How each task and τ regime trained, over all its networks.
    pub training: Vec<ConditionTraining>,
}

/// How the networks of one task and τ regime trained (kept or not).
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionTraining {
    /// The task.
    pub task: KimTask,
    /// The τ^s regime.
    pub regime: TauRegime,
    /// Networks that met the stopping rule.
    pub n_converged: usize,
    /// Mean over networks of the final mean τ^s, ms (NaN without networks).
    pub mean_final_tau_syn_ms: f64,
    /// Mean over networks of the lowest mean τ^s logged during training, ms
    /// (None when no network logged it).
    pub mean_lowest_tau_syn_ms: Option<f64>,
}

impl ConditionTraining {
    fn of(networks: &[NetworkOutcome], task: KimTask, regime: TauRegime) -> Option<Self> {
        let nets: Vec<&NetworkOutcome> = networks
            .iter()
            .filter(|o| o.spec.task == task && o.spec.regime == regime)
            .collect();
        if nets.is_empty() {
            return None;
        }
        let finals: Vec<f64> = nets.iter().map(|o| o.row.mean_tau_syn_ms).collect();
        let lowest: Vec<f64> = nets
            .iter()
            .filter_map(|o| {
                o.training
                    .iter()
                    .filter_map(|e| e.mean_tau_syn_ms)
                    .reduce(f64::min)
            })
            .collect();
        Some(Self {
            task,
            regime,
            n_converged: nets.iter().filter(|o| o.row.converged).count(),
            mean_final_tau_syn_ms: mean_median(&finals).0,
            mean_lowest_tau_syn_ms: (!lowest.is_empty()).then(|| mean_median(&lowest).0),
        })
    }

    /// Its statistics: `n_converged_<task>_<regime>`,
    /// `mean_tau_syn_<task>_<regime>_ms` and
    /// `mean_lowest_tau_syn_<task>_<regime>_ms`.
    fn statistics(&self) -> Vec<(String, f64)> {
        let (k, r) = (task_key(self.task), self.regime.name());
        let mut s = vec![
            (format!("n_converged_{k}_{r}"), self.n_converged as f64),
            (
                format!("mean_tau_syn_{k}_{r}_ms"),
                self.mean_final_tau_syn_ms,
            ),
        ];
        s.extend(
            self.mean_lowest_tau_syn_ms
                .map(|v| (format!("mean_lowest_tau_syn_{k}_{r}_ms"), v)),
        );
        s
    }
}

impl Measures {
    /// Measure `networks` (every trained network, kept or not).
    pub fn of(cfg: &KimSejnowskiConfig, networks: &[NetworkOutcome]) -> Self {
        let kept: Vec<&NetworkOutcome> = networks.iter().filter(|o| o.row.included).collect();
        Self {
            networks: NetworkMeasures::of(networks, &kept),
            units: UnitTimescales {
                fitted_ms: fitted_timescales(cfg, &kept, None, None),
                n_units: kept.iter().map(|o| o.units.len()).sum(),
            },
            regimes: cfg
                .tau_regimes
                .iter()
                .map(|&r| RegimeComparison::of(cfg, &kept, r))
                .collect(),
            training: cfg
                .tasks
                .iter()
                .flat_map(|&t| {
                    cfg.tau_regimes
                        .iter()
                        .filter_map(move |&r| ConditionTraining::of(networks, t, r))
                })
                .collect(),
        }
    }
}

/// Counts and mean performance of the networks.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkMeasures {
    /// Networks trained.
    pub n_trained: usize,
    /// Networks that met the stopping rule.
    pub n_converged: usize,
    /// Networks kept for the timescale statistics.
    pub n_kept: usize,
    /// Mean rate-network accuracy, all networks.
    pub mean_rate_accuracy: f64,
    /// Mean LIF accuracy at the best scaling factor, all networks.
    pub mean_lif_accuracy: f64,
    /// Mean rate accuracy of the kept DMS networks on the long-delay
    /// timeline of the cross-temporal analysis (None without one).
    pub mean_rate_accuracy_long_delay_dms: Option<f64>,
    /// Mean LIF accuracy of the same (None without one).
    pub mean_lif_accuracy_long_delay_dms: Option<f64>,
    /// Lowest LIF accuracy of a kept network (NaN when none is kept).
    pub min_lif_accuracy_kept: f64,
    /// Mean best scaling factor s, all networks.
    pub mean_best_scale: f64,
    /// Mean spontaneous firing rate, all networks, Hz.
    pub mean_firing_rate_hz: f64,
    /// Mean training updates, all networks.
    pub mean_iterations: f64,
}

impl NetworkMeasures {
    fn of(all: &[NetworkOutcome], kept: &[&NetworkOutcome]) -> Self {
        let mean_of = |f: fn(&NetworkRow) -> f64| {
            mean_median(&all.iter().map(|o| f(&o.row)).collect::<Vec<_>>()).0
        };
        // Kept DMS networks scored on the long-delay timeline of the
        // cross-temporal analysis (trained on their own, possibly shorter,
        // delay); NaN for the others.
        let kept_mean = |f: fn(&NetworkRow) -> f64| {
            let v: Vec<f64> = kept
                .iter()
                .map(|o| f(&o.row))
                .filter(|v| v.is_finite())
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        Self {
            n_trained: all.len(),
            n_converged: all.iter().filter(|o| o.row.converged).count(),
            n_kept: kept.len(),
            mean_rate_accuracy: mean_of(|r| r.rate_accuracy),
            mean_lif_accuracy: mean_of(|r| r.lif_accuracy),
            mean_rate_accuracy_long_delay_dms: kept_mean(|r| r.rate_accuracy_long_delay),
            mean_lif_accuracy_long_delay_dms: kept_mean(|r| r.lif_accuracy_long_delay),
            min_lif_accuracy_kept: kept
                .iter()
                .map(|o| o.row.lif_accuracy)
                .reduce(f64::min)
                .unwrap_or(f64::NAN),
            mean_best_scale: mean_of(|r| r.best_scale),
            mean_firing_rate_hz: mean_of(|r| r.mean_rate_hz),
            mean_iterations: mean_of(|r| r.iterations as f64),
        }
    }
}

/// Accepted timescales of the units of some kept networks.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitTimescales {
    /// Timescales of the fitted units at or below the maximum rate, ms.
    pub fitted_ms: Vec<f64>,
    /// Units of those networks, fitted or not.
    pub n_units: usize,
}

impl UnitTimescales {
    /// Smallest and largest timescale, ms (None without fitted units).
    pub fn range_ms(&self) -> Option<(f64, f64)> {
        (!self.fitted_ms.is_empty()).then(|| {
            self.fitted_ms
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| {
                    (a.min(t), b.max(t))
                })
        })
    }

    /// Fraction of the units with a timescale (None without units).
    pub fn fraction_fitted(&self) -> Option<f64> {
        (self.n_units > 0).then(|| self.fitted_ms.len() as f64 / self.n_units as f64)
    }
}

/// Timescales of the fitted units (rate ≤ the maximum rate) of the `kept`
/// networks of `task` and `regime` (all when None), network by network.
fn fitted_timescales(
    cfg: &KimSejnowskiConfig,
    kept: &[&NetworkOutcome],
    task: Option<KimTask>,
    regime: Option<TauRegime>,
) -> Vec<f64> {
    kept.iter()
        .filter(|o| task.is_none_or(|t| o.spec.task == t))
        .filter(|o| regime.is_none_or(|m| o.spec.regime == m))
        .flat_map(|o| o.units.iter())
        .filter(|u| u.rate_hz <= cfg.timescale.max_rate_hz)
        .filter_map(|u| u.timescale_ms)
        .collect()
}

/// The kept networks of one (task, τ regime).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The task.
    pub task: KimTask,
    /// Network-mean timescales of the kept networks that have one, ms.
    pub network_means_ms: Vec<f64>,
    /// Timescales of their fitted units, ms.
    pub unit_timescales_ms: Vec<f64>,
}

impl Condition {
    /// Mean of the network means, ms (None without networks).
    pub fn mean_ms(&self) -> Option<f64> {
        (!self.network_means_ms.is_empty()).then(|| mean_median(&self.network_means_ms).0)
    }

    /// Median unit timescale, ms (None without fitted units).
    pub fn median_unit_ms(&self) -> Option<f64> {
        (!self.unit_timescales_ms.is_empty()).then(|| mean_median(&self.unit_timescales_ms).1)
    }
}

/// Network-mean timescales of the kept networks of one τ regime, by task,
/// with the Student t-test DMS vs Go-NoGo.
#[derive(Debug, Clone)]
pub struct RegimeComparison {
    /// The τ regime.
    pub regime: TauRegime,
    /// One per task of the config, in its order.
    pub conditions: Vec<Condition>,
    /// The t-test (None without both tasks, with fewer than 2 networks per
    /// task or zero variance).
    pub t: Option<TestResult>,
}

impl RegimeComparison {
    fn of(cfg: &KimSejnowskiConfig, kept: &[&NetworkOutcome], regime: TauRegime) -> Self {
        let conditions: Vec<Condition> = cfg
            .tasks
            .iter()
            .map(|&task| Condition {
                task,
                network_means_ms: kept
                    .iter()
                    .filter(|o| o.spec.task == task && o.spec.regime == regime)
                    .map(|o| o.row.mean_timescale_ms)
                    .filter(|m| m.is_finite())
                    .collect(),
                unit_timescales_ms: fitted_timescales(cfg, kept, Some(task), Some(regime)),
            })
            .collect();
        let mut cmp = Self {
            regime,
            conditions,
            t: None,
        };
        if let Some((d, g)) = cmp.dms_and_gonogo() {
            match ttest_student(&d.network_means_ms, &g.network_means_ms) {
                Ok(t) => cmp.t = Some(t),
                Err(e) => tracing::warn!("no t-test for the {} regime: {e}", regime.name()),
            }
        }
        cmp
    }

    /// The condition of `task` (None when the config has no such task).
    pub fn condition(&self, task: KimTask) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.task == task)
    }

    /// The DMS and Go-NoGo conditions, when the config has both tasks.
    pub fn dms_and_gonogo(&self) -> Option<(&Condition, &Condition)> {
        Some((
            self.condition(KimTask::Dms)?,
            self.condition(KimTask::GoNogo)?,
        ))
    }

    /// Network-mean timescales of `task`, ms (empty without the task).
    pub fn network_means_ms(&self, task: KimTask) -> &[f64] {
        self.condition(task)
            .map_or(&[], |c| c.network_means_ms.as_slice())
    }
}

/// Sample standard deviation of `v` about its mean `m` (n − 1 in the
/// denominator; `v` has at least 2 values).
pub fn sample_sd(v: &[f64], m: f64) -> f64 {
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Key of a task in statistic and file names (`dms`, `gonogo`).
pub fn task_key(task: KimTask) -> &'static str {
    match task {
        KimTask::Dms => "dms",
        KimTask::GoNogo => "gonogo",
    }
}

/// The named statistics of `summary.toml`: the network and unit measures,
/// DMS vs Go-NoGo per τ regime, and the discriminability when it ran.
pub fn statistics(
    cfg: &KimSejnowskiConfig,
    measures: &Measures,
    discrim: Option<&DiscrimResult>,
) -> BTreeMap<String, f64> {
    let mut stats: BTreeMap<String, f64> = network_statistics(&measures.networks)
        .into_iter()
        .chain(unit_statistics(&measures.units))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    stats.extend(measures.regimes.iter().flat_map(regime_statistics));
    stats.extend(
        measures
            .training
            .iter()
            .flat_map(ConditionTraining::statistics),
    );
    if let Some(d) = discrim {
        stats.extend(
            discrim_statistics(d, cfg.discriminability.alpha)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v)),
        );
    }
    stats
}

fn network_statistics(n: &NetworkMeasures) -> Vec<(&'static str, f64)> {
    let mut s = vec![
        ("n_networks_trained", n.n_trained as f64),
        ("n_networks_converged", n.n_converged as f64),
        ("n_networks_kept", n.n_kept as f64),
        ("mean_rate_accuracy", n.mean_rate_accuracy),
        ("mean_lif_accuracy", n.mean_lif_accuracy),
        ("min_lif_accuracy_kept", n.min_lif_accuracy_kept),
        ("mean_best_scale", n.mean_best_scale),
        ("mean_firing_rate_hz", n.mean_firing_rate_hz),
        ("mean_iterations", n.mean_iterations),
    ];
    for (key, v) in [
        (
            "mean_rate_accuracy_long_delay_dms",
            n.mean_rate_accuracy_long_delay_dms,
        ),
        (
            "mean_lif_accuracy_long_delay_dms",
            n.mean_lif_accuracy_long_delay_dms,
        ),
    ] {
        s.extend(v.map(|v| (key, v)));
    }
    s
}

fn unit_statistics(u: &UnitTimescales) -> Vec<(&'static str, f64)> {
    let mut s = vec![("n_units_fitted", u.fitted_ms.len() as f64)];
    if let Some((lo, hi)) = u.range_ms() {
        s.push(("min_unit_timescale_ms", lo));
        s.push(("max_unit_timescale_ms", hi));
        s.push(("median_unit_timescale_ms", mean_median(&u.fitted_ms).1));
    }
    s.extend(u.fraction_fitted().map(|f| ("fraction_units_fitted", f)));
    s
}

fn regime_statistics(c: &RegimeComparison) -> Vec<(String, f64)> {
    let r = c.regime.name();
    let mut s = Vec::new();
    for cond in &c.conditions {
        let k = task_key(cond.task);
        let means = &cond.network_means_ms;
        s.push((format!("n_kept_{k}_{r}"), means.len() as f64));
        s.push((
            format!("n_units_fitted_{k}_{r}"),
            cond.unit_timescales_ms.len() as f64,
        ));
        if let Some(m) = cond.mean_ms() {
            s.push((format!("mean_timescale_{k}_{r}_ms"), m));
            if means.len() > 1 {
                s.push((format!("sd_timescale_{k}_{r}_ms"), sample_sd(means, m)));
            }
        }
        if let Some(med) = cond.median_unit_ms() {
            s.push((format!("median_unit_timescale_{k}_{r}_ms"), med));
        }
    }
    if let Some((d, g)) = c.dms_and_gonogo() {
        if let (Some(dm), Some(gm)) = (d.mean_ms(), g.mean_ms()) {
            s.push((format!("timescale_diff_{r}_ms"), dm - gm));
        }
        if let (Some(dm), Some(gm)) = (d.median_unit_ms(), g.median_unit_ms()) {
            s.push((format!("median_unit_diff_{r}_ms"), dm - gm));
        }
    }
    if let Some(t) = &c.t {
        s.push((format!("timescale_t_{r}"), t.statistic));
        s.push((format!("timescale_df_{r}"), t.df));
        s.push((format!("timescale_p_{r}"), t.p_value));
    }
    s
}

fn discrim_statistics(d: &DiscrimResult, alpha: f64) -> Vec<(&'static str, f64)> {
    let long: Vec<_> = d.test.clusters.iter().filter(|c| c.sign > 0).collect();
    vec![
        ("discrim_n_long_units", d.n_long as f64),
        ("discrim_n_short_units", d.n_short as f64),
        ("discrim_long_threshold_ms", d.long_threshold_ms),
        ("discrim_short_threshold_ms", d.short_threshold_ms),
        ("discrim_mean_z_delay_long", d.mean_z_delay_long),
        ("discrim_mean_z_delay_short", d.mean_z_delay_short),
        (
            "discrim_n_significant_long_clusters",
            long.iter().filter(|c| c.p_value <= alpha).count() as f64,
        ),
        (
            "discrim_min_cluster_p_long",
            long.iter().map(|c| c.p_value).fold(1.0, f64::min),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kim_sejnowski::network::{NetworkSpec, UnitRow};
    use wm_rate_rnn::train::kim::KimEval;

    /// A network of `task` (optimized τ) whose units have the timescales
    /// `taus` (None: not fitted) at 10 Hz, plus one fitted unit above the
    /// maximum rate; kept when `included`.
    fn network(task: KimTask, included: bool, taus: &[Option<f64>]) -> NetworkOutcome {
        let unit = |u: usize, rate_hz: f64, timescale_ms: Option<f64>| UnitRow {
            task: task.name().into(),
            tau_mode: "optimized".into(),
            replicate: 0,
            unit: u,
            inhibitory: false,
            tau_syn_ms: 50.0,
            rate_hz,
            timescale_ms,
            amplitude: 1.0,
            start_lag_ms: None,
            exclusion: String::new(),
        };
        let mut units: Vec<UnitRow> = taus
            .iter()
            .enumerate()
            .map(|(u, &t)| unit(u, 10.0, t))
            .collect();
        units.push(unit(taus.len(), 500.0, Some(1000.0)));
        let fitted: Vec<f64> = taus.iter().flatten().copied().collect();
        let mean = fitted.iter().sum::<f64>() / fitted.len() as f64;
        NetworkOutcome {
            spec: NetworkSpec {
                task,
                regime: TauRegime::Optimized,
                replicate: 0,
                seed: 1,
            },
            row: NetworkRow {
                task: task.name().into(),
                tau_mode: "optimized".into(),
                replicate: 0,
                seed: 1,
                iterations: 100,
                converged: included,
                rate_accuracy: 1.0,
                rate_loss: 0.0,
                best_scale: 20.0,
                search_accuracy: 1.0,
                lif_accuracy: if included { 0.9 } else { 0.5 },
                rate_accuracy_long_delay: f64::NAN,
                lif_accuracy_long_delay: f64::NAN,
                included,
                mean_rate_hz: 10.0,
                n_units_active: units.len(),
                n_units_fitted: fitted.len(),
                mean_timescale_ms: mean,
                median_timescale_ms: mean,
                mean_tau_syn_ms: 50.0,
                train_seconds: 0.0,
                analysis_seconds: 0.0,
            },
            units,
            training: Vec::new(),
        }
    }

    #[test]
    fn kept_networks_are_compared_by_their_mean_timescales_with_a_student_t_test() {
        let cfg = KimSejnowskiConfig {
            tau_regimes: vec![TauRegime::Optimized],
            ..KimSejnowskiConfig::default()
        };
        // Network means: DMS 100, 140 (and an unkept 400); Go-NoGo 60, 70, 80.
        let nets = [
            network(KimTask::Dms, true, &[Some(100.0), None]),
            network(KimTask::Dms, true, &[Some(120.0), Some(160.0)]),
            network(KimTask::Dms, false, &[Some(400.0)]),
            network(KimTask::GoNogo, true, &[Some(60.0)]),
            network(KimTask::GoNogo, true, &[Some(70.0)]),
            network(KimTask::GoNogo, true, &[Some(80.0), None]),
        ];
        let s = statistics(&cfg, &Measures::of(&cfg, &nets), None);
        assert_eq!(s["n_networks_trained"], 6.0);
        assert_eq!(s["n_networks_kept"], 5.0);
        assert_eq!(s["min_lif_accuracy_kept"], 0.9);
        // Units above the maximum rate and units of unkept networks are out.
        assert_eq!(s["n_units_fitted"], 6.0);
        assert_eq!(s["fraction_units_fitted"], 6.0 / 13.0);
        assert_eq!(s["min_unit_timescale_ms"], 60.0);
        assert_eq!(s["max_unit_timescale_ms"], 160.0);
        assert_eq!(s["median_unit_timescale_ms"], 90.0);
        assert_eq!(s["n_kept_dms_optimized"], 2.0);
        assert_eq!(s["mean_timescale_dms_optimized_ms"], 120.0);
        assert!((s["sd_timescale_dms_optimized_ms"] - 800f64.sqrt()).abs() < 1e-12);
        assert_eq!(s["median_unit_timescale_dms_optimized_ms"], 120.0);
        assert_eq!(s["mean_timescale_gonogo_optimized_ms"], 70.0);
        assert_eq!(s["timescale_diff_optimized_ms"], 50.0);
        assert_eq!(s["median_unit_diff_optimized_ms"], 50.0);
        // Pooled variance (800 + 200) / 3; t = 50 / sqrt(s²(1/2 + 1/3)), 3 df.
        let t = 50.0 / (1000.0f64 / 3.0 * (1.0 / 2.0 + 1.0 / 3.0)).sqrt();
        assert!((s["timescale_t_optimized"] - t).abs() < 1e-12);
        assert_eq!(s["timescale_df_optimized"], 3.0);
        // Without long-delay scores or a discriminability run, no such names.
        assert!(
            !s.keys()
                .any(|k| k.contains("long_delay") || k.starts_with("discrim"))
        );
    }

    #[test]
    fn training_statistics_cover_every_network_of_a_condition_kept_or_not() {
        let cfg = KimSejnowskiConfig {
            tasks: vec![KimTask::Dms],
            tau_regimes: vec![TauRegime::Optimized],
            ..KimSejnowskiConfig::default()
        };
        let eval = |iteration, tau| KimEval {
            iteration,
            loss: 10.0,
            accuracy: 0.0,
            mean_tau_syn_ms: tau,
        };
        let mut a = network(KimTask::Dms, true, &[Some(100.0)]);
        a.row.mean_tau_syn_ms = 40.0;
        a.training = vec![
            eval(100, Some(70.0)),
            eval(200, Some(30.0)),
            eval(300, Some(40.0)),
        ];
        let mut b = network(KimTask::Dms, false, &[Some(100.0)]);
        b.row.mean_tau_syn_ms = 60.0;
        b.training = vec![eval(100, Some(74.0)), eval(200, Some(50.0))];
        // A network trained before τ^s was logged adds to the final mean only.
        let mut c = network(KimTask::Dms, false, &[Some(100.0)]);
        c.row.mean_tau_syn_ms = 80.0;
        c.training = vec![eval(100, None)];
        let s = statistics(&cfg, &Measures::of(&cfg, &[a, b, c]), None);
        assert_eq!(s["n_converged_dms_optimized"], 1.0);
        assert_eq!(s["mean_tau_syn_dms_optimized_ms"], 60.0);
        assert_eq!(s["mean_lowest_tau_syn_dms_optimized_ms"], 40.0);
        assert!(!s.keys().any(|k| k.contains("gonogo")));
    }
}
