//! Backpropagation-through-time training with checkpoints, exact resume,
//! divergence detection and periodic logging.
//!
//! Every iteration draws a fresh batch from the task with the caller's
//! seeded RNG, so a run is fully determined by the model's initialisation,
//! the data seed and the config. A checkpoint stores the parameters, Adam's
//! moments and the data RNG's position: training resumed from it continues
//! bit-identically to an uninterrupted run. The checkpoint before the newest
//! is kept ([`WEIGHTS_PREVIOUS`]); a newest checkpoint that is truncated or
//! fails its checksum is set aside with a warning and training resumes from
//! the previous one, or, if that is unusable too, restarts the network from
//! its initial state (with a warning naming the files).

pub mod kim;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use wm_tasks::{Task, TaskRng, TrialBatch};

use crate::checkpoint::{
    TRAIN_LOG, TensorFile, WEIGHTS, WEIGHTS_PREVIOUS, load_tensors, save_tensors_keep_previous,
};
use crate::error::{RateRnnError, Result};
use crate::loss::{self, LossParts, Objective};
use crate::model::RateModel;
use crate::optim::{Adam, AdamConfig};

/// How to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Updates, each on a fresh batch (Orhan & Ma: 25,001).
    pub iterations: usize,
    /// Trials per batch (Orhan & Ma: 50).
    pub batch_size: usize,
    /// Optimiser.
    pub adam: AdamConfig,
    /// Objective besides the task loss.
    pub objective: Objective,
    /// Iterations between log rows (Orhan & Ma: 500).
    pub log_every: usize,
    /// Iterations between checkpoints (0: only at the end). Needs a folder.
    pub checkpoint_every: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            iterations: 25_001,
            batch_size: 50,
            adam: AdamConfig::default(),
            objective: Objective::default(),
            log_every: 500,
            checkpoint_every: 1000,
        }
    }
}

impl TrainConfig {
    /// Check ranges; errors name the field and the allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(RateRnnError::invalid("batch_size", 0, "≥ 1"));
        }
        if self.log_every == 0 {
            return Err(RateRnnError::invalid("log_every", 0, "≥ 1"));
        }
        let lr = self.adam.learning_rate;
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(RateRnnError::invalid(
                "adam.learning_rate",
                lr,
                "finite, > 0",
            ));
        }
        for (f, v) in [
            ("adam.beta1", self.adam.beta1),
            ("adam.beta2", self.adam.beta2),
        ] {
            if !(0.0..1.0).contains(&v) {
                return Err(RateRnnError::invalid(f, v, "[0, 1)"));
            }
        }
        let o = &self.objective;
        for (f, v) in [
            ("objective.rho", o.rho),
            ("objective.activity_penalty", o.activity_penalty),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(RateRnnError::invalid(f, v, "finite, ≥ 0"));
            }
        }
        Ok(())
    }
}

/// One row of `train_log.csv`: means over the iterations since the last row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// Iterations completed.
    pub iteration: usize,
    /// Total objective.
    pub loss: f64,
    /// Task loss.
    pub task_loss: f64,
    /// Fractional loss relative to the ideal observer (NaN where undefined).
    pub fractional_loss: f64,
    /// Accuracy on binary tasks (NaN otherwise).
    pub accuracy: f64,
    /// Wall-clock seconds since the start of this process's training.
    pub seconds: f64,
}

/// What a call to [`train`] did.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Iterations completed in total (including resumed ones).
    pub iterations: usize,
    /// The iteration a checkpoint was resumed from, if any.
    pub resumed_from: Option<usize>,
    /// The log, from iteration 0.
    pub log: Vec<LogRow>,
    /// Wall-clock seconds spent training this network: the seconds recorded
    /// in the checkpoint resumed from (0 for checkpoints written before this
    /// was recorded) plus this call's training loop.
    pub train_seconds: f64,
}

/// The batch's input, target and mask as tensors of `dtype`.
pub fn batch_tensors(batch: &TrialBatch, dtype: DType) -> Result<(Tensor, Tensor, Tensor)> {
    let (t, b) = (batch.n_steps, batch.batch_size);
    let mk = |v: &[f32], width: usize, what: &str| -> Result<Tensor> {
        if v.len() != t * b * width {
            return Err(RateRnnError::Shape(format!(
                "batch {what} has {} values, expected T·B·{width} = {}",
                v.len(),
                t * b * width
            )));
        }
        Ok(Tensor::from_slice(v, (t, b, width), &Device::Cpu)?.to_dtype(dtype)?)
    };
    Ok((
        mk(&batch.input, batch.n_inputs, "input")?,
        mk(&batch.target, batch.n_outputs, "target")?,
        mk(&batch.mask, batch.n_outputs, "mask")?,
    ))
}

