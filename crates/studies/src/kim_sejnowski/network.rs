//! One network of the Kim & Sejnowski reproduction, from training to unit
//! timescales.
//!
//! Each network lives in `networks/<task>-<τ regime>-r<replicate>/`:
//!
//! * `run.toml`: its spec, model and training settings (a rerun with a
//!   different config into the same folder is refused);
//! * `train_checkpoint.safetensors`: the training state while the network
//!   trains (parameters, Adam's moments, update counter, evaluations, the
//!   position of the training RNG), written every `train.checkpoint_every`
//!   updates and when training stops. A rerun after a kill resumes from it
//!   and trains bit-for-bit the network an uninterrupted run trains
//!   ([`train_kim`]); it is removed once training is saved;
//! * `weights.safetensors` and `training.toml`: the trained rate network and
//!   its stopping outcome (`training.toml` is written last, so its presence
//!   means training finished). A rerun loads them and **does not retrain**;
//! * `analysis.toml`, `result.toml`, `units.csv`: the LIF conversion, scale
//!   search, spontaneous activity and timescale fits. They are reused when
//!   `analysis.toml` matches the config's analysis settings, else redone
//!   from the saved weights.
//!
//! Random streams of a network's seed: 0 initialisation, 1 training trials
//! and noise, 2 rate evaluation, 3 scale search, 4 LIF evaluation,
//! 5 spontaneous activity, 6 discriminability trials.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use ndarray::Array3;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use wm_analysis::timescale::{UnitTimescale, autocorrelation_timescales};
use wm_rate_rnn::dale::{DaleConfig, DaleLeaky, KimTrainConfig, KimTrainOutcome, evaluate_kim};
use wm_rate_rnn::{DType, train_kim};
use wm_spiking::{
    LifNetwork, RateArrays, ScaleSearch, SimOptions, SpikeTrains, lif_accuracy, search_scale,
};
use wm_tasks::kim::{DmsOptions, KimDms, KimGoNoGo};
use wm_tasks::{Task, TaskRng};

use crate::io::{derive_seed, read_toml, write_atomic, write_csv, write_toml};
use crate::kim_sejnowski::config::{KimSejnowskiConfig, KimTask, TauRegime, TimescaleConfig};

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
}

#[derive(Serialize)]
struct NetworkRun<'a> {
    spec: &'a NetworkSpec,
    model: &'a DaleConfig,
    train: &'a KimTrainConfig,
    task: String,
    wm_version: &'static str,
}

