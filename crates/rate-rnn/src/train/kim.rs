//! The training loop of Kim, Li & Sejnowski 2019's Dale's-law network:
//! single-trial root-sum-square loss and the evaluate-every-100-trials
//! stopping rule of the original `rate/main.py` (github.com/rkim35/spikeRNN),
//! with checkpoints that a killed run resumes from bit-for-bit
//! ([`train_kim`]).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};
use wm_tasks::{Task, TaskRng, TrialBatch};

use crate::checkpoint::{load_tensors, save_tensors};
use crate::dale::DaleLeaky;
use crate::error::{RateRnnError, Result};
use crate::model::{RateModel, to_f64};
use crate::optim::{Adam, AdamConfig};
use crate::train::batch_tensors;

/// Training settings of Kim, Li & Sejnowski 2019 (PNAS, Methods; the original
/// `rate/main.py` of github.com/rkim35/spikeRNN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KimTrainConfig {
    /// Trials per update (the code: 1).
    pub batch_size: usize,
    /// Adam learning rate (0.01); β and ε are TF's defaults.
    pub learning_rate: f64,
    /// Update cap (6000).
    pub max_iterations: usize,
    /// No stopping before this many updates (Go-NoGo in the code: 1500).
    pub min_iterations: usize,
    /// Updates between evaluations (100).
    pub eval_every: usize,
    /// Fresh noisy trials per evaluation (100).
    pub eval_trials: usize,
    /// Stop when the mean per-trial loss is below this (7) …
    pub loss_threshold: f64,
    /// … and the accuracy above this (0.95).
    pub accuracy_threshold: f64,
    /// Updates between training checkpoints (500; 0: only at the end). A
    /// checkpoint is also written when training stops (rule met or cap
    /// reached). It needs a checkpoint path ([`train_kim`]) and does not
    /// change the trained network: a resumed run is bit-for-bit the
    /// uninterrupted one, whatever this interval.
    pub checkpoint_every: usize,
}

impl Default for KimTrainConfig {
    fn default() -> Self {
        Self {
            batch_size: 1,
            learning_rate: 0.01,
            max_iterations: 6000,
            min_iterations: 0,
            eval_every: 100,
            eval_trials: 100,
            loss_threshold: 7.0,
            accuracy_threshold: 0.95,
            checkpoint_every: 500,
        }
    }
}

/// One evaluation during [`train_kim`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KimEval {
    /// Updates done.
    pub iteration: usize,
    /// Mean per-trial loss √Σ(o − z)² on the evaluation trials.
    pub loss: f64,
    /// Accuracy on the evaluation trials.
    pub accuracy: f64,
    /// Mean synaptic decay τ^s over units at this evaluation, ms: how the
    /// trained τ^s move during training (Kim, Li & Sejnowski 2019, Fig. 1
    /// compares their distribution before and after). Absent in records
    /// written before it was logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_tau_syn_ms: Option<f64>,
}

/// What [`train_kim`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KimTrainOutcome {
    /// Updates done.
    pub iterations: usize,
    /// Whether the stopping criterion was met (else the cap was reached).
    pub converged: bool,
    /// Every evaluation.
    pub evals: Vec<KimEval>,
}

/// Kim's loss: per trial √(Σ_t mask·(o − z)²), averaged over the batch.
/// `out`, `target`, `mask`: `[T, B, O]`.
pub fn root_sum_square_loss(
    out: &Tensor,
    target: &Tensor,
    mask: &Tensor,
) -> candle_core::Result<Tensor> {
    let sq = ((out - target)?.sqr()? * mask)?;
    sq.sum(2)?.sum(0)?.sqrt()?.mean_all()
}

/// Loss (differentiable), its value and the model output on `batch`, with noise from `rng`.
pub fn kim_objective(
    model: &DaleLeaky,
    batch: &TrialBatch,
    rng: &mut TaskRng,
) -> Result<(Tensor, f64, Vec<f32>)> {
    let (input, target, mask) = batch_tensors(batch, model.dtype())?;
    let fwd = model.forward_noisy(&input, None, rng)?;
    let loss = root_sum_square_loss(&fwd.readout, &target, &mask)?;
    let value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    let out: Vec<f32> = fwd.readout.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
    Ok((loss, value, out))
}