fn model_dtype(model: &dyn RateModel) -> DType {
    model
        .named_vars()
        .first()
        .map_or(DType::F32, |(_, v)| v.dtype())
}

/// The objective on one batch, as a differentiable scalar plus its parts, and
/// the task output `[T, B, O]` after the output nonlinearity. With `noise`,
/// the model runs [`RateModel::forward_noisy`] drawing from it.
pub fn objective(
    model: &dyn RateModel,
    task: &dyn Task,
    batch: &TrialBatch,
    objective: &Objective,
    noise: Option<&mut TaskRng>,
) -> Result<(Tensor, LossParts, Tensor)> {
    let (input, target, mask) = batch_tensors(batch, model_dtype(model))?;
    let update = batch.update.clone().map(Arc::new);
    let fwd = match noise {
        Some(rng) => model.forward_noisy(&input, update, rng)?,
        None => model.forward(&input, update)?,
    };
    let out = loss::output(&fwd.readout, task.output_kind())?;
    let task_loss = loss::task_loss(&out, &target, &mask, task.loss_kind())?;
    let activity =
        loss::activity_penalty(&fwd, objective.penalty_steps, objective.activity_penalty)?;
    let weight = loss::weight_decay(&model.named_vars(), objective.rho)?;
    let total = ((&task_loss + &activity)? + &weight)?;
    let scalar = |t: &Tensor| -> Result<f64> { Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?) };
    let parts = LossParts {
        total: scalar(&total)?,
        task: scalar(&task_loss)?,
        activity: scalar(&activity)?,
        weight: scalar(&weight)?,
    };
    Ok((total, parts, out))
}

fn flat_f32(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?)
}

/// Train `model` on `task`, drawing batches from `rng`.
///
/// With `dir`, checkpoints go to `dir/weights.safetensors` and the log to
/// `dir/train_log.csv`; if a checkpoint is already there, training resumes
/// from it (parameters, Adam state and the data RNG's position are restored,
/// replacing the model's initial values and `rng`'s state). `on_log` is
/// called with every log row (for progress bars).
pub fn train(
    model: &dyn RateModel,
    task: &dyn Task,
    cfg: &TrainConfig,
    rng: &mut TaskRng,
    dir: Option<&Path>,
    on_log: &mut dyn FnMut(&LogRow),
) -> Result<TrainOutcome> {
    train_impl(model, task, cfg, rng, dir, None, on_log)
}

/// Continue training a network on a new task (sequential training, Orhan &
/// Ma's multitask condition): unless `dir` already holds a checkpoint of this
/// phase (then it resumes), the parameters **and Adam's state** are taken from
/// the finished checkpoint in `previous`, and training starts at iteration 0
/// of this phase with `rng`'s batches.
pub fn train_after(
    model: &dyn RateModel,
    task: &dyn Task,
    cfg: &TrainConfig,
    rng: &mut TaskRng,
    dir: &Path,
    previous: &Path,
    on_log: &mut dyn FnMut(&LogRow),
) -> Result<TrainOutcome> {
    train_impl(model, task, cfg, rng, Some(dir), Some(previous), on_log)
}

