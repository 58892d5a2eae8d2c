//! The Orhan & Ma reproduction's config: one TOML per scale under
//! `experiments/orhan-ma/`.

use serde::{Deserialize, Serialize};

use crate::limits::{check_count, check_memory, check_value, check_values};
use crate::orhan_ma::banded::BandedModel;
use wm_tasks::OrhanMaTaskOptions;
use wm_tasks::orhan_ma::{CdObserver, DeMetric};

/// The trained tasks of Orhan & Ma 2019.
pub const TASKS: [&str; 6] = ["DE-1", "DE-2", "CD", "GDE", "2AFC", "COMP"];

/// An experimental condition of Orhan & Ma 2019 (the original code's
/// `run_*.py` scripts, github.com/eminorhan/recurrent-memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// Vanilla ReLU network, activity penalty 1e-4.
    Basic,
    /// Hebbian fast weights (γ = 0.0007).
    Hebbian,
    /// End-of-trial activity penalty 1e-1, read-out at t = 140.
    Tethered,
    /// 50 irrelevant Poisson channels with a sweeping bump prepended to the input.
    DynamicInput,
    /// Delay drawn from {10, 40, 70, 100} steps per trial; padded steps hold the state.
    VariableDelay,
    /// Sequential two-task training (Orhan & Ma 2019, Methods): the network first
    /// trains on `sequential_first`, then on the grid's task with the same
    /// parameters and Adam state; SI is measured on the second task.
    Sequential,
}

impl Condition {
    /// Name used in tables and file names.
    pub fn name(self) -> &'static str {
        match self {
            Condition::Basic => "basic",
            Condition::Hebbian => "hebbian",
            Condition::Tethered => "tethered",
            Condition::DynamicInput => "dynamic-input",
            Condition::VariableDelay => "variable-delay",
            Condition::Sequential => "sequential",
        }
    }
}

/// Rate nonlinearity of the trained networks (the supplement's variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// ReLU (the main text).
    #[default]
    Relu,
    /// ReLU clipped at r_max = 100 (Supp. Fig. 8).
    ClippedRelu,
    /// ELU (Supp. Fig. 14a).
    Elu,
    /// Softplus (Supp. Fig. 14b).
    Softplus,
}

/// Which version of the original code's task and scoring details to use.
/// The original code has three known defects (Orhan & Ma 2019's public
/// code, as documented in wm-tasks): GDE trials with cue 1 show location 2's
/// orientation at location 1 (an alias), the CD ideal observer's
/// concentration is not the exact posterior one, and the delayed-estimation
/// error `mod(|s − ŷ|, π)` is not a circular distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TaskCode {
    /// Tasks corrected (no GDE alias), scoring as the original computed it
    /// (coded CD observer, code DE metric), so that the success criterion
    /// F < 0.5 means what it meant in the paper.
    #[default]
    Parity,
    /// Everything as the original code did it, defects included.
    AsCoded,
    /// Everything corrected: no GDE alias, the exact CD observer, the
    /// circular DE error, the variable-delay response rate `SPON_RATE / T_r`.
    Corrected,
}

impl TaskCode {
    /// Whether this is the default (kept out of network run records, so
    /// folders written before the option existed still resume).
    pub fn is_parity(&self) -> bool {
        *self == TaskCode::Parity
    }

    /// Set the task options this version stands for.
    pub fn apply(self, opts: &mut OrhanMaTaskOptions) {
        let (alias, observer, metric, vde) = match self {
            TaskCode::Parity => (false, CdObserver::Coded, DeMetric::Code, false),
            TaskCode::AsCoded => (true, CdObserver::Coded, DeMetric::Code, true),
            TaskCode::Corrected => (false, CdObserver::Corrected, DeMetric::Circular, false),
        };
        opts.legacy_gde_alias = alias;
        opts.cd_observer = observer;
        opts.de_metric = metric;
        opts.legacy_vde_response_rate = vde;
    }
}

