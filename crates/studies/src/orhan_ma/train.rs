//! Train, test and measure one network of the Orhan & Ma grid.
//!
//! Each network lives in `networks/<index>-<task>-<condition>/`: the
//! checkpoint (`weights.safetensors`, `train_log.csv`), `run.toml` (its spec
//! and config) and, once finished, `result.toml`. Training resumes from the
//! checkpoint, so an interrupted run picks up where it stopped; test and
//! recording draws come from their own seeded streams and are repeated
//! identically.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use ndarray::{Array2, Array3};
use rand::SeedableRng;
use serde::Serialize;
use wm_analysis::weight_profile::WeightProfile;
use wm_rate_rnn::loss::Objective;
use wm_rate_rnn::optim::AdamConfig;
use wm_rate_rnn::record::{Activity, evaluate, record, write_activity};
use wm_rate_rnn::{DType, FastWeights, Nonlinearity, TrainConfig, Vanilla, VanillaConfig, train};
use wm_tasks::orhan_ma::TaskVariant;
use wm_tasks::{OrhanMaTaskOptions, Task, TaskRng, orhan_ma_task};

use crate::io::{read_toml, write_run_record, write_toml};
use crate::orhan_ma::aggregate::NetworkResult;
use crate::orhan_ma::config::{Activation, Condition, OrhanMaConfig, TaskCode};
use crate::orhan_ma::grid::NetworkSpec;
use crate::orhan_ma::network::{NetworkMeasures, measure};

/// Hebbian coefficient γ of the fast-weights condition (the original
/// `run_basic_expts.py`, github.com/eminorhan/recurrent-memory).
pub const HEBBIAN_GAMMA: f64 = 0.0007;
/// End-of-trial activity penalty: basic and the other conditions (the original
/// code's `utils.py`).
pub const ACTIVITY_PENALTY: f64 = 1e-4;
/// End-of-trial activity penalty of the tethered condition (the original
/// `run_tethered_expts.py`).
pub const TETHERED_PENALTY: f64 = 1e-1;

/// A trained network: its table row, its measures and its recurrent matrix.
pub struct TrainedNetwork {
    /// The row of `networks.csv`.
    pub result: NetworkResult,
    /// SI, weight profile, example trial.
    pub measures: NetworkMeasures,
    /// Trained `W_hh` `[pre, post]`.
    pub w_hh: Array2<f64>,
    /// The weight profile of the same network before training (its initial
    /// weights, ordered by the peak times of its own untrained responses to
    /// the same recorded trials): the random-network baseline of Fig. 6 and
    /// Supp. Fig. 12. `None` when fewer than two units respond.
    pub untrained_profile: Option<WeightProfile>,
}

/// The task a grid point trains on.
pub fn task_for(spec: &NetworkSpec, code: TaskCode) -> Result<Box<dyn Task>> {
    let mut opts = OrhanMaTaskOptions {
        gain: spec.input_gain,
        ..Default::default()
    };
    code.apply(&mut opts);
    match spec.condition {
        Condition::VariableDelay => opts.variant = TaskVariant::VariableDelay,
        Condition::DynamicInput => opts.variant = TaskVariant::DynamicInput,
        Condition::Tethered => opts.readout_step = 140,
        Condition::Basic | Condition::Hebbian | Condition::Sequential => {}
    }
    Ok(orhan_ma_task(&spec.task, &opts)?)
}

/// The network configuration of a grid point.
pub fn model_config(spec: &NetworkSpec, cfg: &OrhanMaConfig, task: &dyn Task) -> VanillaConfig {
    VanillaConfig {
        n_inputs: task.n_inputs(),
        n_units: cfg.n_units,
        n_outputs: task.n_outputs(),
        lambda0: spec.lambda0,
        sigma0: spec.sigma0,
        nonlinearity: match cfg.activation {
            Activation::Relu => Nonlinearity::Relu,
            Activation::ClippedRelu => Nonlinearity::ClippedRelu { r_max: 100.0 },
            Activation::Elu => Nonlinearity::Elu,
            Activation::Softplus => Nonlinearity::Softplus,
        },
        fast_weights: (spec.condition == Condition::Hebbian).then_some(FastWeights {
            gamma: HEBBIAN_GAMMA,
        }),
        ..Default::default()
    }
}

/// The training configuration of a grid point.
pub fn train_config(spec: &NetworkSpec, cfg: &OrhanMaConfig) -> TrainConfig {
    let penalty = if spec.condition == Condition::Tethered {
        TETHERED_PENALTY
    } else {
        ACTIVITY_PENALTY
    };
    TrainConfig {
        iterations: cfg.iterations,
        batch_size: cfg.batch_size,
        adam: AdamConfig {
            learning_rate: cfg.learning_rate,
            ..Default::default()
        },
        objective: Objective {
            activity_penalty: penalty,
            penalty_steps: 5,
            rho: spec.rho,
        },
        log_every: (cfg.iterations / 20).max(1),
        checkpoint_every: (cfg.iterations / 4).max(1),
    }
}

