//! Train one Xie network: minibatches of one task each, evaluation and a
//! checkpoint every `eval_every` steps, stage checkpoints kept for analysis.
//!
//! A network lives in `networks/<index>-<condition>/`: the trainer's
//! checkpoint (`weights.safetensors`, `train_log.csv`), `evals.csv` (step,
//! trials seen and each task's performance) and `checkpoints/step<k>.safetensors`
//! for the evaluations whose analysed-ODR performance puts them in a stage.
//! Training runs in chunks of `eval_every` steps through
//! [`wm_rate_rnn::train()`], each resuming exactly from the last checkpoint, so
//! an interrupted run continues where it stopped and gives the same numbers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use rand::SeedableRng;
use wm_rate_rnn::checkpoint::WEIGHTS;
use wm_rate_rnn::loss::Objective;
use wm_rate_rnn::optim::AdamConfig;
use wm_rate_rnn::train::load_weights;
use wm_rate_rnn::{DType, Leaky, LeakyConfig, Noise, TrainConfig, train};
use wm_tasks::xie::{Mode, TrialOutcome, score_trials};
use wm_tasks::{TaskRng, TrialBatch, XieMultitask, XieRule, XieTask, XieTaskOptions};

use crate::io::{derive_seed, write_atomic};
use crate::xie::config::{Condition, XieConfig};

/// Trials evaluated per forward pass (bounds memory at T = 250).
const EVAL_CHUNK: usize = 128;

/// One network of the reproduction.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    /// Index in the run (seeds derive from it).
    pub index: usize,
    /// ODR condition.
    pub condition: Condition,
    /// The network's seed.
    pub seed: u64,
}

impl NetworkSpec {
    /// Folder name `<index>-<condition>`.
    pub fn dir_name(&self) -> String {
        format!("{:03}-{}", self.index, self.condition.name())
    }
}

/// The networks of a run: `networks` per condition, in condition order,
/// network k's seed derived from the master seed and k.
pub fn network_specs(cfg: &XieConfig) -> Vec<NetworkSpec> {
    let mut specs = Vec::new();
    for &condition in &cfg.conditions {
        for _ in 0..cfg.networks {
            let index = specs.len();
            specs.push(NetworkSpec {
                index,
                condition,
                seed: derive_seed(cfg.seed, index as u64),
            });
        }
    }
    specs
}

/// Training stage of a checkpoint by its analysed-ODR performance (the stage
/// names and ranges of Xie et al. 2022, Methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// (0.35, 0.65] in the paper.
    Mid,
    /// (0.65, 0.95] in the paper.
    Mature,
    /// > 0.95 in the paper.
    Full,
}

impl Stage {
    /// The three stages in training order.
    pub const ALL: [Stage; 3] = [Stage::Mid, Stage::Mature, Stage::Full];

    /// The stage of performance `p` given the lower bounds of the three
    /// stages (paper: 0.35, 0.65, 0.95), or `None` at or below the first.
    pub fn of(p: f64, bounds: [f64; 3]) -> Option<Stage> {
        if p > bounds[2] {
            Some(Stage::Full)
        } else if p > bounds[1] {
            Some(Stage::Mature)
        } else if p > bounds[0] {
            Some(Stage::Mid)
        } else {
            None
        }
    }

    /// Name in tables: the paper's mid-trained, mature, fully trained.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Mid => "mid",
            Stage::Mature => "mature",
            Stage::Full => "full",
        }
    }
}

/// One evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRow {
    /// Training steps done.
    pub step: usize,
    /// Performance of each task, in ruleset order.
    pub perf: Vec<f64>,
}

/// A trained network and where its stage checkpoints are.
#[derive(Debug, Clone)]
pub struct TrainedNetwork {
    /// Its spec.
    pub spec: NetworkSpec,
    /// Rules in rule-input order.
    pub rules: Vec<XieRule>,
    /// Every evaluation.
    pub evals: Vec<EvalRow>,
    /// Stage checkpoints: (step, analysed-ODR performance, stage, file).
    pub checkpoints: Vec<(usize, f64, Stage, PathBuf)>,
    /// Wall-clock seconds of training in this process.
    pub seconds: f64,
    /// The folder.
    pub dir: PathBuf,
}