/// The reproduction at one scale. Every field has a default equal to the
/// quick scale; `experiments/orhan-ma/{smoke,quick,paper}.toml` set them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrhanMaConfig {
    /// Master seed; network k's seed is `derive_seed(seed, k)`, or with
    /// `paired_rho` that of its position in the grid without the ρ axis.
    pub seed: u64,
    /// Networks trained at once (one per core; each network single-threaded).
    pub threads: usize,
    /// Recurrent units N (paper: 500).
    pub n_units: usize,
    /// Training iterations, one fresh batch each (paper: 25,001).
    pub iterations: usize,
    /// Trials per training batch (paper: 50).
    pub batch_size: usize,
    /// Adam learning rate (paper: 5e-4).
    pub learning_rate: f64,
    /// Test batches of `batch_size` trials for the fractional loss (paper: 2,501).
    pub test_batches: usize,
    /// Test trials whose activity is recorded for SI and heat maps (paper: 300).
    pub record_trials: usize,
    /// Success: test fractional loss below this (paper: 0.5).
    pub success_threshold: f64,
    /// Keep only successful networks in the SI statistics (paper: true).
    /// Smoke runs train too briefly for that and analyse every network.
    pub require_success: bool,
    /// Task names: any of "DE-1", "DE-2", "CD", "GDE", "2AFC", "COMP".
    pub tasks: Vec<String>,
    /// Conditions to train.
    pub conditions: Vec<Condition>,
    /// Initial self-coupling values λ0 (paper: 0.80, 0.82, …, 0.98).
    pub lambda0: Vec<f64>,
    /// Initial off-diagonal coupling σ0 (paper's units: std = σ0/√N; 0 … 0.4025).
    pub sigma0: Vec<f64>,
    /// Weight-decay coefficients ρ.
    pub rho: Vec<f64>,
    /// Independent networks per grid point.
    pub replicates: usize,
    /// Networks that differ only in ρ share one seed, hence the same initial
    /// weights, training batches and test trials (common random numbers), so
    /// the ρ effect is measured within matched networks instead of against
    /// the spread of initialisations. `false` gives every network its own
    /// seed, like the per-job seeds of the original study.
    pub paired_rho: bool,
    /// Nonlinearity of the trained networks.
    pub activation: Activation,
    /// Input-population gain g (paper: 1; supplement: 0.5, 1, 2.5).
    pub input_gain: Vec<f64>,
    /// The untrained-network grid of Supp. Fig. 1.
    pub untrained_grid: UntrainedGrid,
    /// The banded model of Supp. Fig. 7.
    pub banded: BandedModel,
    /// SI threshold above which a network counts as "sequential" for weight profiles (paper: ≈5).
    pub high_si: f64,
    /// SI threshold below which a network counts as "persistent" (paper: ≈2.5).
    pub low_si: f64,
    /// |T_ij| above which a Schur-mode interaction is significant (Supp. Fig. 12: 0.04).
    pub schur_threshold: f64,
    /// Offsets ±K of the recurrent weight profile.
    pub profile_max_offset: usize,
    /// First task of the sequential condition (Orhan & Ma 2019: 2AFC before CD or
    /// COMP, or CD/COMP before 2AFC). Grid tasks equal to it are skipped there.
    pub sequential_first: String,
    /// Task and scoring details: `"parity"` (default), `"as-coded"` (the
    /// original code's defects included) or `"corrected"`.
    pub task_code: TaskCode,
    /// Write each network's recorded activity to `activity.safetensors`
    /// (`[trial, time, unit]`; large at paper scale: 300 × 150 × 500 floats).
    pub save_activity: bool,
}

impl Default for OrhanMaConfig {
    fn default() -> Self {
        Self {
            seed: 2019,
            threads: 2,
            n_units: 100,
            iterations: 2000,
            batch_size: 50,
            learning_rate: 1e-3,
            test_batches: 10,
            record_trials: 50,
            success_threshold: 0.5,
            require_success: true,
            tasks: vec!["2AFC".to_string()],
            conditions: vec![Condition::Basic],
            lambda0: vec![0.94, 0.98],
            sigma0: vec![0.0, 0.134, 0.268],
            rho: vec![0.0, 5e-3],
            replicates: 2,
            paired_rho: true,
            activation: Activation::Relu,
            input_gain: vec![1.0],
            untrained_grid: UntrainedGrid::default(),
            banded: BandedModel::default(),
            high_si: 5.0,
            low_si: 2.5,
            schur_threshold: 0.04,
            profile_max_offset: 20,
            save_activity: false,
            sequential_first: "2AFC".into(),
            task_code: TaskCode::Parity,
        }
    }
}

/// Supp. Fig. 1: untrained networks' response to a unit pulse over a (λ0, σ0) grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UntrainedGrid {
    /// Recurrent units (paper: 500).
    pub n_units: usize,
    /// Steps simulated after the pulse (150).
    pub n_steps: usize,
    /// λ0 values (paper: 10 from 0.8 to 0.98).
    pub lambda0: Vec<f64>,
    /// σ0 values (paper: 10 from 0 to 0.4025).
    pub sigma0: Vec<f64>,
}

