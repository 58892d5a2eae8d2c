//! One network of the Kim & Sejnowski reproduction: its spec and seed, its
//! task objects, its random streams, and its rows of `networks.csv` and
//! `timescales.csv`.
//!
//! Random streams of a network's seed: 0 initialisation, 1 training trials
//! and noise, 2 rate evaluation, 3 scale search, 4 LIF evaluation,
//! 5 spontaneous activity, 6 discriminability trials, 7 and 8 rate and LIF
//! evaluation on the long-delay timeline.

use anyhow::Result;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use wm_rate_rnn::dale::DaleLeaky;
use wm_rate_rnn::train::kim::KimEval;
use wm_spiking::RateArrays;
use wm_tasks::kim::{DmsOptions, KimDms, KimGoNoGo};
use wm_tasks::{Task, TaskRng};

use crate::io::derive_seed;
use crate::kim_sejnowski::config::{KimSejnowskiConfig, KimTask, TauRegime};

/// One network of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Task it is trained on.
    pub task: KimTask,
    /// τ^s regime.
    pub regime: TauRegime,
    /// Replicate index within its condition.
    pub replicate: usize,
    /// Its seed (derived from the master seed, task, regime and replicate).
    pub seed: u64,
}

impl NetworkSpec {
    /// Folder name, e.g. `dms-optimized-r003`.
    pub fn dir_name(&self) -> String {
        format!(
            "{}-{}-r{:03}",
            self.task.name(),
            self.regime.name(),
            self.replicate
        )
    }
}

/// Every network of `cfg`: tasks × τ regimes × replicates, in that order.
/// Seeds depend only on (master seed, task, regime, replicate), so a larger
/// scale's first networks are the smaller scale's networks.
pub fn expand(cfg: &KimSejnowskiConfig) -> Vec<NetworkSpec> {
    let mut v = Vec::new();
    for &task in &cfg.tasks {
        for &regime in &cfg.tau_regimes {
            for replicate in 0..cfg.networks_per_condition {
                let index = task.code() * 2_000_000 + regime.code() * 1_000_000 + replicate as u64;
                v.push(NetworkSpec {
                    task,
                    regime,
                    replicate,
                    seed: derive_seed(cfg.seed, index),
                });
            }
        }
    }
    v
}

/// The task object of `task` under `cfg`.
pub fn task_object(cfg: &KimSejnowskiConfig, task: KimTask) -> Result<Box<dyn Task>> {
    Ok(match task {
        KimTask::Dms => Box::new(KimDms::new(cfg.dms.clone())?),
        KimTask::GoNogo => Box::new(KimGoNoGo::new(cfg.go_nogo.clone())?),
    })
}

/// The task object that scores converted LIF networks: Go-NoGo by the
/// original code's LIF rule ([`KimGoNoGo::lif_scoring`]), DMS as the rate model.
pub fn lif_task_object(cfg: &KimSejnowskiConfig, task: KimTask) -> Result<Box<dyn Task>> {
    Ok(match task {
        KimTask::Dms => Box::new(KimDms::new(cfg.dms.clone())?),
        KimTask::GoNogo => Box::new(KimGoNoGo::new(cfg.go_nogo.clone())?.lif_scoring()),
    })
}

/// The long-delay DMS timeline of the cross-temporal discriminability
/// analysis (the paper's 750-ms delay), on which DMS networks are also scored.
pub fn long_delay_task(cfg: &KimSejnowskiConfig) -> Result<KimDms> {
    let d = &cfg.discriminability;
    Ok(KimDms::new(DmsOptions {
        fixation_ms: d.fixation_ms,
        delay_ms: d.delay_ms,
        ..cfg.dms.clone()
    })?)
}

/// RNG stream `k` of `seed` (see the module docs).
pub fn stream(seed: u64, k: u64) -> TaskRng {
    let mut rng = TaskRng::seed_from_u64(seed);
    rng.set_stream(k);
    rng
}

/// A seed for stream `k` of `seed` (for APIs that take a `u64`).
pub fn sub_seed(seed: u64, k: u64) -> u64 {
    derive_seed(seed, 100 + k)
}

/// One row of `networks.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkRow {
    /// Task name.
    pub task: String,
    /// τ regime name.
    pub tau_mode: String,
    /// Replicate index.
    pub replicate: usize,
    /// Network seed.
    pub seed: u64,
    /// Training updates done.
    pub iterations: usize,
    /// Whether the stopping rule was met within the cap.
    pub converged: bool,
    /// Rate-network accuracy on fresh noisy trials.
    pub rate_accuracy: f64,
    /// Rate-network mean root-sum-square loss on the same trials.
    pub rate_loss: f64,
    /// Best scaling factor s = 1/λ of the grid search.
    pub best_scale: f64,
    /// LIF accuracy at the best s during the search.
    pub search_accuracy: f64,
    /// LIF accuracy at the best s on fresh trials.
    pub lif_accuracy: f64,
    /// DMS networks: accuracy of the rate network on the long-delay timeline
    /// of the cross-temporal analysis (the paper's 750-ms delay), which the
    /// network was not trained on when it trained on the original code's
    /// 50-ms delay; NaN for Go-NoGo.
    #[serde(default = "not_measured")]
    pub rate_accuracy_long_delay: f64,
    /// DMS networks: LIF accuracy at the best s on the same long-delay
    /// timeline; NaN for Go-NoGo.
    #[serde(default = "not_measured")]
    pub lif_accuracy_long_delay: f64,
    /// Kept for the statistics (converged if required, LIF accuracy ≥ threshold).
    pub included: bool,
    /// Mean spontaneous firing rate over units, Hz.
    pub mean_rate_hz: f64,
    /// Units at or above the rate threshold.
    pub n_units_active: usize,
    /// Units with an accepted timescale fit.
    pub n_units_fitted: usize,
    /// Mean timescale of the fitted units (rate ≤ max rate), ms; NaN if none.
    pub mean_timescale_ms: f64,
    /// Median of the same, ms.
    pub median_timescale_ms: f64,
    /// Mean synaptic decay τ^s over units, ms.
    pub mean_tau_syn_ms: f64,
    /// Seconds spent training (0 when loaded from a finished folder).
    pub train_seconds: f64,
    /// Seconds spent on LIF simulations and fits.
    pub analysis_seconds: f64,
}

