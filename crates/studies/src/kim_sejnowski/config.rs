//! The Kim & Sejnowski reproduction's config: one TOML per scale under
//! `experiments/kim-sejnowski/`.
//!
//! Every field has a default (the quick scale's network sizes with the
//! papers' constants); a TOML file sets only what differs. Unknown fields are
//! refused, and [`KimSejnowskiConfig::validate`] names the field and its
//! allowed range.

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use wm_rate_rnn::dale::{DaleConfig, EiSplit, TauMode};
use wm_rate_rnn::train::kim::KimTrainConfig;
use wm_spiking::{LifParams, ScaleSearch};
use wm_tasks::kim::{DmsOptions, GoNoGoOptions};

use crate::limits::check_count;
use crate::study::StudyConfig;

/// A task of the study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KimTask {
    /// Delayed match-to-sample (a working-memory task).
    Dms,
    /// Go-NoGo, the NeurIPS paper's ±1 version by default (no working memory).
    GoNogo,
}

impl KimTask {
    /// Name in tables and folder names.
    pub fn name(self) -> &'static str {
        match self {
            KimTask::Dms => "dms",
            KimTask::GoNogo => "go-nogo",
        }
    }

    /// Stable code used to derive network seeds.
    pub fn code(self) -> u64 {
        match self {
            KimTask::Dms => 0,
            KimTask::GoNogo => 1,
        }
    }
}

/// How the synaptic decay constants τ^s are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TauRegime {
    /// Trained per unit inside [`KimSejnowskiConfig::tau_min_ms`, `tau_max_ms`] (paper: [20, 125] ms).
    Optimized,
    /// Fixed for every unit at [`KimSejnowskiConfig::tau_fixed_ms`] (paper: 125 ms), not trained.
    Fixed,
}

impl TauRegime {
    /// Name in tables and folder names.
    pub fn name(self) -> &'static str {
        match self {
            TauRegime::Optimized => "optimized",
            TauRegime::Fixed => "fixed",
        }
    }

    /// Stable code used to derive network seeds.
    pub fn code(self) -> u64 {
        match self {
            TauRegime::Optimized => 0,
            TauRegime::Fixed => 1,
        }
    }
}

/// Spontaneous ("fixation") activity and the spike-count autocorrelation
/// timescale (Kim & Sejnowski 2019, Section 4; Kim's
/// `Robert_autocorr_analysis.m`, as copied in github.com/renee-tung/spikeRNN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimescaleConfig {
    /// Zero-input LIF trials per network (paper: 50).
    pub trials: usize,
    /// Length of each trial, ms (code: 1050, of which the first bin is dropped).
    pub duration_ms: f64,
    /// Initial transient dropped before binning, ms (code: 50, the first bin).
    pub discard_ms: f64,
    /// Spike-count bin, ms (50).
    pub bin_ms: f64,
    /// Largest autocorrelation lag, ms (paper text: 650; code: 700).
    pub max_lag_ms: f64,
    /// Latest allowed start lag (first decrease), ms (150).
    pub max_start_lag_ms: f64,
    /// Largest accepted timescale, ms (500).
    pub max_tau_ms: f64,
    /// Units firing below this mean rate are not fitted, Hz (3). The rate is
    /// taken over the analysed bins (1 s; the code divides by 1.05 s).
    pub min_rate_hz: f64,
    /// Pooled statistics use units up to this rate, Hz (100, `fr_lim`).
    pub max_rate_hz: f64,
    /// Levenberg–Marquardt tolerance on the relative cost change, the step
    /// and the gradient (MATLAB `lsqcurvefit` defaults: 1e-6).
    pub fit_tolerance: f64,
    /// Levenberg–Marquardt iteration cap (MATLAB default: 400).
    pub fit_max_iterations: u64,
}

impl Default for TimescaleConfig {
    fn default() -> Self {
        Self {
            trials: 50,
            duration_ms: 1050.0,
            discard_ms: 50.0,
            bin_ms: 50.0,
            max_lag_ms: 650.0,
            max_start_lag_ms: 150.0,
            max_tau_ms: 500.0,
            min_rate_hz: 3.0,
            max_rate_hz: 100.0,
            fit_tolerance: 1e-6,
            fit_max_iterations: 400,
        }
    }
}