fn train_impl(
    model: &dyn RateModel,
    task: &dyn Task,
    cfg: &TrainConfig,
    rng: &mut TaskRng,
    dir: Option<&Path>,
    previous: Option<&Path>,
    on_log: &mut dyn FnMut(&LogRow),
) -> Result<TrainOutcome> {
    cfg.validate()?;
    let mut adam = Adam::new(model.named_vars(), cfg.adam)?;
    let mut log: Vec<LogRow> = Vec::new();
    let mut start = 0;
    let mut resumed_from = None;
    let mut seconds_before = 0.0;
    let latest = match dir {
        Some(d) => latest_checkpoint(d)?,
        None => None,
    };
    if let (Some(d), Some((path, file))) = (dir, latest) {
        start = apply_checkpoint(model, &mut adam, rng, &path, &file)?;
        seconds_before = file.meta(&path, "train_seconds").unwrap_or(0.0);
        log = read_log(&d.join(TRAIN_LOG))?
            .into_iter()
            .filter(|r| r.iteration <= start)
            .collect();
        resumed_from = Some(start);
        tracing::info!(file = %path.display(), iteration = start, "resuming from checkpoint");
    } else if let Some(p) = previous {
        // Parameters and optimiser state from the previous phase; this phase's own batches.
        let mut scratch = rng.clone();
        resume(model, &mut adam, &mut scratch, p)?;
    }
    let clock = Instant::now();
    let mut acc = Accumulator::default();
    let mut last_good = start;
    for it in start..cfg.iterations {
        let batch = task.batch(rng, cfg.batch_size);
        let (total, parts, out) = objective(model, task, &batch, &cfg.objective, Some(rng))?;
        if !parts.total.is_finite() {
            return Err(RateRnnError::Diverged {
                iteration: it,
                what: "the loss".into(),
                last_good,
            });
        }
        let grads = total.backward()?;
        let norm = adam.grad_norm(&grads)?;
        if !norm.is_finite() {
            return Err(RateRnnError::Diverged {
                iteration: it,
                what: "the gradient".into(),
                last_good,
            });
        }
        adam.step(&grads)?;
        let score = task.score(&batch, &flat_f32(&out)?);
        acc.add(&parts, score.fractional_loss, score.accuracy);
        let done = it + 1;
        if done % cfg.log_every == 0 || done == cfg.iterations {
            let row = acc.row(done, clock.elapsed().as_secs_f64());
            tracing::debug!(
                iteration = row.iteration,
                loss = row.loss,
                fractional_loss = row.fractional_loss,
                "training"
            );
            on_log(&row);
            log.push(row);
            acc = Accumulator::default();
        }
        let at_checkpoint = cfg.checkpoint_every > 0 && done % cfg.checkpoint_every == 0;
        if let Some(d) = dir
            && (at_checkpoint || done == cfg.iterations)
        {
            let seconds = seconds_before + clock.elapsed().as_secs_f64();
            save(model, &adam, rng, d, done, seconds, &log)?;
            last_good = done;
        }
    }
    Ok(TrainOutcome {
        iterations: cfg.iterations.max(start),
        resumed_from,
        log,
        train_seconds: seconds_before + clock.elapsed().as_secs_f64(),
    })
}

#[derive(Default)]
struct Accumulator {
    n: usize,
    loss: f64,
    task: f64,
    frac: (f64, usize),
    acc: (f64, usize),
}

impl Accumulator {
    fn add(&mut self, p: &LossParts, frac: Option<f64>, acc: Option<f64>) {
        self.n += 1;
        self.loss += p.total;
        self.task += p.task;
        if let Some(f) = frac.filter(|f| f.is_finite()) {
            self.frac.0 += f;
            self.frac.1 += 1;
        }
        if let Some(a) = acc.filter(|a| a.is_finite()) {
            self.acc.0 += a;
            self.acc.1 += 1;
        }
    }

    fn row(&self, iteration: usize, seconds: f64) -> LogRow {
        let mean = |(s, n): (f64, usize)| if n > 0 { s / n as f64 } else { f64::NAN };
        LogRow {
            iteration,
            loss: self.loss / self.n.max(1) as f64,
            task_loss: self.task / self.n.max(1) as f64,
            fractional_loss: mean(self.frac),
            accuracy: mean(self.acc),
            seconds,
        }
    }
}