impl Default for UntrainedGrid {
    fn default() -> Self {
        Self {
            n_units: 500,
            n_steps: 150,
            lambda0: linspace(0.8, 0.98, 10),
            sigma0: linspace(0.0, 0.4025, 10),
        }
    }
}

impl UntrainedGrid {
    /// Check sizes and values; the error names the field, value and range.
    pub fn validate(&self) -> anyhow::Result<()> {
        check_count("n_units", self.n_units, 1, MAX_UNITS)?;
        check_count("n_steps", self.n_steps, 2, MAX_STEPS)?;
        check_values("lambda0", &self.lambda0, 0.0, 2.0)?;
        check_values("sigma0", &self.sigma0, 0.0, 5.0)?;
        check_count(
            "lambda0 x sigma0 grid points",
            self.lambda0.len() * self.sigma0.len(),
            1,
            100_000,
        )?;
        // One N x N matrix and a [steps, N] response per grid point in flight.
        let n = self.n_units as f64;
        check_memory(
            "the untrained grid",
            8.0 * (2.0 * n * n + self.n_steps as f64 * n) * rayon::current_num_threads() as f64,
        )
    }
}

/// Largest network the Orhan & Ma configs accept (paper: 500 units).
pub const MAX_UNITS: usize = 20_000;
/// Largest trial or simulation length in steps.
pub const MAX_STEPS: usize = 1_000_000;

/// `n` evenly spaced values from `a` to `b` inclusive.
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    match n {
        0 => vec![],
        1 => vec![a],
        _ => (0..n)
            .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
            .collect(),
    }
}

impl OrhanMaConfig {
    /// Upper bounds of the sizes, and the memory a run needs: `threads`
    /// networks training at once, each holding about a dozen `[steps, batch,
    /// units]` f32 buffers (forward states, backward deltas, temporaries)
    /// and its recorded test trials.
    fn validate_sizes(&self) -> anyhow::Result<()> {
        check_count("threads", self.threads, 1, 1024)?;
        check_count("n_units", self.n_units, 1, MAX_UNITS)?;
        check_count("iterations", self.iterations, 1, 100_000_000)?;
        check_count("batch_size", self.batch_size, 1, 100_000)?;
        check_count("test_batches", self.test_batches, 1, 10_000_000)?;
        check_count("record_trials", self.record_trials, 1, 1_000_000)?;
        check_count("replicates", self.replicates, 1, 100_000)?;
        let networks = [
            self.tasks.len(),
            self.conditions.len(),
            self.lambda0.len(),
            self.sigma0.len(),
            self.rho.len(),
            self.input_gain.len(),
            self.replicates,
        ]
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .unwrap_or(usize::MAX);
        check_count("grid size (networks)", networks, 1, 10_000_000)?;
        let steps = self
            .tasks
            .iter()
            .filter_map(|t| wm_tasks::orhan_ma_task(t, &Default::default()).ok())
            .map(|t| t.n_steps())
            .max()
            .unwrap_or(0) as f64;
        let (n, b) = (self.n_units as f64, self.batch_size as f64);
        let per_network = 4.0 * (12.0 * steps * b * n + 8.0 * n * n)
            + 4.0 * 2.0 * self.record_trials as f64 * steps * n;
        check_memory(
            &format!(
                "training {} network(s) at once ({} units, batch {}, {} steps)",
                self.threads, self.n_units, self.batch_size, steps
            ),
            per_network * self.threads as f64,
        )
    }