#[derive(Serialize)]
struct NetworkRun<'a> {
    spec: &'a NetworkSpec,
    #[serde(skip_serializing_if = "TaskCode::is_parity")]
    task_code: TaskCode,
    model: &'a VanillaConfig,
    train: &'a TrainConfig,
    wm_version: &'static str,
}

/// The independent random streams of one network's seed. Each use draws
/// from its own ChaCha8 stream, so a change in how much one use draws never
/// shifts another's draws; the numbers are part of every stored result.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
enum Stream {
    /// Initial weights (and their re-creation for the untrained baseline).
    Init = 0,
    /// Training batches of the network's task.
    Training = 1,
    /// Test batches.
    Test = 2,
    /// The recorded trials the measures are computed on.
    Record = 3,
    /// Training batches of the first task in the sequential condition.
    FirstTask = 4,
}

/// The RNG of `stream` of a network's seed.
fn stream(seed: u64, stream: Stream) -> TaskRng {
    let mut rng = TaskRng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// Train (or resume), test and measure the network `spec` in `dir`.
/// `progress` is told how many training iterations were done since its last call.
pub fn train_network(
    spec: &NetworkSpec,
    cfg: &OrhanMaConfig,
    dir: &Path,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<TrainedNetwork> {
    let clock = Instant::now();
    let task = task_for(spec, cfg.task_code)?;
    let model_cfg = model_config(spec, cfg, task.as_ref());
    let train_cfg = train_config(spec, cfg);
    write_network_run(spec, cfg, &model_cfg, &train_cfg, dir)?;
    let model = Vanilla::new(
        model_cfg.clone(),
        DType::F32,
        &mut stream(spec.seed, Stream::Init),
    )?;
    let name = spec.dir_name();
    let result_path = dir.join("result.toml");
    let trained = fit(spec, cfg, &model, task.as_ref(), &train_cfg, dir, progress)?;
    let train_seconds = match trained {
        // No training in this call (a finished network evaluated or
        // recorded again): the earlier record of its training time stands.
        Ok((seconds, 0)) => {
            read_toml::<NetworkResult>(&result_path).map_or(seconds, |r| r.train_seconds)
        }
        Ok((seconds, _)) => seconds,
        // A grid point whose dynamics explode (large λ0 + σ0) is a failed
        // network of the study, not a failed run: record it and go on.
        Err(e @ wm_rate_rnn::RateRnnError::Diverged { .. }) => {
            tracing::warn!(network = %name, "{e}; recorded as a failed (diverged) network");
            return diverged_network(spec, model.w_hh()?, dir, clock.elapsed().as_secs_f64());
        }
        Err(e) => return Err(e).with_context(|| format!("training network {name}")),
    };
    let net = test_and_measure(
        spec,
        cfg,
        &model,
        model_cfg,
        task.as_ref(),
        train_seconds,
        dir,
    )?;
    write_toml(&result_path, &net.result)?;
    Ok(net)
}

/// Write the network's `run.toml`, refusing a folder that holds another
/// network (resuming is only safe with the same config).
fn write_network_run(
    spec: &NetworkSpec,
    cfg: &OrhanMaConfig,
    model_cfg: &VanillaConfig,
    train_cfg: &TrainConfig,
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let run = toml::to_string_pretty(&NetworkRun {
        spec,
        task_code: cfg.task_code,
        model: model_cfg,
        train: train_cfg,
        wm_version: env!("CARGO_PKG_VERSION"),
    })?;
    write_run_record(dir, &run)
}

/// Train (or resume) `model` on the spec's task (after the first task, in
/// the sequential condition): the training seconds and iterations run in
/// this call, or the trainer's error (divergence is a result, not a fault).
fn fit(
    spec: &NetworkSpec,
    cfg: &OrhanMaConfig,
    model: &Vanilla,
    task: &dyn Task,
    train_cfg: &TrainConfig,
    dir: &Path,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<std::result::Result<(f64, usize), wm_rate_rnn::RateRnnError>> {
    let name = spec.dir_name();
    let last = std::cell::Cell::new(0usize);
    let mut on_log = |row: &wm_rate_rnn::train::LogRow| {
        if row.iteration < last.get() {
            last.set(0);
        }
        tracing::info!(
            network = %name,
            iteration = row.iteration,
            loss = format!("{:.4}", row.loss),
            fractional_loss = format!("{:.3}", row.fractional_loss),
            "training"
        );
        progress(row.iteration.saturating_sub(last.replace(row.iteration)));
    };
    if spec.condition != Condition::Sequential {
        return Ok(train(
            model,
            task,
            train_cfg,
            &mut stream(spec.seed, Stream::Training),
            Some(dir),
            &mut on_log,
        )
        .map(|a| (a.train_seconds, ran(&a))));
    }
    let first = NetworkSpec {
        task: cfg.sequential_first.clone(),
        ..spec.clone()
    };
    let first_task = task_for(&first, cfg.task_code)?;
    let first_dir = dir.join(format!("first-{}", cfg.sequential_first));
    Ok(train(
        model,
        first_task.as_ref(),
        train_cfg,
        &mut stream(spec.seed, Stream::FirstTask),
        Some(&first_dir),
        &mut on_log,
    )
    .and_then(|a| {
        wm_rate_rnn::train_after(
            model,
            task,
            train_cfg,
            &mut stream(spec.seed, Stream::Training),
            dir,
            &first_dir,
            &mut on_log,
        )
        .map(|b| (a.train_seconds + b.train_seconds, ran(&a) + ran(&b)))
    }))
}

/// Test the trained `model`, record its activity and measure it, and
/// measure the same network re-created from its seed before training (the
/// untrained baseline of the weight profiles).
fn test_and_measure(
    spec: &NetworkSpec,
    cfg: &OrhanMaConfig,
    model: &Vanilla,
    model_cfg: VanillaConfig,
    task: &dyn Task,
    train_seconds: f64,
    dir: &Path,
) -> Result<TrainedNetwork> {
    let test = evaluate(
        model,
        task,
        &mut stream(spec.seed, Stream::Test),
        cfg.test_batches,
        cfg.batch_size,
    )?;
    let batch = task.batch(&mut stream(spec.seed, Stream::Record), cfg.record_trials);
    let act = record(model, task, &batch)?;
    if cfg.save_activity {
        write_activity(&dir.join("activity.safetensors"), &act, &batch)?;
    }
    let (w_hh, activity) = weights_and_activity(model, &act)?;
    let measures = measure(
        w_hh.view(),
        activity.view(),
        batch.update.as_deref(),
        cfg.profile_max_offset,
    )?;
    let initial = Vanilla::new(model_cfg, DType::F32, &mut stream(spec.seed, Stream::Init))?;
    let (w0, activity0) = weights_and_activity(&initial, &record(&initial, task, &batch)?)?;
    let untrained_profile = measure(
        w0.view(),
        activity0.view(),
        batch.update.as_deref(),
        cfg.profile_max_offset,
    )?
    .profile;
    let success = test.fractional_loss.is_finite() && test.fractional_loss < cfg.success_threshold;
    let result = NetworkResult {
        fractional_loss: test.fractional_loss,
        accuracy: test.accuracy,
        success,
        si: measures.si,
        si_nan_trials: measures.si_nan_trials,
        si_inf_trials: measures.si_inf_trials,
        n_active: measures.n_active,
        diverged: false,
        train_seconds,
        ..unmeasured(spec)
    };
    Ok(TrainedNetwork {
        result,
        measures,
        w_hh,
        untrained_profile,
    })
}

/// A network's `W_hh` `[pre, post]` and its recorded rates as
/// `[trial, time, unit]`, in f64.
fn weights_and_activity(model: &Vanilla, act: &Activity) -> Result<(Array2<f64>, Array3<f64>)> {
    let (t, b, n) = (act.n_steps, act.batch_size, act.n_units);
    let activity = Array3::from_shape_fn((b, t, n), |(k, s, i)| {
        f64::from(act.rates[(s * b + k) * n + i])
    });
    let w_hh = Array2::from_shape_vec((n, n), model.w_hh()?)?;
    Ok((w_hh, activity))
}

/// Iterations a call to `train` ran (not resumed).
fn ran(o: &wm_rate_rnn::train::TrainOutcome) -> usize {
    o.iterations - o.resumed_from.unwrap_or(0)
}

/// The result record of grid point `spec` before any measurement: the
/// grid point's fields, NaN loss, accuracy and SI, no success.
fn unmeasured(spec: &NetworkSpec) -> NetworkResult {
    NetworkResult {
        index: spec.index,
        task: spec.task.clone(),
        condition: spec.condition,
        lambda0: spec.lambda0,
        sigma0: spec.sigma0,
        rho: spec.rho,
        input_gain: spec.input_gain,
        replicate: spec.replicate,
        seed: spec.seed,
        fractional_loss: f64::NAN,
        accuracy: f64::NAN,
        success: false,
        si: f64::NAN,
        si_nan_trials: 0,
        si_inf_trials: 0,
        n_active: 0.0,
        diverged: false,
        train_seconds: 0.0,
    }
}

/// The record of a network whose training diverged: no test, no SI, not a
/// success; its recurrent matrix is the last good one.
fn diverged_network(
    spec: &NetworkSpec,
    w: Vec<f64>,
    dir: &Path,
    seconds: f64,
) -> Result<TrainedNetwork> {
    let n = (w.len() as f64).sqrt().round() as usize;
    let result = NetworkResult {
        diverged: true,
        train_seconds: seconds,
        ..unmeasured(spec)
    };
    write_toml(&dir.join("result.toml"), &result)?;
    Ok(TrainedNetwork {
        result,
        measures: NetworkMeasures {
            si: f64::NAN,
            si_nan_trials: 0,
            si_inf_trials: 0,
            n_active: 0.0,
            profile: None,
            example_trial: Array2::zeros((0, 0)),
        },
        w_hh: Array2::from_shape_vec((n, n), w)?,
        untrained_profile: None,
    })
}