/// One row of `training.csv`: one evaluation made while a network trained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingRow {
    /// The network's folder name, e.g. `dms-optimized-r003`.
    pub network: String,
    /// Updates done.
    pub iteration: usize,
    /// Mean per-trial loss on the evaluation trials.
    pub loss: f64,
    /// Accuracy on the evaluation trials.
    pub accuracy: f64,
    /// Mean τ^s over units, ms (empty for networks trained before it was logged).
    pub mean_tau_syn_ms: Option<f64>,
}

impl NetworkOutcome {
    /// Its rows of `training.csv`.
    pub fn training_rows(&self) -> Vec<TrainingRow> {
        let network = self.spec.dir_name();
        self.training
            .iter()
            .map(|e| TrainingRow {
                network: network.clone(),
                iteration: e.iteration,
                loss: e.loss,
                accuracy: e.accuracy,
                mean_tau_syn_ms: e.mean_tau_syn_ms,
            })
            .collect()
    }
}

/// One row of `timescales.csv` (and of a network's `units.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRow {
    /// Task name.
    pub task: String,
    /// τ regime name.
    pub tau_mode: String,
    /// Replicate index.
    pub replicate: usize,
    /// Unit index.
    pub unit: usize,
    /// Whether the unit is inhibitory.
    pub inhibitory: bool,
    /// Its synaptic decay τ^s, ms.
    pub tau_syn_ms: f64,
    /// Mean spontaneous firing rate over the analysed bins, Hz.
    pub rate_hz: f64,
    /// Accepted autocorrelation timescale, ms (empty if none).
    pub timescale_ms: Option<f64>,
    /// Fitted amplitude A (NaN if not fitted).
    pub amplitude: f64,
    /// Start lag of the fit (first decrease), ms (empty if none).
    pub start_lag_ms: Option<f64>,
    /// Why the unit has no timescale (empty if it has one).
    pub exclusion: String,
}

/// A network after training and analysis.
#[derive(Debug, Clone)]
pub struct NetworkOutcome {
    /// Its spec.
    pub spec: NetworkSpec,
    /// Its row of `networks.csv`.
    pub row: NetworkRow,
    /// Its units.
    pub units: Vec<UnitRow>,
    /// The evaluations made while it trained (loss, accuracy and mean τ^s
    /// every `train.eval_every` updates).
    pub training: Vec<KimEval>,
}

/// NaN: a row written before a measure existed.
fn not_measured() -> f64 {
    f64::NAN
}

/// The rate network's arrays as the spiking crate reads them.
pub fn rate_arrays(model: &DaleLeaky) -> Result<RateArrays> {
    let a = model.arrays()?;
    Ok(RateArrays {
        w_rec: a.w_rec,
        w_in: a.w_in,
        w_out: a.w_out,
        b_out: a.b_out,
        tau_ms: a.tau_ms,
        n_units: a.n_units,
        n_inputs: a.n_inputs,
        n_outputs: a.n_outputs,
    })
}

/// Mean and median of finite values (NaN, NaN when there are none).
pub fn mean_median(v: &[f64]) -> (f64, f64) {
    let mut x: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if x.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    x.sort_by(f64::total_cmp);
    let n = x.len();
    let med = if n % 2 == 1 {
        x[n / 2]
    } else {
        0.5 * (x[n / 2 - 1] + x[n / 2])
    };
    (x.iter().sum::<f64>() / n as f64, med)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_distinct_and_do_not_depend_on_the_number_of_replicates() {
        let small = KimSejnowskiConfig {
            networks_per_condition: 2,
            ..Default::default()
        };
        let large = KimSejnowskiConfig {
            networks_per_condition: 5,
            ..Default::default()
        };
        let (a, b) = (expand(&small), expand(&large));
        assert_eq!(a.len(), 8);
        assert_eq!(b.len(), 20);
        for s in &a {
            assert!(b.contains(s), "{} changed seed", s.dir_name());
        }
        let mut seeds: Vec<u64> = b.iter().map(|s| s.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        assert_eq!(seeds.len(), 20);
        let mut names: Vec<String> = b.iter().map(NetworkSpec::dir_name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 20);
    }

    #[test]
    fn mean_and_median_skip_non_finite_values() {
        let (m, med) = mean_median(&[1.0, f64::NAN, 3.0, 8.0, f64::INFINITY]);
        assert_eq!(m, 4.0);
        assert_eq!(med, 3.0);
        assert_eq!(mean_median(&[2.0, 4.0]).1, 3.0);
        assert!(mean_median(&[f64::NAN]).0.is_nan());
    }
}