/// Cross-temporal discriminability of long- vs short-timescale units on DMS
/// (Kim & Sejnowski 2019, Fig. 3; `cross_temporal_disc.m` of
/// github.com/rkim35/wmRNN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscriminabilityConfig {
    /// Run the analysis (needs at least one kept DMS network).
    pub enabled: bool,
    /// LIF trials per cue (s1 = s2 = ±1), split into odd/even halves (code: 12).
    pub trials_per_cue: usize,
    /// Fixation before the first stimulus, ms (code's long timeline: 150).
    pub fixation_ms: f64,
    /// Delay between the stimuli, ms (750).
    pub delay_ms: f64,
    /// Time resolution of the smoothed rates and the map, ms (a multiple of 5; 25).
    pub step_ms: f64,
    /// S.d. of the causal Gaussian smoothing kernel, ms (code: ≈10; kernel 5 s.d. long).
    pub smooth_sd_ms: f64,
    /// Long units: timescale above this quantile of the pooled DMS timescales (0.75).
    pub long_quantile: f64,
    /// Short units: timescale below this quantile (0.25).
    pub short_quantile: f64,
    /// Cluster-forming threshold on z(long) − z(short) (Fisher z units, 0.5).
    pub cluster_threshold: f64,
    /// Label permutations of the cluster test (Maris & Oostenveld: ≥ 1000).
    pub permutations: usize,
    /// Significance level of a cluster (0.05).
    pub alpha: f64,
}

impl Default for DiscriminabilityConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            trials_per_cue: 12,
            fixation_ms: 150.0,
            delay_ms: 750.0,
            step_ms: 25.0,
            smooth_sd_ms: 10.0,
            long_quantile: 0.75,
            short_quantile: 0.25,
            cluster_threshold: 0.5,
            permutations: 1000,
            alpha: 0.05,
        }
    }
}

/// The reproduction at one scale. Defaults: the papers' constants with the
/// quick scale's network counts; `experiments/kim-sejnowski/{smoke,quick,paper}.toml` set them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KimSejnowskiConfig {
    /// Master seed; every network's seed is derived from it, its task, τ regime and replicate.
    pub seed: u64,
    /// Networks trained at once (one per core; each network single-threaded).
    pub threads: usize,
    /// Tasks to train (paper: both).
    pub tasks: Vec<KimTask>,
    /// τ^s regimes (paper: optimized in [20, 125] ms, and fixed at 125 ms).
    pub tau_regimes: Vec<TauRegime>,
    /// Networks trained per (task, τ regime) (paper: 40 kept per condition).
    pub networks_per_condition: usize,
    /// Recurrent units N (paper: 200).
    pub n_units: usize,
    /// Probability that a unit is inhibitory (0.2).
    pub p_inhibitory: f64,
    /// Random (code) or fixed (paper's 80/20) E/I split.
    pub ei_split: EiSplit,
    /// Lower bound of optimized τ^s, ms (20).
    pub tau_min_ms: f64,
    /// Upper bound of optimized τ^s, ms (125).
    pub tau_max_ms: f64,
    /// τ^s of the fixed regime, ms (125).
    pub tau_fixed_ms: f64,
    /// Mean of the initial raw τ^s variable θ ~ N(mean, 1) of the optimized
    /// regime (0: the original code; the median unit starts at the middle
    /// of the range). A diagnostic setting, left out of records while 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub theta_init_mean: f64,
    /// S.d. of the rate network's recurrent noise per step, added outside
    /// the Δt/τ factor (0.1, Kim & Sejnowski 2019, Methods), in training and
    /// in the rate network's evaluation. A diagnostic setting, left out of
    /// records while 0.1.
    #[serde(skip_serializing_if = "is_paper_noise")]
    pub rate_noise_sd: f64,
    /// Training: Adam, one trial per update, stopping rule (the original
    /// `rate/main.py` of github.com/rkim35/spikeRNN).
    pub train: KimTrainConfig,
    /// Go-NoGo may not stop before this many updates (code: 1500; DMS uses `train.min_iterations`).
    pub go_nogo_min_iterations: usize,
    /// Keep only networks that met the stopping rule within `train.max_iterations` (paper: true).
    pub require_converged: bool,
    /// Fresh noisy trials scoring each trained rate network (100).
    pub rate_eval_trials: usize,
    /// The DMS task the networks train on (default: the code's 50-ms-delay `xor` timeline).
    pub dms: DmsOptions,
    /// The Go-NoGo task (default: the NeurIPS ±1 version).
    pub go_nogo: GoNoGoOptions,
    /// LIF constants (Table S1).
    pub lif: LifParams,
    /// Grid of scaling factors s = 1/λ and LIF trials per value (20, 25, …, 75; 100 trials).
    pub scale_search: ScaleSearch,
    /// Fresh LIF trials scoring the network at its best s (100).
    pub lif_eval_trials: usize,
    /// Keep networks whose LIF accuracy at the best s is at least this (0.95).
    pub lif_accuracy_threshold: f64,
    /// Spontaneous activity and timescale fits.
    pub timescale: TimescaleConfig,
    /// Cross-temporal discriminability of long vs short units.
    pub discriminability: DiscriminabilityConfig,
    /// Histogram bin edges of the unit timescales, ms.
    pub histogram_edges_ms: Vec<f64>,
}