fn save(
    model: &dyn RateModel,
    adam: &Adam,
    rng: &TaskRng,
    dir: &Path,
    iteration: usize,
    train_seconds: f64,
    log: &[LogRow],
) -> Result<()> {
    let tensors = parameters_and_moments(model, adam)?;
    let seed = seed_hex(rng);
    let metadata = HashMap::from([
        ("family".to_string(), model.family().to_string()),
        ("iteration".to_string(), iteration.to_string()),
        ("train_seconds".to_string(), train_seconds.to_string()),
        ("adam_step".to_string(), adam.step_count().to_string()),
        ("data_rng_seed".to_string(), seed),
        ("data_rng_stream".to_string(), rng.get_stream().to_string()),
        (
            "data_rng_word_pos".to_string(),
            rng.get_word_pos().to_string(),
        ),
        (
            "wm_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    // The log first: a crash between the two writes leaves a log that is at
    // most one interval ahead, which resume trims to the checkpoint.
    write_log(&dir.join(TRAIN_LOG), log)?;
    save_tensors_keep_previous(
        &dir.join(WEIGHTS),
        &dir.join(WEIGHTS_PREVIOUS),
        &tensors,
        metadata,
    )
}

/// The newest readable checkpoint in `dir`: `weights.safetensors`, or
/// `weights.prev.safetensors` when the newest is truncated or corrupt. An
/// unreadable file is removed (so the next save cannot make it the previous
/// checkpoint) with a warning naming it; `None` when no usable checkpoint is
/// left, with a warning if there was one that could not be used.
fn latest_checkpoint(dir: &Path) -> Result<Option<(std::path::PathBuf, TensorFile)>> {
    let mut discarded = Vec::new();
    for name in [WEIGHTS, WEIGHTS_PREVIOUS] {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        match load_tensors(&path) {
            Ok(f) => {
                if !discarded.is_empty() {
                    tracing::warn!(
                        file = %path.display(),
                        "resuming from the previous checkpoint"
                    );
                }
                return Ok(Some((path, f)));
            }
            Err(e @ (RateRnnError::Corrupt { .. } | RateRnnError::Io { .. })) => {
                tracing::warn!(file = %path.display(), "unusable checkpoint set aside: {e}");
                std::fs::remove_file(&path).map_err(|source| RateRnnError::Io {
                    path: path.clone(),
                    source,
                })?;
                discarded.push(path);
            }
            Err(e) => return Err(e),
        }
    }
    if !discarded.is_empty() {
        tracing::warn!(
            dir = %dir.display(),
            "no usable checkpoint left; training this network again from its initial state"
        );
    }
    Ok(None)
}

fn resume(model: &dyn RateModel, adam: &mut Adam, rng: &mut TaskRng, dir: &Path) -> Result<usize> {
    let path = dir.join(WEIGHTS);
    let f = load_tensors(&path)?;
    apply_checkpoint(model, adam, rng, &path, &f)
}

/// Set the model's parameters, Adam's state and the data RNG from a loaded
/// checkpoint; returns its iteration.
fn apply_checkpoint(
    model: &dyn RateModel,
    adam: &mut Adam,
    rng: &mut TaskRng,
    path: &Path,
    f: &TensorFile,
) -> Result<usize> {
    let path = path.to_path_buf();
    let family: String = f.meta(&path, "family")?;
    if family != model.family() {
        return Err(RateRnnError::Checkpoint {
            path,
            reason: format!("holds a `{family}` model, not `{}`", model.family()),
        });
    }
    for (name, var) in model.named_vars() {
        let t = f.tensor(&path, name)?;
        if t.dims() != var.dims() {
            return Err(RateRnnError::Checkpoint {
                path,
                reason: format!(
                    "`{name}` has shape {:?}, the model's is {:?}",
                    t.dims(),
                    var.dims()
                ),
            });
        }
        var.set(&t.to_dtype(var.dtype())?)?;
    }
    adam.restore(f.meta(&path, "adam_step")?, |k| f.tensors.get(k).cloned())?;
    let seed_hex: String = f.meta(&path, "data_rng_seed")?;
    let mut seed = [0u8; 32];
    let bad_seed = || RateRnnError::Checkpoint {
        path: path.clone(),
        reason: "metadata `data_rng_seed` is not 64 hex digits".into(),
    };
    if seed_hex.len() != 64 || !seed_hex.is_ascii() {
        return Err(bad_seed());
    }
    for (k, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&seed_hex[2 * k..2 * k + 2], 16).map_err(|_| bad_seed())?;
    }
    let mut restored = TaskRng::from_seed(seed);
    restored.set_stream(f.meta(&path, "data_rng_stream")?);
    restored.set_word_pos(f.meta(&path, "data_rng_word_pos")?);
    *rng = restored;
    f.meta(&path, "iteration")
}

fn write_log(path: &Path, rows: &[LogRow]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| RateRnnError::Checkpoint {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    let bytes = w.into_inner().map_err(|e| RateRnnError::Checkpoint {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(wm_io::write_atomic(path, &bytes)?)
}

/// The tensors a checkpoint holds: the model's parameters under their own
/// names, then Adam's moments (`m.<name>`, `v.<name>`).
pub(crate) fn parameters_and_moments(
    model: &dyn RateModel,
    adam: &Adam,
) -> Result<Vec<(String, Tensor)>> {
    let mut tensors: Vec<(String, Tensor)> = model
        .named_vars()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.as_tensor().clone()))
        .collect();
    tensors.extend(adam.moments()?);
    Ok(tensors)
}

/// The data RNG's 32-byte ChaCha seed as 64 hex digits (metadata
/// `data_rng_seed`); a resumed run restores its stream from it.
pub(crate) fn seed_hex(rng: &TaskRng) -> String {
    rng.get_seed().iter().map(|b| format!("{b:02x}")).collect()
}

/// Read a `train_log.csv`.
pub fn read_log(path: &Path) -> Result<Vec<LogRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut r = csv::Reader::from_path(path).map_err(|e| RateRnnError::Checkpoint {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    r.deserialize()
        .collect::<std::result::Result<Vec<LogRow>, _>>()
        .map_err(|e| RateRnnError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("bad log row: {e}"),
        })
}

/// Load a checkpoint's parameters into `model` (for analysis after training).
pub fn load_weights(model: &dyn RateModel, dir: &Path) -> Result<usize> {
    let mut adam = Adam::new(model.named_vars(), AdamConfig::default())?;
    let mut rng = TaskRng::seed_from_u64(0);
    resume(model, &mut adam, &mut rng, dir)
}