/// Mean loss and accuracy of `model` on `n` fresh noisy trials of `task`.
pub fn evaluate_kim(
    model: &DaleLeaky,
    task: &dyn Task,
    n: usize,
    rng: &mut TaskRng,
) -> Result<(f64, f64)> {
    let batch = task.batch(rng, n);
    let (_, loss, out) = kim_objective(model, &batch, rng)?;
    let acc = task.score(&batch, &out).accuracy.unwrap_or(f64::NAN);
    Ok((loss, acc))
}

/// Train with Adam on fresh trials until the stopping rule is met: every
/// `eval_every` updates, `eval_trials` fresh noisy trials are run; stop once
/// their mean loss < `loss_threshold`, accuracy > `accuracy_threshold` and at
/// least `min_iterations` updates are done, or after `max_iterations`.
///
/// With `checkpoint`, the training state is saved to that safetensors file
/// (atomically) every `checkpoint_every` updates and when training stops:
/// the trained parameters (`w`, `w_out`, `b_out`, and θ when τ^s is
/// trained), Adam's moments `m.<name>`/`v.<name>` and step count, the update
/// counter, the evaluations so far (the stopping rule's whole state) and the
/// word position of `rng`. If the file already exists, training resumes from
/// it: parameters, Adam and `rng` are restored and training continues from
/// its update, giving bit-for-bit the parameters and evaluations of an
/// uninterrupted run (a checkpoint written when the rule was met returns at
/// once). `on_eval` is called only for the evaluations done in this call.
///
/// A checkpoint records the network it belongs to: the model's config, the
/// training config (all of it but `checkpoint_every`), the task's name and
/// shape, a hash of `model`'s values as passed in (its initialisation, hence
/// its seed) and `rng`'s seed, stream and starting position. Resuming with
/// any of them different is refused with a one-line
/// [`RateRnnError::Checkpoint`] naming what differs. Writing checkpoints
/// draws nothing from `rng` and changes no arithmetic: a run with
/// checkpoints trains the same network as one without.
pub fn train_kim(
    model: &DaleLeaky,
    task: &dyn Task,
    cfg: &KimTrainConfig,
    rng: &mut TaskRng,
    checkpoint: Option<&Path>,
    on_eval: &mut dyn FnMut(&KimEval),
) -> Result<KimTrainOutcome> {
    for (name, v) in [
        ("batch_size", cfg.batch_size),
        ("eval_every", cfg.eval_every),
        ("eval_trials", cfg.eval_trials),
    ] {
        if v == 0 {
            return Err(RateRnnError::invalid(name, v, "≥ 1"));
        }
    }
    let mut adam = Adam::new(
        model.named_vars(),
        AdamConfig {
            learning_rate: cfg.learning_rate,
            ..AdamConfig::default()
        },
    )?;
    let mut evals = Vec::new();
    let mut start = 0;
    let identity = match checkpoint {
        Some(_) => Some(KimIdentity::of(model, task, cfg, rng)?),
        None => None,
    };
    if let (Some(path), Some(id)) = (checkpoint, &identity)
        && path.exists()
    {
        let state = resume_kim(model, &mut adam, rng, path, id)?;
        tracing::info!(
            path = %path.display(),
            iteration = state.iteration,
            "resuming Kim training from its checkpoint"
        );
        if state.converged {
            return Ok(KimTrainOutcome {
                iterations: state.iteration,
                converged: true,
                evals: state.evals,
            });
        }
        start = state.iteration;
        evals = state.evals;
    }
    // Saves the state after `done` updates; returns `done`, or 0 without a
    // checkpoint file (the `last_good` of a divergence).
    let save = |adam: &Adam, rng: &TaskRng, done: usize, evals: &[KimEval], converged: bool| {
        let (Some(path), Some(id)) = (checkpoint, &identity) else {
            return Ok(0);
        };
        save_kim(model, adam, rng, path, id, done, evals, converged).map(|()| done)
    };
    let mut last_good = start;
    for it in start..cfg.max_iterations {
        let batch = task.batch(rng, cfg.batch_size);
        let (loss, value, _) = kim_objective(model, &batch, rng)?;
        if !value.is_finite() {
            return Err(RateRnnError::Diverged {
                iteration: it,
                what: "the loss".into(),
                last_good,
            });
        }
        let grads = loss.backward()?;
        adam.step(&grads)?;
        let done = it + 1;
        if done % cfg.eval_every == 0 {
            let (l, a) = evaluate_kim(model, task, cfg.eval_trials, rng)?;
            let tau_ms = model.tau_ms()?;
            let e = KimEval {
                iteration: done,
                loss: l,
                accuracy: a,
                mean_tau_syn_ms: Some(tau_ms.iter().sum::<f64>() / tau_ms.len() as f64),
            };
            on_eval(&e);
            evals.push(e);
            if l < cfg.loss_threshold && a > cfg.accuracy_threshold && done >= cfg.min_iterations {
                save(&adam, rng, done, &evals, true)?;
                return Ok(KimTrainOutcome {
                    iterations: done,
                    converged: true,
                    evals,
                });
            }
        }
        let at_checkpoint = cfg.checkpoint_every > 0 && done % cfg.checkpoint_every == 0;
        if at_checkpoint || done == cfg.max_iterations {
            last_good = save(&adam, rng, done, &evals, false)?;
        }
    }
    Ok(KimTrainOutcome {
        iterations: cfg.max_iterations,
        converged: false,
        evals,
    })
}