impl Default for KimSejnowskiConfig {
    fn default() -> Self {
        let dms = DmsOptions::code_short_delay();
        Self {
            seed: 2019,
            threads: 2,
            tasks: vec![KimTask::Dms, KimTask::GoNogo],
            tau_regimes: vec![TauRegime::Optimized, TauRegime::Fixed],
            networks_per_condition: 3,
            n_units: 200,
            p_inhibitory: 0.2,
            ei_split: EiSplit::Bernoulli,
            tau_min_ms: 20.0,
            tau_max_ms: 125.0,
            tau_fixed_ms: 125.0,
            theta_init_mean: 0.0,
            rate_noise_sd: PAPER_NOISE_SD,
            train: KimTrainConfig::default(),
            go_nogo_min_iterations: 1500,
            require_converged: true,
            rate_eval_trials: 100,
            dms,
            go_nogo: GoNoGoOptions::default(),
            lif: LifParams::default(),
            scale_search: ScaleSearch::default(),
            lif_eval_trials: 100,
            lif_accuracy_threshold: 0.95,
            timescale: TimescaleConfig::default(),
            discriminability: DiscriminabilityConfig::default(),
            histogram_edges_ms: (0..=10).map(|k| 50.0 * k as f64).collect(),
        }
    }
}

impl KimSejnowskiConfig {
    /// The rate network's configuration for a task with `n_inputs` channels and a τ regime.
    pub fn dale_config(&self, n_inputs: usize, regime: TauRegime) -> DaleConfig {
        DaleConfig {
            n_inputs,
            n_units: self.n_units,
            n_outputs: 1,
            p_inhibitory: self.p_inhibitory,
            ei_split: self.ei_split,
            tau_mode: match regime {
                TauRegime::Optimized => TauMode::Trained,
                TauRegime::Fixed => TauMode::Fixed,
            },
            tau_min_ms: self.tau_min_ms,
            tau_max_ms: self.tau_max_ms,
            tau_fixed_ms: self.tau_fixed_ms,
            theta_init_mean: self.theta_init_mean,
            noise_sd: self.rate_noise_sd,
            dt_ms: self.dms.dt_ms,
            ..DaleConfig::default()
        }
    }

    /// The training settings of `task`.
    pub fn train_config(&self, task: KimTask) -> KimTrainConfig {
        let mut t = self.train.clone();
        if task == KimTask::GoNogo {
            t.min_iterations = t.min_iterations.max(self.go_nogo_min_iterations);
        }
        t
    }

    /// Check every field's range; the error names the field and what is allowed.
    pub fn validate(&self) -> Result<()> {
        self.validate_counts()?;
        self.validate_model()?;
        self.validate_tasks_and_lif()?;
        self.validate_timescale()?;
        self.validate_discriminability()?;
        validate_histogram_edges(&self.histogram_edges_ms)
    }

    /// Network, trial and iteration counts, and the lists of conditions.
    fn validate_counts(&self) -> Result<()> {
        for (name, v) in [
            ("threads", self.threads),
            ("networks_per_condition", self.networks_per_condition),
            ("n_units", self.n_units),
            ("rate_eval_trials", self.rate_eval_trials),
            ("lif_eval_trials", self.lif_eval_trials),
            ("train.batch_size", self.train.batch_size),
            ("train.max_iterations", self.train.max_iterations),
            ("train.eval_every", self.train.eval_every),
            ("train.eval_trials", self.train.eval_trials),
            ("scale_search.trials", self.scale_search.trials),
        ] {
            if v == 0 {
                bail!("`{name}` = 0: must be at least 1");
            }
        }
        if self.n_units < 3 {
            bail!("`n_units` = {}: must be at least 3", self.n_units);
        }
        check_count("threads", self.threads, 1, 1024)?;
        check_count("n_units", self.n_units, 3, 20_000)?;
        for (name, v) in [
            ("rate_eval_trials", self.rate_eval_trials),
            ("lif_eval_trials", self.lif_eval_trials),
            ("train.eval_trials", self.train.eval_trials),
            ("scale_search.trials", self.scale_search.trials),
        ] {
            check_count(name, v, 1, 1_000_000)?;
        }
        check_count("train.batch_size", self.train.batch_size, 1, 100_000)?;
        check_count(
            "train.max_iterations",
            self.train.max_iterations,
            1,
            100_000_000,
        )?;
        if self.networks_per_condition > 999_999 {
            bail!(
                "`networks_per_condition` = {}: allowed range is [1, 999999]",
                self.networks_per_condition
            );
        }
        if self.tasks.is_empty() {
            bail!("`tasks` is empty: name at least one of [\"dms\", \"go-nogo\"]");
        }
        if self.tau_regimes.is_empty() {
            bail!("`tau_regimes` is empty: name at least one of [\"optimized\", \"fixed\"]");
        }
        Ok(())
    }