/// `run.toml`'s text: the run without the training's checkpoint interval,
/// which does not change the trained network. A rerun with another interval
/// resumes, and folders written before the interval existed still match.
fn run_description(run: &NetworkRun) -> Result<String> {
    Ok(toml::to_string_pretty(run)?
        .lines()
        .filter(|l| !l.starts_with("checkpoint_every = "))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// File of the training state while a network trains (see the module docs).
pub const TRAIN_CHECKPOINT: &str = "train_checkpoint.safetensors";

/// Remove a finished network's training checkpoint (absent is fine).
fn remove_train_checkpoint(dir: &Path) -> Result<()> {
    let path = dir.join(TRAIN_CHECKPOINT);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// NaN: a row written before a measure existed.
fn not_measured() -> f64 {
    f64::NAN
}

/// The settings the analysis of a trained network depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AnalysisSettings {
    lif: wm_spiking::LifParams,
    scale_search: ScaleSearch,
    rate_eval_trials: usize,
    lif_eval_trials: usize,
    lif_accuracy_threshold: f64,
    require_converged: bool,
    timescale: TimescaleConfig,
    /// The long-delay timeline DMS networks are also scored on.
    long_delay: LongDelay,
}

/// The long-delay evaluation timeline (fixation and delay, ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LongDelay {
    fixation_ms: f64,
    delay_ms: f64,
}

impl AnalysisSettings {
    fn of(cfg: &KimSejnowskiConfig) -> Self {
        Self {
            lif: cfg.lif.clone(),
            scale_search: cfg.scale_search.clone(),
            rate_eval_trials: cfg.rate_eval_trials,
            lif_eval_trials: cfg.lif_eval_trials,
            lif_accuracy_threshold: cfg.lif_accuracy_threshold,
            require_converged: cfg.require_converged,
            timescale: cfg.timescale.clone(),
            long_delay: LongDelay {
                fixation_ms: cfg.discriminability.fixation_ms,
                delay_ms: cfg.discriminability.delay_ms,
            },
        }
    }
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

/// LIF steps per rate-model step.
pub fn steps_per_input(cfg: &KimSejnowskiConfig) -> usize {
    (cfg.dms.dt_ms / cfg.lif.dt_ms).round() as usize
}

/// The spontaneous activity of a converted network (zero input, the
/// configured number and length of trials), with spikes recorded.
pub fn spontaneous(
    cfg: &KimSejnowskiConfig,
    net: &LifNetwork<f64>,
    seed: u64,
) -> Result<SpikeTrains> {
    let sim = net.simulate_spontaneous(
        cfg.timescale.duration_ms,
        cfg.timescale.trials,
        &SimOptions {
            seed: sub_seed(seed, 5),
            steps_per_input: steps_per_input(cfg),
            record_spikes: true,
            readout: false,
        },
    )?;
    Ok(sim.spikes)
}

/// Spike counts `[units, trials, bins]` after dropping the discarded bins.
pub fn spontaneous_counts(ts: &TimescaleConfig, spikes: &SpikeTrains) -> Result<Array3<f64>> {
    let (counts, bins) = spikes.binned_counts(ts.bin_ms);
    let drop = ((ts.discard_ms / ts.bin_ms).round() as usize).min(bins);
    let full = Array3::from_shape_vec((spikes.n_units, spikes.n_trials(), bins), counts)?;
    Ok(full.slice(ndarray::s![.., .., drop..]).to_owned())
}

/// Timescale of each unit of a spontaneous recording.
pub fn unit_timescales(
    cfg: &KimSejnowskiConfig,
    spikes: &SpikeTrains,
) -> Result<Vec<UnitTimescale>> {
    let counts = spontaneous_counts(&cfg.timescale, spikes)?;
    Ok(autocorrelation_timescales(
        counts.view(),
        &cfg.timescale_params(),
    )?)
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

/// Train (or load) and analyse the network `spec` in `dir`.
pub fn run_network(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    dir: &Path,
) -> Result<NetworkOutcome> {
    let task = task_object(cfg, spec.task)?;
    let model_cfg = cfg.dale_config(task.n_inputs(), spec.regime);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    claim_folder(spec, cfg, &model_cfg, dir)?;
    let clock = Instant::now();
    let (model, training) = train_or_load(spec, cfg, model_cfg, task.as_ref(), dir)?;
    let train_seconds = clock.elapsed().as_secs_f64();
    let settings = AnalysisSettings::of(cfg);
    if let Some(saved) = load_analysis(spec, &settings, dir)? {
        return Ok(saved);
    }
    let clock = Instant::now();
    let (scores, arrays, net) = score(spec, cfg, &model, task.as_ref())?;
    let spikes = spontaneous(cfg, &net, spec.seed)?;
    let fits = unit_timescales(cfg, &spikes)?;
    let units = unit_rows(spec, &fits, model.signs(), &arrays.tau_ms);
    let mut row = network_row(spec, cfg, &training, &scores, &units, &arrays.tau_ms);
    row.train_seconds = train_seconds;
    row.analysis_seconds = clock.elapsed().as_secs_f64();
    write_csv(&dir.join("units.csv"), &units)?;
    write_toml(&dir.join("result.toml"), &row)?;
    write_toml(&dir.join("analysis.toml"), &settings)?;
    Ok(NetworkOutcome {
        spec: spec.clone(),
        row,
        units,
    })
}

/// Write the network's `run.toml`, refusing a folder whose `run.toml`
/// describes another network.
fn claim_folder(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    model_cfg: &DaleConfig,
    dir: &Path,
) -> Result<()> {
    let task_desc = match spec.task {
        KimTask::Dms => toml::to_string(&cfg.dms)?,
        KimTask::GoNogo => toml::to_string(&cfg.go_nogo)?,
    };
    let run = run_description(&NetworkRun {
        spec,
        model: model_cfg,
        train: &cfg.train_config(spec.task),
        task: task_desc,
        wm_version: env!("CARGO_PKG_VERSION"),
    })?;
    let run_path = dir.join("run.toml");
    if let Ok(previous) = std::fs::read_to_string(&run_path)
        && previous != run
    {
        anyhow::bail!(
            "{} describes a different network than this config asks for; \
             resume only with the same config, or write to a fresh --out folder",
            run_path.display()
        );
    }
    write_atomic(&run_path, run.as_bytes())
}

/// The trained rate network and its stopping outcome: loaded when `dir`
/// holds a finished training, else trained (resuming from the training
/// checkpoint if there is one) and saved.
fn train_or_load(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    model_cfg: DaleConfig,
    task: &dyn Task,
    dir: &Path,
) -> Result<(DaleLeaky, KimTrainOutcome)> {
    let name = spec.dir_name();
    let weights = dir.join("weights.safetensors");
    let training = dir.join("training.toml");
    let mut model = DaleLeaky::new(model_cfg, DType::F32, &mut stream(spec.seed, 0))?;
    if training.is_file() && weights.is_file() {
        model
            .load(&weights)
            .with_context(|| format!("network {name}: cannot load its weights"))?;
        // Left by a kill between `training.toml` and the removal below.
        remove_train_checkpoint(dir)?;
        return Ok((model, read_toml(&training)?));
    }
    let outcome = train_kim(
        &model,
        task,
        &cfg.train_config(spec.task),
        &mut stream(spec.seed, 1),
        Some(&dir.join(TRAIN_CHECKPOINT)),
        &mut |e| {
            tracing::debug!(
                network = %name,
                iteration = e.iteration,
                loss = format!("{:.3}", e.loss),
                accuracy = format!("{:.3}", e.accuracy),
                "training"
            );
        },
    )
    .with_context(|| format!("training network {name}"))?;
    let meta = HashMap::from([
        ("task".to_string(), spec.task.name().to_string()),
        ("tau_mode".to_string(), spec.regime.name().to_string()),
        ("seed".to_string(), spec.seed.to_string()),
    ]);
    model.save(&weights, meta)?;
    write_toml(&training, &outcome)?;
    remove_train_checkpoint(dir)?;
    Ok((model, outcome))
}

/// The saved analysis of `dir` when it was made with `settings` (its
/// training seconds set to 0: nothing was trained).
fn load_analysis(
    spec: &NetworkSpec,
    settings: &AnalysisSettings,
    dir: &Path,
) -> Result<Option<NetworkOutcome>> {
    let result_path = dir.join("result.toml");
    let units_path = dir.join("units.csv");
    if !(result_path.is_file()
        && units_path.is_file()
        && read_toml::<AnalysisSettings>(&dir.join("analysis.toml"))
            .ok()
            .as_ref()
            == Some(settings))
    {
        return Ok(None);
    }
    let mut row: NetworkRow = read_toml(&result_path)?;
    row.train_seconds = 0.0;
    let mut rdr = csv::Reader::from_path(&units_path)
        .with_context(|| format!("cannot read {}", units_path.display()))?;
    let units = rdr
        .deserialize()
        .collect::<std::result::Result<Vec<UnitRow>, _>>()
        .with_context(|| format!("cannot parse {}", units_path.display()))?;
    Ok(Some(NetworkOutcome {
        spec: spec.clone(),
        row,
        units,
    }))
}

/// A trained network's scores as a rate network and, converted, as a LIF
/// network.
struct Scores {
    rate_loss: f64,
    rate_accuracy: f64,
    best_scale: f64,
    search_accuracy: f64,
    lif_accuracy: f64,
    rate_accuracy_long_delay: f64,
    lif_accuracy_long_delay: f64,
}

/// Score `model` on fresh trials of `task`, convert it at the best scaling
/// factor of the grid search and score the LIF network; DMS networks also
/// on the long-delay timeline. Returns the scores, the rate arrays and the
/// converted network.
fn score(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    model: &DaleLeaky,
    task: &dyn Task,
) -> Result<(Scores, RateArrays, LifNetwork<f64>)> {
    let (rate_loss, rate_accuracy) =
        evaluate_kim(model, task, cfg.rate_eval_trials, &mut stream(spec.seed, 2))?;
    let arrays = rate_arrays(model)?;
    let lif_task = lif_task_object(cfg, spec.task)?;
    let search = search_scale::<f64>(
        &arrays,
        &cfg.lif,
        lif_task.as_ref(),
        &cfg.scale_search,
        sub_seed(spec.seed, 3),
    )?;
    let net = arrays.to_lif::<f64>(search.best_scale, &cfg.lif)?;
    let lif_accuracy = lif_accuracy(
        &net,
        lif_task.as_ref(),
        cfg.lif_eval_trials,
        &mut stream(spec.seed, 4),
        sub_seed(spec.seed, 4),
    )?;
    let (rate_accuracy_long_delay, lif_accuracy_long_delay) = match spec.task {
        KimTask::Dms => long_delay_scores(spec, cfg, model, &net)?,
        KimTask::GoNogo => (f64::NAN, f64::NAN),
    };
    let scores = Scores {
        rate_loss,
        rate_accuracy,
        best_scale: search.best_scale,
        search_accuracy: search.best_accuracy,
        lif_accuracy,
        rate_accuracy_long_delay,
        lif_accuracy_long_delay,
    };
    Ok((scores, arrays, net))
}

/// Rate and LIF accuracy of a DMS network on the long-delay timeline of
/// the cross-temporal analysis.
fn long_delay_scores(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    model: &DaleLeaky,
    net: &LifNetwork<f64>,
) -> Result<(f64, f64)> {
    let long = long_delay_task(cfg)?;
    let (_, rate) = evaluate_kim(
        model,
        &long,
        cfg.rate_eval_trials,
        &mut stream(spec.seed, 7),
    )?;
    let lif = lif_accuracy(
        net,
        &long,
        cfg.lif_eval_trials,
        &mut stream(spec.seed, 8),
        sub_seed(spec.seed, 8),
    )?;
    Ok((rate, lif))
}

/// The rows of `units.csv`: each unit's sign, τ^s and timescale fit.
fn unit_rows(
    spec: &NetworkSpec,
    fits: &[UnitTimescale],
    signs: &[f64],
    tau_ms: &[f64],
) -> Vec<UnitRow> {
    fits.iter()
        .enumerate()
        .map(|(u, f)| UnitRow {
            task: spec.task.name().into(),
            tau_mode: spec.regime.name().into(),
            replicate: spec.replicate,
            unit: u,
            inhibitory: signs[u] < 0.0,
            tau_syn_ms: tau_ms[u],
            rate_hz: f.rate_hz,
            timescale_ms: f.tau_ms,
            amplitude: f.fit.as_ref().map_or(f64::NAN, |x| x.a),
            start_lag_ms: f.start_lag_ms,
            exclusion: f.exclusion.map(|e| format!("{e:?}")).unwrap_or_default(),
        })
        .collect()
}

/// The network's row of `networks.csv` (its seconds left at 0).
fn network_row(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    training: &KimTrainOutcome,
    scores: &Scores,
    units: &[UnitRow],
    tau_ms: &[f64],
) -> NetworkRow {
    let pooled: Vec<f64> = units
        .iter()
        .filter(|u| u.rate_hz <= cfg.timescale.max_rate_hz)
        .filter_map(|u| u.timescale_ms)
        .collect();
    let (mean_ts, median_ts) = mean_median(&pooled);
    let rates: Vec<f64> = units.iter().map(|u| u.rate_hz).collect();
    let converged_ok = training.converged || !cfg.require_converged;
    NetworkRow {
        task: spec.task.name().into(),
        tau_mode: spec.regime.name().into(),
        replicate: spec.replicate,
        seed: spec.seed,
        iterations: training.iterations,
        converged: training.converged,
        rate_accuracy: scores.rate_accuracy,
        rate_loss: scores.rate_loss,
        best_scale: scores.best_scale,
        search_accuracy: scores.search_accuracy,
        lif_accuracy: scores.lif_accuracy,
        rate_accuracy_long_delay: scores.rate_accuracy_long_delay,
        lif_accuracy_long_delay: scores.lif_accuracy_long_delay,
        included: converged_ok && scores.lif_accuracy >= cfg.lif_accuracy_threshold,
        mean_rate_hz: mean_median(&rates).0,
        n_units_active: units
            .iter()
            .filter(|u| u.rate_hz >= cfg.timescale.min_rate_hz)
            .count(),
        n_units_fitted: pooled.len(),
        mean_timescale_ms: mean_ts,
        median_timescale_ms: median_ts,
        mean_tau_syn_ms: mean_median(tau_ms).0,
        train_seconds: 0.0,
        analysis_seconds: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wm_rate_rnn::checkpoint::load_tensors;

    /// One small Go-NoGo network, checkpointed every 20 of its 60 updates,
    /// with an analysis cut to a few LIF trials.
    fn tiny() -> (KimSejnowskiConfig, NetworkSpec) {
        let cfg = KimSejnowskiConfig {
            tasks: vec![KimTask::GoNogo],
            tau_regimes: vec![TauRegime::Optimized],
            networks_per_condition: 1,
            n_units: 12,
            go_nogo_min_iterations: 0,
            require_converged: false,
            rate_eval_trials: 4,
            lif_eval_trials: 2,
            lif_accuracy_threshold: 0.0,
            train: KimTrainConfig {
                max_iterations: 60,
                eval_every: 20,
                eval_trials: 4,
                loss_threshold: 0.0,
                checkpoint_every: 20,
                ..KimTrainConfig::default()
            },
            scale_search: ScaleSearch {
                scales: vec![20.0],
                trials: 2,
            },
            timescale: TimescaleConfig {
                trials: 2,
                ..TimescaleConfig::default()
            },
            ..KimSejnowskiConfig::default()
        };
        let spec = expand(&cfg).remove(0);
        (cfg, spec)
    }

    /// Train `spec`'s network as [`run_network`] does, but with the model
    /// initialised from `init_seed`, checkpointing to `scratch`; returns the
    /// checkpoint as it was when the evaluation at update `at` was reported
    /// (update `at − 20`'s state: the file a kill there leaves).
    fn checkpoint_at(
        cfg: &KimSejnowskiConfig,
        spec: &NetworkSpec,
        init_seed: u64,
        scratch: &Path,
        at: usize,
    ) -> Vec<u8> {
        let task = task_object(cfg, spec.task).unwrap();
        let model = DaleLeaky::new(
            cfg.dale_config(task.n_inputs(), spec.regime),
            DType::F32,
            &mut stream(init_seed, 0),
        )
        .unwrap();
        let mut bytes = Vec::new();
        train_kim(
            &model,
            task.as_ref(),
            &cfg.train_config(spec.task),
            &mut stream(spec.seed, 1),
            Some(scratch),
            &mut |e| {
                if e.iteration == at {
                    bytes = std::fs::read(scratch).unwrap();
                }
            },
        )
        .unwrap();
        assert!(!bytes.is_empty());
        bytes
    }

    #[test]
    fn a_killed_network_resumes_its_training_to_the_uninterrupted_network() {
        let (cfg, spec) = tiny();
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        let straight = run_network(&spec, &cfg, &a).unwrap();
        assert_eq!(straight.row.iterations, 60);
        assert!(!a.join(TRAIN_CHECKPOINT).exists(), "removed once saved");

        // B holds what a kill at update 50 leaves: run.toml and update 40's state.
        std::fs::create_dir_all(&b).unwrap();
        std::fs::copy(a.join("run.toml"), b.join("run.toml")).unwrap();
        let state = checkpoint_at(&cfg, &spec, spec.seed, &root.path().join("s"), 60);
        std::fs::write(b.join(TRAIN_CHECKPOINT), state).unwrap();
        let f = load_tensors(&b.join(TRAIN_CHECKPOINT)).unwrap();
        assert_eq!(f.meta::<usize>(&b, "iteration").unwrap(), 40);
        let resumed = run_network(&spec, &cfg, &b).unwrap();
        assert!(!b.join(TRAIN_CHECKPOINT).exists());

        let (wa, wb) = (
            load_tensors(&a.join("weights.safetensors")).unwrap(),
            load_tensors(&b.join("weights.safetensors")).unwrap(),
        );
        assert_eq!(wa.tensors.len(), wb.tensors.len());
        for (name, t) in &wa.tensors {
            let x: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            let y: Vec<f32> = wb.tensors[name].flatten_all().unwrap().to_vec1().unwrap();
            let bits = |v: &[f32]| v.iter().map(|z| z.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&x), bits(&y), "`{name}` differs");
        }
        for file in ["training.toml", "units.csv"] {
            assert_eq!(
                std::fs::read_to_string(a.join(file)).unwrap(),
                std::fs::read_to_string(b.join(file)).unwrap(),
                "{file}"
            );
        }
        let (ra, rb) = (&straight.row, &resumed.row);
        assert_eq!(ra.rate_loss.to_bits(), rb.rate_loss.to_bits());
        assert_eq!(ra.lif_accuracy.to_bits(), rb.lif_accuracy.to_bits());
    }

    #[test]
    fn a_training_checkpoint_of_another_network_is_refused_by_name() {
        let (cfg, spec) = tiny();
        let root = tempfile::tempdir().unwrap();
        let c = root.path().join("c");
        std::fs::create_dir_all(&c).unwrap();
        // The same config and training stream, another initialisation.
        let other = checkpoint_at(&cfg, &spec, spec.seed + 1, &root.path().join("s"), 40);
        std::fs::write(c.join(TRAIN_CHECKPOINT), &other).unwrap();
        let err = format!("{:#}", run_network(&spec, &cfg, &c).unwrap_err());
        assert!(
            err.contains(TRAIN_CHECKPOINT) && err.contains("different network"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(std::fs::read(c.join(TRAIN_CHECKPOINT)).unwrap(), other);
        assert!(!c.join("weights.safetensors").exists());
    }

    #[test]
    fn the_checkpoint_interval_is_not_part_of_the_network_description() {
        let (cfg, spec) = tiny();
        let describe = |every: usize| {
            let train = KimTrainConfig {
                checkpoint_every: every,
                ..cfg.train.clone()
            };
            run_description(&NetworkRun {
                spec: &spec,
                model: &cfg.dale_config(1, spec.regime),
                train: &train,
                task: "t".into(),
                wm_version: "0",
            })
            .unwrap()
        };
        let text = describe(20);
        assert_eq!(text, describe(500));
        assert!(!text.contains("checkpoint_every"), "{text}");
        assert!(text.contains("max_iterations = 60\n"), "{text}");
    }

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

    #[test]
    fn spontaneous_counts_drop_the_first_bin() {
        // Spikes at steps 1 (first bin, dropped), 1001 (second bin) and 2000
        // (end of the second bin) of unit 1, trial 0; 0.05-ms steps, 50-ms bins.
        let spikes = SpikeTrains {
            n_units: 2,
            dt_ms: 0.05,
            n_steps: 3000,
            trials: vec![vec![(1, 1), (1, 1001), (1, 2000)], vec![(0, 2500)]],
        };
        let ts = TimescaleConfig::default();
        let c = spontaneous_counts(&ts, &spikes).unwrap();
        assert_eq!(c.dim(), (2, 2, 2));
        assert_eq!(c[[1, 0, 0]], 2.0);
        assert_eq!(c[[0, 1, 1]], 1.0);
        assert_eq!(c.sum(), 3.0);
    }
}