/// Version of the Kim training checkpoint layout (metadata `format`).
const KIM_CHECKPOINT_FORMAT: &str = "wm-kim-train/1";

/// What a Kim training checkpoint must match to be resumed: metadata key and
/// value, in the order they are checked.
struct KimIdentity {
    fields: Vec<(&'static str, String)>,
}

/// The 64-bit FNV-1a offset basis (Fowler, Noll & Vo).
const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// The 64-bit FNV prime, 2⁴⁰ + 2⁸ + 0xb3.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A fixed 64-bit FNV-1a hash (Fowler, Noll & Vo) of a list of f64 values'
/// bit patterns, as 16 hex digits.
fn fnv1a(values: impl IntoIterator<Item = f64>) -> String {
    let mut h = FNV_OFFSET_BASIS;
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    format!("{h:016x}")
}

impl KimIdentity {
    fn of(model: &DaleLeaky, task: &dyn Task, cfg: &KimTrainConfig, rng: &TaskRng) -> Result<Self> {
        // The checkpoint interval does not change the trained network.
        let train = KimTrainConfig {
            checkpoint_every: 0,
            ..cfg.clone()
        };
        let mut values = Vec::new();
        for t in [
            model.w.as_tensor(),
            model.theta.as_tensor(),
            model.w_out.as_tensor(),
            model.b_out.as_tensor(),
            &model.w_in,
        ] {
            values.extend(to_f64(t)?);
        }
        values.extend(&model.sign);
        let toml_of = |what: &str, r: std::result::Result<String, toml::ser::Error>| {
            r.map_err(|e| RateRnnError::Shape(format!("cannot describe the {what}: {e}")))
        };
        Ok(Self {
            fields: vec![
                ("family", model.family().to_string()),
                (
                    "dale_config",
                    toml_of("model", toml::to_string(&model.cfg))?,
                ),
                (
                    "kim_train_config",
                    toml_of("training", toml::to_string(&train))?,
                ),
                (
                    "task",
                    format!(
                        "{} ({} inputs, {} outputs, {} steps)",
                        task.name(),
                        task.n_inputs(),
                        task.n_outputs(),
                        task.n_steps()
                    ),
                ),
                ("dtype", format!("{:?}", model.dtype())),
                ("init_fingerprint", fnv1a(values)),
                ("data_rng_seed", crate::train::seed_hex(rng)),
                ("data_rng_stream", rng.get_stream().to_string()),
                ("data_rng_start", rng.get_word_pos().to_string()),
            ],
        })
    }
}

/// The evaluations as metadata text: one `iteration,loss,accuracy` line
/// each, plus `,mean_tau_syn_ms` when logged (Rust's shortest round-trip
/// float formatting, so they parse back exactly).
fn evals_text(evals: &[KimEval]) -> String {
    evals
        .iter()
        .map(|e| {
            let tau = e
                .mean_tau_syn_ms
                .map(|t| format!(",{t}"))
                .unwrap_or_default();
            format!("{},{},{}{tau}\n", e.iteration, e.loss, e.accuracy)
        })
        .collect()
}

/// The inverse of [`evals_text`]; lines of checkpoints written before τ^s
/// was logged have three fields.
fn parse_evals(text: &str) -> Option<Vec<KimEval>> {
    text.lines()
        .map(|line| {
            let mut f = line.split(',');
            let mut e = KimEval {
                iteration: f.next()?.parse().ok()?,
                loss: f.next()?.parse().ok()?,
                accuracy: f.next()?.parse().ok()?,
                mean_tau_syn_ms: None,
            };
            if let Some(tau) = f.next() {
                e.mean_tau_syn_ms = Some(tau.parse().ok()?);
            }
            f.next().is_none().then_some(e)
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn save_kim(
    model: &DaleLeaky,
    adam: &Adam,
    rng: &TaskRng,
    path: &Path,
    id: &KimIdentity,
    iteration: usize,
    evals: &[KimEval],
    converged: bool,
) -> Result<()> {
    let tensors = crate::train::parameters_and_moments(model, adam)?;
    let mut meta: HashMap<String, String> = id
        .fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for (k, v) in [
        ("format", KIM_CHECKPOINT_FORMAT.to_string()),
        ("iteration", iteration.to_string()),
        ("adam_step", adam.step_count().to_string()),
        ("data_rng_word_pos", rng.get_word_pos().to_string()),
        ("converged", converged.to_string()),
        ("evals", evals_text(evals)),
        ("wm_version", env!("CARGO_PKG_VERSION").to_string()),
    ] {
        meta.insert(k.to_string(), v);
    }
    save_tensors(path, &tensors, meta)
}

/// A resumed Kim training's progress.
struct KimResumed {
    iteration: usize,
    converged: bool,
    evals: Vec<KimEval>,
}

fn resume_kim(
    model: &DaleLeaky,
    adam: &mut Adam,
    rng: &mut TaskRng,
    path: &Path,
    id: &KimIdentity,
) -> Result<KimResumed> {
    let f = load_tensors(path)?;
    let err = |reason: String| RateRnnError::Checkpoint {
        path: path.to_path_buf(),
        reason,
    };
    let format: String = f.meta(path, "format")?;
    if format != KIM_CHECKPOINT_FORMAT {
        return Err(err(format!(
            "is a `{format}` file, not a Kim training checkpoint (`{KIM_CHECKPOINT_FORMAT}`)"
        )));
    }
    for (key, wanted) in &id.fields {
        let found: String = f.meta(path, key)?;
        if &found != wanted {
            return Err(err(format!(
                "describes a different network ({} differs from this run's); \
                 delete it to train afresh, or train into another folder",
                key.replace('_', " ")
            )));
        }
    }
    let iteration: usize = f.meta(path, "iteration")?;
    let converged: bool = f.meta(path, "converged")?;
    let evals_raw: String = f.meta(path, "evals")?;
    let evals = parse_evals(&evals_raw)
        .ok_or_else(|| err("metadata `evals` is not `iteration,loss,accuracy` lines".into()))?;
    for (name, var) in model.named_vars() {
        let t = f.tensor(path, name)?;
        if t.dims() != var.dims() || t.dtype() != var.dtype() {
            return Err(err(format!(
                "`{name}` is {:?} {:?}, the model's is {:?} {:?}",
                t.dtype(),
                t.dims(),
                var.dtype(),
                var.dims()
            )));
        }
        var.set(t)?;
    }
    adam.restore(f.meta(path, "adam_step")?, |k| f.tensors.get(k).cloned())
        .map_err(|e| err(e.to_string()))?;
    rng.set_word_pos(f.meta(path, "data_rng_word_pos")?);
    Ok(KimResumed {
        iteration,
        converged,
        evals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluations_round_trip_exactly_through_their_text() {
        let evals = vec![
            KimEval {
                iteration: 100,
                loss: 0.1 + 0.2,
                accuracy: f64::NAN,
                mean_tau_syn_ms: Some(72.5 + 1e-13),
            },
            KimEval {
                iteration: 200,
                loss: 1e-300,
                accuracy: 0.95,
                mean_tau_syn_ms: None,
            },
            KimEval {
                iteration: 300,
                loss: f64::INFINITY,
                accuracy: -0.0,
                mean_tau_syn_ms: Some(20.0),
            },
        ];
        let back = parse_evals(&evals_text(&evals)).unwrap();
        assert_eq!(back.len(), 3);
        for (a, b) in evals.iter().zip(&back) {
            assert_eq!(a.iteration, b.iteration);
            assert_eq!(a.loss.to_bits(), b.loss.to_bits());
            assert_eq!(a.accuracy.to_bits(), b.accuracy.to_bits());
            assert_eq!(
                a.mean_tau_syn_ms.map(f64::to_bits),
                b.mean_tau_syn_ms.map(f64::to_bits)
            );
        }
        assert!(parse_evals("").unwrap().is_empty());
        assert!(parse_evals("100,1.0").is_none());
        assert!(parse_evals("100,1.0,0.5,x").is_none());
        assert!(parse_evals("100,1.0,0.5,7,8").is_none());
    }
}