impl TrainedNetwork {
    /// Index of the analysed ODR rule in the ruleset.
    pub fn odr_index(&self) -> usize {
        let rule = self.spec.condition.odr_rule();
        self.rules.iter().position(|&r| r == rule).unwrap_or(0)
    }

    /// Final evaluation's performance on the analysed ODR rule.
    pub fn final_odr_perf(&self) -> f64 {
        self.evals
            .last()
            .map_or(f64::NAN, |e| e.perf[self.odr_index()])
    }
}

/// The task options of a config.
pub fn task_options(cfg: &XieConfig) -> XieTaskOptions {
    XieTaskOptions {
        n_ring: cfg.n_ring,
        ..Default::default()
    }
}

/// The model config of a network.
pub fn model_config(cfg: &XieConfig, n_rules: usize) -> LeakyConfig {
    LeakyConfig {
        n_inputs: 1 + cfg.n_ring + n_rules,
        n_units: cfg.n_units,
        n_outputs: 1 + cfg.n_ring,
        sigma_rec: cfg.sigma_rec,
        sigma_x: cfg.sigma_x,
        grad_clip_value: (cfg.grad_clip_value > 0.0).then_some(cfg.grad_clip_value),
        ..LeakyConfig::default()
    }
}

/// A fresh network of `spec` (initial weights from the network's seed).
pub fn new_model(cfg: &XieConfig, spec: &NetworkSpec, n_rules: usize) -> Result<Leaky> {
    let mut rng = TaskRng::seed_from_u64(spec.seed);
    Ok(Leaky::new(
        model_config(cfg, n_rules),
        DType::F32,
        &mut rng,
    )?)
}

/// Run `model` on `batch` with the given noise, drawn from `rng`; returns
/// the rates `[T, B, N]` and the sigmoid outputs `[T, B, O]`.
pub fn run_batch(
    model: &Leaky,
    batch: &TrialBatch,
    noise: Noise,
    rng: &mut TaskRng,
) -> Result<(Vec<f32>, Vec<f32>)> {
    Ok(model.run(batch, noise, rng)?)
}

/// Fraction correct of `task` on `n` random trials with input and recurrent noise.
pub fn evaluate_task(model: &Leaky, task: &XieTask, n: usize, rng: &mut TaskRng) -> Result<f64> {
    let mut correct = 0usize;
    let mut done = 0usize;
    while done < n {
        let k = EVAL_CHUNK.min(n - done);
        let batch = task.batch_mode(rng, k, Mode::Random);
        let (_, out) = run_batch(model, &batch, Noise::TRAINING, rng)?;
        correct += score_trials(task, &batch, &out)
            .iter()
            .filter(|o| o.correct)
            .count();
        done += k;
    }
    Ok(correct as f64 / n as f64)
}

/// Test-mode trials (R locations × repeats) and the outcomes decoded from them.
pub struct Recording {
    /// The trials.
    pub batch: TrialBatch,
    /// Rates `[T, B, N]`.
    pub rates: Vec<f32>,
    /// Per-trial outcome (decoded saccade, correct).
    pub outcomes: Vec<TrialOutcome>,
}

/// Record `task`'s test trials. Rates come from one pass with `noise`;
/// behaviour from the same pass, or (`unpaired`) from a second pass with
/// fresh noise, as the original recorder does (`compute_H_` in
/// `utils/functions.py` of github.com/maiziezhoulab/RNN_workingmemoryaccuracy).
pub fn record(
    model: &Leaky,
    task: &XieTask,
    repeats: usize,
    noise: Noise,
    seed: u64,
    unpaired: bool,
) -> Result<Recording> {
    let mut rng = TaskRng::seed_from_u64(seed);
    let batch = task.batch_mode(&mut rng, 0, Mode::Test { repeats });
    let (rates, out) = run_batch(model, &batch, noise, &mut rng)?;
    let out = if unpaired {
        run_batch(model, &batch, noise, &mut rng)?.1
    } else {
        out
    };
    let outcomes = score_trials(task, &batch, &out);
    Ok(Recording {
        batch,
        rates,
        outcomes,
    })
}