    /// The rate model's constants and the training and keeping thresholds.
    fn validate_model(&self) -> Result<()> {
        in_range("p_inhibitory", self.p_inhibitory, 0.0, 1.0)?;
        in_range("tau_min_ms", self.tau_min_ms, self.dms.dt_ms, 10_000.0)?;
        in_range("tau_max_ms", self.tau_max_ms, self.tau_min_ms, 10_000.0)?;
        if self.tau_max_ms <= self.tau_min_ms {
            bail!(
                "`tau_max_ms` = {}: must be greater than tau_min_ms = {}",
                self.tau_max_ms,
                self.tau_min_ms
            );
        }
        in_range("tau_fixed_ms", self.tau_fixed_ms, self.dms.dt_ms, 10_000.0)?;
        in_range("theta_init_mean", self.theta_init_mean, -20.0, 20.0)?;
        in_range("rate_noise_sd", self.rate_noise_sd, 0.0, 10.0)?;
        in_range("train.learning_rate", self.train.learning_rate, 1e-9, 10.0)?;
        in_range("train.loss_threshold", self.train.loss_threshold, 0.0, 1e9)?;
        in_range(
            "train.accuracy_threshold",
            self.train.accuracy_threshold,
            0.0,
            1.0,
        )?;
        in_range(
            "lif_accuracy_threshold",
            self.lif_accuracy_threshold,
            0.0,
            1.0,
        )
    }

    /// The two tasks, the LIF constants and the scaling-factor grid.
    fn validate_tasks_and_lif(&self) -> Result<()> {
        if (self.dms.dt_ms - self.go_nogo.dt_ms).abs() > 1e-12 {
            bail!(
                "`go_nogo.dt_ms` = {}: must equal dms.dt_ms = {} (one rate model step)",
                self.go_nogo.dt_ms,
                self.dms.dt_ms
            );
        }
        wm_tasks::kim::KimDms::new(self.dms.clone()).map_err(|e| anyhow!("`dms`: {e}"))?;
        wm_tasks::kim::KimGoNoGo::new(self.go_nogo.clone())
            .map_err(|e| anyhow!("`go_nogo`: {e}"))?;
        self.lif.validate().map_err(|e| anyhow!("`lif`: {e}"))?;
        if self.scale_search.scales.is_empty() {
            bail!("`scale_search.scales` is empty: give at least one scaling factor");
        }
        if let Some(s) = self
            .scale_search
            .scales
            .iter()
            .find(|s| !(s.is_finite() && **s > 0.0))
        {
            bail!("`scale_search.scales` contains {s}: allowed range is (0, ∞)");
        }
        let steps_per_input = self.dms.dt_ms / self.lif.dt_ms;
        if (steps_per_input - steps_per_input.round()).abs() > 1e-6 {
            bail!(
                "`lif.dt_ms` = {}: must divide the rate step dms.dt_ms = {}",
                self.lif.dt_ms,
                self.dms.dt_ms
            );
        }
        Ok(())
    }

    /// The spontaneous recording and the timescale fits.
    fn validate_timescale(&self) -> Result<()> {
        let ts = &self.timescale;
        if ts.trials < 2 {
            bail!(
                "`timescale.trials` = {}: must be at least 2 (correlations across trials)",
                ts.trials
            );
        }
        in_range("timescale.bin_ms", ts.bin_ms, 1e-3, 10_000.0)?;
        in_range("timescale.discard_ms", ts.discard_ms, 0.0, ts.duration_ms)?;
        in_range("timescale.max_tau_ms", ts.max_tau_ms, 1e-3, 1e6)?;
        in_range("timescale.min_rate_hz", ts.min_rate_hz, 0.0, 1e4)?;
        in_range("timescale.max_rate_hz", ts.max_rate_hz, ts.min_rate_hz, 1e4)?;
        in_range("timescale.fit_tolerance", ts.fit_tolerance, 0.0, 1.0)?;
        if ts.fit_max_iterations == 0 {
            bail!("`timescale.fit_max_iterations` = 0: must be at least 1");
        }
        self.timescale_params()
            .validate()
            .map_err(|e| anyhow!("`timescale`: {e}"))?;
        let bins = ((ts.duration_ms - ts.discard_ms) / ts.bin_ms + 1e-9).floor() as usize;
        let lags = self.timescale_params().max_lag_bins();
        if bins < lags + 1 {
            bail!(
                "`timescale.duration_ms` = {}: gives {bins} bins after the discarded {} ms; \
                 lags up to {} ms need at least {}",
                ts.duration_ms,
                ts.discard_ms,
                ts.max_lag_ms,
                lags + 1
            );
        }
        Ok(())
    }