    /// Check every field's range; the error names the field and what is allowed.
    pub fn validate(&self) -> anyhow::Result<()> {
        use anyhow::bail;
        let positive = [
            ("threads", self.threads),
            ("n_units", self.n_units),
            ("iterations", self.iterations),
            ("batch_size", self.batch_size),
            ("test_batches", self.test_batches),
            ("record_trials", self.record_trials),
            ("replicates", self.replicates),
        ];
        for (name, v) in positive {
            if v == 0 {
                bail!("`{name}` = 0: must be at least 1");
            }
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            bail!(
                "`learning_rate` = {}: must be a finite number > 0",
                self.learning_rate
            );
        }
        if self.tasks.is_empty() {
            bail!("`tasks` is empty: name at least one of {TASKS:?}");
        }
        for t in &self.tasks {
            if !TASKS.contains(&t.as_str()) {
                bail!("`tasks` contains {t:?}: allowed are {TASKS:?}");
            }
        }
        if !TASKS.contains(&self.sequential_first.as_str()) {
            bail!(
                "`sequential_first` = {:?}: allowed are {TASKS:?}",
                self.sequential_first
            );
        }
        if self.conditions.is_empty() {
            bail!("`conditions` is empty");
        }
        for (name, vals, lo, hi) in [
            ("lambda0", &self.lambda0, 0.0, 2.0),
            ("sigma0", &self.sigma0, 0.0, 5.0),
            ("rho", &self.rho, 0.0, 1.0),
            ("input_gain", &self.input_gain, 1e-6, 100.0),
        ] {
            if vals.is_empty() {
                bail!("`{name}` is empty: give at least one value");
            }
            if let Some(v) = vals.iter().find(|v| !(**v >= lo && **v <= hi)) {
                bail!("`{name}` contains {v}: allowed range is [{lo}, {hi}]");
            }
        }
        if self.success_threshold.is_nan() || self.success_threshold <= 0.0 {
            bail!(
                "`success_threshold` = {}: must be > 0",
                self.success_threshold
            );
        }
        self.validate_sizes()?;
        for (field, v) in [("high_si", self.high_si), ("low_si", self.low_si)] {
            check_value(field, v, -1e6, 1e6)?;
        }
        check_value("schur_threshold", self.schur_threshold, 0.0, 1e6)?;
        check_count("profile_max_offset", self.profile_max_offset, 0, MAX_UNITS)?;
        self.untrained_grid
            .validate()
            .map_err(|e| anyhow::anyhow!("[untrained_grid] {e}"))?;
        self.banded
            .validate()
            .map_err(|e| anyhow::anyhow!("[banded] {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_of(text: &str) -> String {
        let cfg: OrhanMaConfig = toml::from_str(text).unwrap();
        cfg.validate().unwrap_err().to_string()
    }

    #[test]
    fn task_code_names_select_the_original_or_corrected_details() {
        for (name, alias, observer, metric) in [
            ("parity", false, CdObserver::Coded, DeMetric::Code),
            ("as-coded", true, CdObserver::Coded, DeMetric::Code),
            (
                "corrected",
                false,
                CdObserver::Corrected,
                DeMetric::Circular,
            ),
        ] {
            let cfg: OrhanMaConfig = toml::from_str(&format!("task_code = \"{name}\"")).unwrap();
            let mut opts = OrhanMaTaskOptions::default();
            cfg.task_code.apply(&mut opts);
            assert_eq!(
                (opts.legacy_gde_alias, opts.cd_observer, opts.de_metric),
                (alias, observer, metric),
                "{name}"
            );
        }
        assert!(toml::from_str::<OrhanMaConfig>("task_code = \"fixed\"").is_err());
    }

    #[test]
    fn the_default_config_is_valid() {
        OrhanMaConfig::default().validate().unwrap();
    }

    #[test]
    fn untrained_grid_and_banded_model_are_validated_with_their_section() {
        let e = err_of("[untrained_grid]\nn_units = 0\n");
        assert!(e.starts_with("[untrained_grid] `n_units` = 0"), "{e}");
        let e = err_of("[untrained_grid]\nsigma0 = [0.1, inf]\n");
        assert!(e.contains("[untrained_grid] `sigma0` contains inf"), "{e}");
        let e = err_of("[banded]\nn_steps = 0\n");
        assert!(e.starts_with("[banded] `n_steps` = 0"), "{e}");
        let e = err_of("[banded]\nforward = nan\n");
        assert!(e.contains("[banded] `forward` contains NaN"), "{e}");
    }

    #[test]
    fn sizes_have_upper_bounds_and_a_memory_estimate() {
        let e = err_of("n_units = 50000\n");
        assert!(
            e.contains("`n_units` = 50000") && e.contains("20000"),
            "{e}"
        );
        // Within every single bound, but not in this machine's memory.
        let e = err_of("n_units = 20000\nbatch_size = 100000\n");
        assert!(
            e.contains("GiB") && e.contains("WM_ALLOW_LARGE_MEMORY"),
            "{e}"
        );
        let e = err_of(
            "replicates = 100000\nsigma0 = [0.0, 0.1, 0.2, 0.3, 0.4]\nlambda0 = [0.9, 0.95, 0.97]\nrho = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]\n",
        );
        assert!(e.contains("grid size"), "{e}");
        let e = err_of("profile_max_offset = 100000\n");
        assert!(e.contains("profile_max_offset"), "{e}");
    }
}