/// Load a saved stage checkpoint into `model`.
pub fn load_checkpoint(model: &Leaky, path: &Path) -> Result<()> {
    model.load(path)?;
    Ok(())
}

fn save_checkpoint(model: &Leaky, path: &Path, step: usize, perf: f64) -> Result<()> {
    let meta = HashMap::from([
        ("family".to_string(), "leaky".to_string()),
        ("step".to_string(), step.to_string()),
        ("odr_perf".to_string(), perf.to_string()),
    ]);
    Ok(model.save(path, meta)?)
}

fn write_evals(path: &Path, rules: &[XieRule], rows: &[EvalRow], batch: usize) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["step".to_string(), "trials".to_string()];
    header.extend(rules.iter().map(|r| r.name().to_string()));
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![r.step.to_string(), (r.step * batch).to_string()];
        rec.extend(r.perf.iter().map(|p| p.to_string()));
        w.write_record(&rec)?;
    }
    write_atomic(path, &w.into_inner()?)?;
    Ok(())
}

/// The evaluations a previous (interrupted) run of this network wrote, to
/// resume from. Refuses a file written for another set of tasks (a run of a
/// different config into the same folder).
fn read_evals(path: &Path, rules: &[XieRule]) -> Result<Vec<EvalRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let n_rules = rules.len();
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let found: Vec<String> = r
        .headers()
        .with_context(|| format!("cannot read the header of {}", path.display()))?
        .iter()
        .skip(2)
        .map(str::to_string)
        .collect();
    let wanted: Vec<&str> = rules.iter().map(|r| r.name()).collect();
    if found != wanted {
        anyhow::bail!(
            "{} was written by a run that trained the tasks [{}], but this config trains [{}]; \
             resume only with the same config, or write to a fresh --out folder",
            path.display(),
            found.join(", "),
            wanted.join(", ")
        );
    }
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        let step: usize = rec[0].parse()?;
        let perf = (0..n_rules)
            .map(|k| rec[2 + k].parse::<f64>())
            .collect::<std::result::Result<Vec<_>, _>>()?;
        rows.push(EvalRow { step, perf });
    }
    Ok(rows)
}

fn checkpoint_path(dir: &Path, step: usize) -> PathBuf {
    dir.join("checkpoints")
        .join(format!("step{step:07}.safetensors"))
}

/// The trainer's settings for training up to `iterations` steps in total.
fn train_config(cfg: &XieConfig, iterations: usize) -> TrainConfig {
    TrainConfig {
        iterations,
        batch_size: cfg.batch_size,
        adam: AdamConfig {
            learning_rate: cfg.learning_rate,
            clip_grad_norm: None,
            ..AdamConfig::default()
        },
        objective: Objective {
            activity_penalty: 0.0,
            penalty_steps: 1,
            rho: 0.0,
        },
        log_every: cfg.eval_every,
        checkpoint_every: cfg.eval_every,
    }
}

/// One network being trained in its folder.
struct Session<'a> {
    spec: &'a NetworkSpec,
    cfg: &'a XieConfig,
    dir: &'a Path,
    rules: Vec<XieRule>,
    task: XieMultitask,
    model: Leaky,
    /// Index of the analysed ODR rule in `rules`.
    odr: usize,
}

impl Session<'_> {
    /// The stage of each evaluation whose stage checkpoint is on disk.
    fn kept_stages<'e>(&self, evals: &'e [EvalRow]) -> impl Iterator<Item = (&'e EvalRow, Stage)> {
        evals.iter().filter_map(|e| {
            let s = Stage::of(e.perf[self.odr], self.cfg.stage_bounds)?;
            checkpoint_path(self.dir, e.step).exists().then_some((e, s))
        })
    }

    /// Evaluate every task at `step`, keep a stage checkpoint while its
    /// stage has fewer than `stage_cap`, and rewrite `evals.csv`.
    fn evaluate_at(
        &self,
        step: usize,
        evals: &mut Vec<EvalRow>,
        counts: &mut [usize; 3],
    ) -> Result<()> {
        let cfg = self.cfg;
        let mut rng =
            TaskRng::seed_from_u64(derive_seed(self.spec.seed ^ 0x5eed_e7a1, step as u64));
        let perf = self
            .task
            .tasks()
            .iter()
            .map(|t| evaluate_task(&self.model, t, cfg.eval_trials, &mut rng))
            .collect::<Result<Vec<_>>>()?;
        let odr_perf = perf[self.odr];
        if let Some(s) = Stage::of(odr_perf, cfg.stage_bounds)
            && counts[s as usize] < cfg.stage_cap
        {
            save_checkpoint(
                &self.model,
                &checkpoint_path(self.dir, step),
                step,
                odr_perf,
            )?;
            counts[s as usize] += 1;
        }
        tracing::debug!(network = self.spec.index, step, ?perf, "evaluation");
        evals.push(EvalRow { step, perf });
        write_evals(
            &self.dir.join("evals.csv"),
            &self.rules,
            evals,
            cfg.batch_size,
        )
    }
}