    /// The cross-temporal discriminability settings (when enabled).
    fn validate_discriminability(&self) -> Result<()> {
        let d = &self.discriminability;
        if !d.enabled {
            return Ok(());
        }
        if d.trials_per_cue < 4 {
            bail!(
                "`discriminability.trials_per_cue` = {}: must be at least 4 (two per half)",
                d.trials_per_cue
            );
        }
        in_range("discriminability.fixation_ms", d.fixation_ms, 0.0, 1e5)?;
        in_range("discriminability.delay_ms", d.delay_ms, 0.0, 1e5)?;
        let k = d.step_ms / self.dms.dt_ms;
        if !(k >= 1.0 && (k - k.round()).abs() < 1e-9) {
            bail!(
                "`discriminability.step_ms` = {}: must be a whole multiple (≥ 1) of dms.dt_ms = {}",
                d.step_ms,
                self.dms.dt_ms
            );
        }
        in_range("discriminability.smooth_sd_ms", d.smooth_sd_ms, 1e-3, 1e4)?;
        in_range(
            "discriminability.short_quantile",
            d.short_quantile,
            0.0,
            1.0,
        )?;
        in_range(
            "discriminability.long_quantile",
            d.long_quantile,
            d.short_quantile,
            1.0,
        )?;
        in_range(
            "discriminability.cluster_threshold",
            d.cluster_threshold,
            0.0,
            1e6,
        )?;
        if d.permutations == 0 {
            bail!("`discriminability.permutations` = 0: must be at least 1");
        }
        in_range("discriminability.alpha", d.alpha, 0.0, 1.0)
    }

    /// The analysis crate's timescale parameters.
    pub fn timescale_params(&self) -> wm_analysis::timescale::TimescaleParams {
        let ts = &self.timescale;
        wm_analysis::timescale::TimescaleParams {
            bin_ms: ts.bin_ms,
            max_lag_ms: ts.max_lag_ms,
            max_start_lag_ms: ts.max_start_lag_ms,
            max_tau_ms: ts.max_tau_ms,
            min_rate_hz: Some(ts.min_rate_hz),
            lm: wm_analysis::lm::LmOptions {
                max_iters: ts.fit_max_iterations,
                ftol: ts.fit_tolerance,
                xtol: ts.fit_tolerance,
                gtol: ts.fit_tolerance,
                ..Default::default()
            },
        }
    }
}

/// The driver's view of the config. The checks stay an inherent method too,
/// so that callers without the trait in scope (config fuzzing, the shipped
/// experiment files' test) reach them as before.
impl StudyConfig for KimSejnowskiConfig {
    fn validate(&self) -> Result<()> {
        KimSejnowskiConfig::validate(self)
    }

    fn seed(&self) -> u64 {
        self.seed
    }
}

/// `v` within [lo, hi] (NaN is not), else an error naming the field `name`.
fn in_range(name: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if !(v >= lo && v <= hi) {
        bail!("`{name}` = {v}: allowed range is [{lo}, {hi}]");
    }
    Ok(())
}

/// At least two strictly increasing histogram edges.
fn validate_histogram_edges(edges: &[f64]) -> Result<()> {
    if edges.len() < 2
        || edges
            .windows(2)
            .any(|w| w[1].partial_cmp(&w[0]) != Some(std::cmp::Ordering::Greater))
    {
        bail!("`histogram_edges_ms` = {edges:?}: need at least 2 strictly increasing edges");
    }
    Ok(())
}

/// Whether `v` is exactly 0 (a diagnostic shift left at its default).
fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// The rate network's recurrent noise s.d. per step (Kim & Sejnowski 2019, Methods).
const PAPER_NOISE_SD: f64 = 0.1;

/// Whether `v` is the paper's recurrent noise s.d.
fn is_paper_noise(v: &f64) -> bool {
    *v == PAPER_NOISE_SD
}
