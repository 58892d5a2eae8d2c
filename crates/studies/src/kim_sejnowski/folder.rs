//! One network's resumable folder, `networks/<task>-<τ regime>-r<replicate>/`:
//! train (or load) the network, then analyse it (or load its analysis).
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

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use wm_rate_rnn::dale::{DaleConfig, DaleLeaky};
use wm_rate_rnn::train::kim::{KimTrainConfig, KimTrainOutcome};
use wm_rate_rnn::{DType, train_kim};
use wm_spiking::ScaleSearch;
use wm_tasks::Task;

use crate::io::{read_toml, write_csv, write_run_record, write_toml};
use crate::kim_sejnowski::config::{KimSejnowskiConfig, KimTask, TimescaleConfig};
use crate::kim_sejnowski::lif::analyse;
use crate::kim_sejnowski::network::{
    NetworkOutcome, NetworkRow, NetworkSpec, UnitRow, stream, task_object,
};

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
    if let Some(saved) = load_analysis(spec, &settings, &training, dir)? {
        return Ok(saved);
    }
    let clock = Instant::now();
    let (mut row, units) = analyse(spec, cfg, &model, task.as_ref(), &training)?;
    row.train_seconds = train_seconds;
    row.analysis_seconds = clock.elapsed().as_secs_f64();
    write_csv(&dir.join("units.csv"), &units)?;
    write_toml(&dir.join("result.toml"), &row)?;
    write_toml(&dir.join("analysis.toml"), &settings)?;
    Ok(NetworkOutcome {
        spec: spec.clone(),
        row,
        units,
        training: training.evals,
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
    write_run_record(dir, &run)
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
    training: &KimTrainOutcome,
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
        training: training.evals.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wm_rate_rnn::checkpoint::load_tensors;

    use crate::kim_sejnowski::config::TauRegime;
    use crate::kim_sejnowski::network::expand;

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
}