/// Train (or resume, or reload) network `spec` in `dir`.
pub fn train_network(spec: &NetworkSpec, cfg: &XieConfig, dir: &Path) -> Result<TrainedNetwork> {
    std::fs::create_dir_all(dir.join("checkpoints"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let rules = cfg.ruleset(spec.condition);
    let odr = rules
        .iter()
        .position(|&r| r == spec.condition.odr_rule())
        .context("the ruleset lacks the condition's ODR rule")?;
    let session = Session {
        spec,
        cfg,
        dir,
        task: XieMultitask::new(&rules, &task_options(cfg))?,
        model: new_model(cfg, spec, rules.len())?,
        rules,
        odr,
    };
    let mut evals = read_evals(&dir.join("evals.csv"), &session.rules)?;
    if dir.join(WEIGHTS).exists() {
        load_weights(&session.model, dir)?;
    }
    let mut data_rng = TaskRng::seed_from_u64(derive_seed(spec.seed, 1));
    let clock = Instant::now();
    let mut counts = [0usize; 3];
    for (_, s) in session.kept_stages(&evals) {
        counts[s as usize] += 1;
    }
    if evals.is_empty() {
        session.evaluate_at(0, &mut evals, &mut counts)?;
    }
    let reached_target = |e: &EvalRow| e.perf.iter().all(|&p| p > cfg.target_perf);
    let mut reached: Option<usize> = evals.iter().position(reached_target);
    loop {
        let last = evals.last().map_or(0, |e| e.step);
        let done = match reached {
            Some(k) => evals.len() > k + cfg.extra_evals,
            None => last >= cfg.max_steps,
        };
        if done {
            break;
        }
        let next = last + cfg.eval_every;
        train(
            &session.model,
            &session.task,
            &train_config(cfg, next),
            &mut data_rng,
            Some(dir),
            &mut |_| {},
        )?;
        session.evaluate_at(next, &mut evals, &mut counts)?;
        if reached.is_none() && evals.last().is_some_and(reached_target) {
            reached = Some(evals.len() - 1);
        }
    }
    let checkpoints = session
        .kept_stages(&evals)
        .map(|(e, s)| (e.step, e.perf[odr], s, checkpoint_path(dir, e.step)))
        .collect();
    Ok(TrainedNetwork {
        spec: spec.clone(),
        rules: session.rules,
        evals,
        checkpoints,
        seconds: clock.elapsed().as_secs_f64(),
        dir: dir.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluations written for one set of tasks resume; a file written for
    /// another set is refused with the file and both task lists named.
    #[test]
    fn evals_of_another_task_set_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evals.csv");
        let odr_only = [XieRule::Odr3000];
        let rows = [EvalRow {
            step: 20,
            perf: vec![0.25],
        }];
        write_evals(&path, &odr_only, &rows, 64).unwrap();
        let back = read_evals(&path, &odr_only).unwrap();
        assert_eq!((back.len(), back[0].step, back[0].perf[0]), (1, 20, 0.25));

        let six = XieRule::ruleset_fixed();
        let err = format!("{:#}", read_evals(&path, &six).unwrap_err());
        assert!(err.contains("evals.csv"), "{err}");
        assert!(err.contains("[odr3000]"), "{err}");
        assert!(err.contains("fresh --out"), "{err}");
    }
}
