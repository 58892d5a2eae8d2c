//! Everything one trained network contributes (Xie et al. 2022, Methods):
//! the analysed ODR rule's test trials recorded at every stage checkpoint
//! (capped per stage), with the ODR-with-distractor trials beside them when
//! the ruleset has that task, and the single analysed checkpoint (the first fully
//! trained one, else the best) with its rate–behaviour analysis, activity
//! heat map and sorted recurrent weights.

use anyhow::{Context, Result};
use rand::SeedableRng;
use serde::Serialize;
use wm_analysis::stats::finite_mean;
use wm_rate_rnn::{Leaky, Noise};
use wm_tasks::xie::{Mode, TrialOutcome, XieRule, score_trials};
use wm_tasks::{TaskRng, XieMultitask, XieTask};

use crate::io::derive_seed;
use crate::xie::config::{DelayUnitRule, XieConfig};
use crate::xie::maps::{ActivityMap, SortedWeights, activity_map, sorted_weights};
use crate::xie::recording::{
    BehaviourAnalysis, CheckpointAnalysis, Epochs, Rates, analyse_checkpoint, behaviour_analysis,
    delay_units, endpoints,
};
use crate::xie::train::{Stage, TrainedNetwork, load_checkpoint, new_model, record, task_options};

/// One row of `networks.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkRow {
    /// Index in the run.
    pub index: usize,
    /// Condition.
    pub condition: String,
    /// Seed.
    pub seed: u64,
    /// Training steps done.
    pub steps: usize,
    /// Final evaluation's analysed-ODR performance.
    pub final_odr_perf: f64,
    /// Lowest final performance over the trained tasks.
    pub final_min_perf: f64,
    /// Stage checkpoints kept: mid-trained, mature, fully trained.
    pub n_mid: usize,
    /// See `n_mid`.
    pub n_mature: usize,
    /// See `n_mid`.
    pub n_full: usize,
    /// Delay units at the single analysed checkpoint.
    pub delay_units: usize,
    /// Step of the single analysed checkpoint (first fully trained, else the best).
    pub analysed_step: usize,
    /// Mean per-unit rate–behaviour r there.
    pub rate_behaviour_r: f64,
    /// Training seconds in this process.
    pub train_seconds: f64,
}

/// One row of `checkpoints.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointRow {
    /// Index of the network in the run.
    pub network: usize,
    /// Its condition.
    pub condition: String,
    /// Training step of the checkpoint.
    pub step: usize,
    /// Its stage (`mid`, `mature`, `full`).
    pub stage: String,
    /// Analysed-ODR performance of the evaluation that kept it.
    pub eval_perf: f64,
    /// Fraction correct of the recorded test trials.
    pub test_accuracy: f64,
    /// Delay units of the recording.
    pub delay_units: usize,
}

/// Everything one network contributes.
pub struct NetworkAnalysis {
    /// Its `networks.csv` row.
    pub row: NetworkRow,
    /// Each analysed stage checkpoint's contribution to its stage.
    pub stages: Vec<StagePart>,
    /// Its `checkpoints.csv` rows.
    pub checkpoints: Vec<CheckpointRow>,
    /// The single analysed checkpoint, if any checkpoint reached a stage.
    pub single: Option<SingleCheckpoint>,
}

/// A checkpoint's contribution to its stage, for both pairings of rates and behaviour.
pub struct StagePart {
    /// The checkpoint's stage.
    pub stage: Stage,
    /// Under the configured pairing.
    pub main: CheckpointAnalysis,
    /// Under the other pairing (with `report_both`).
    pub other: Option<CheckpointAnalysis>,
    /// The ODR-with-distractor trials of the same checkpoint (configured
    /// pairing), compared over the second delay interval; `None` when the
    /// ruleset lacks the task.
    pub distractor: Option<CheckpointAnalysis>,
    /// Saccade endpoints of a recording with training noise: (distance from
    /// the cue in degrees, correct).
    pub endpoints: Vec<(f64, bool)>,
}

/// The analyses of a network's single analysed checkpoint.
pub struct SingleCheckpoint {
    /// Its training step.
    pub step: usize,
    /// Its delay units under the configured pairing.
    pub delay_units: usize,
    /// Its delay units by the paper's stated rule (delay above fixation by
    /// a t-test, p < 0.05, at some location; Xie et al. 2022, Methods),
    /// whatever rule the analyses use.
    pub delay_units_ttest: usize,
    /// Rate–behaviour correlation and Fano factor under the configured
    /// pairing.
    pub main: BehaviourAnalysis,
    /// The same under the other pairing (with `report_both`).
    pub other: Option<BehaviourAnalysis>,
    /// `W_rec` sorted by preferred cue location.
    pub weights: SortedWeights,
    /// The activity heat map.
    pub activity: ActivityMap,
}

/// What every recording of one network shares.
struct Recorder<'a> {
    cfg: &'a XieConfig,
    model: &'a Leaky,
    task: &'a XieTask,
    ep: Epochs,
    seed: u64,
    distractor: Option<DistractorTask>,
}

/// The ODR-with-distractor task of a network and its epochs.
struct DistractorTask {
    task: XieTask,
    ep: Epochs,
}

impl DistractorTask {
    /// The network's ODRD task, when its ruleset has one.
    fn of(cfg: &XieConfig, net: &TrainedNetwork) -> Result<Option<Self>> {
        let multi = XieMultitask::new(&net.rules, &task_options(cfg))?;
        Ok(multi.task(XieRule::Odrd).cloned().map(|task| {
            let probe =
                task.batch_mode(&mut TaskRng::seed_from_u64(0), 0, Mode::Test { repeats: 1 });
            let ep = Epochs::of(&task.layout_of(&probe.trials[0]), task.options().dt_ms);
            Self { task, ep }
        }))
    }
}

/// The analysed ODR task of a trained network.
fn analysed_task(cfg: &XieConfig, net: &TrainedNetwork) -> Result<XieTask> {
    let multi = XieMultitask::new(&net.rules, &task_options(cfg))?;
    multi
        .task(net.spec.condition.odr_rule())
        .cloned()
        .context("the ruleset lacks the analysed ODR rule")
}

/// Record and analyse every stage checkpoint (capped) and the single analysed checkpoint.
pub fn analyse_network(cfg: &XieConfig, net: &TrainedNetwork) -> Result<NetworkAnalysis> {
    let task = analysed_task(cfg, net)?;
    let model = new_model(cfg, &net.spec, net.rules.len())?;
    let probe = task.batch_mode(&mut TaskRng::seed_from_u64(0), 0, Mode::Test { repeats: 1 });
    let lay = task.layout_of(&probe.trials[0]);
    let rec = Recorder {
        cfg,
        model: &model,
        task: &task,
        ep: Epochs::of(&lay, task.options().dt_ms),
        seed: derive_seed(net.spec.seed, 7),
        distractor: DistractorTask::of(cfg, net)?,
    };
    let (stages, checkpoints) = analyse_stages(&rec, net)?;
    let count = |stage| stages.iter().filter(|p| p.stage == stage).count();
    let single = analyse_single(&rec, net)?;
    let last = net.evals.last();
    let row = NetworkRow {
        index: net.spec.index,
        condition: net.spec.condition.name().into(),
        seed: net.spec.seed,
        steps: last.map_or(0, |e| e.step),
        final_odr_perf: net.final_odr_perf(),
        final_min_perf: last.map_or(f64::NAN, |e| {
            e.perf.iter().copied().fold(f64::INFINITY, f64::min)
        }),
        n_mid: count(Stage::Mid),
        n_mature: count(Stage::Mature),
        n_full: count(Stage::Full),
        delay_units: single.as_ref().map_or(0, |s| s.delay_units),
        analysed_step: single.as_ref().map_or(0, |s| s.step),
        rate_behaviour_r: single
            .as_ref()
            .map_or(f64::NAN, |s| finite_mean(&s.main.per_unit_r)),
        train_seconds: net.seconds,
    };
    Ok(NetworkAnalysis {
        row,
        stages,
        checkpoints,
        single,
    })
}

/// The stage checkpoints' analyses (at most `stage_cap` per stage, in
/// training order) and their `checkpoints.csv` rows.
fn analyse_stages(
    rec: &Recorder,
    net: &TrainedNetwork,
) -> Result<(Vec<StagePart>, Vec<CheckpointRow>)> {
    let cfg = rec.cfg;
    let mut stages = Vec::new();
    let mut checkpoints = Vec::new();
    let mut counts = [0usize; 3];
    for (step, perf, stage, path) in &net.checkpoints {
        if counts[*stage as usize] >= cfg.stage_cap {
            continue;
        }
        counts[*stage as usize] += 1;
        load_checkpoint(rec.model, path)?;
        let (main, other, _) = paired_analyses(rec)?;
        let mut rng = TaskRng::seed_from_u64(derive_seed(rec.seed, 1));
        let batch = rec.task.batch_mode(
            &mut rng,
            0,
            Mode::Test {
                repeats: cfg.repeats,
            },
        );
        let (_, out) = rec.model.run(&batch, Noise::TRAINING, &mut rng)?;
        let noisy = score_trials(rec.task, &batch, &out);
        let cues: Vec<f64> = batch.trials.iter().map(|t| t.stimuli[0]).collect();
        checkpoints.push(CheckpointRow {
            network: net.spec.index,
            condition: net.spec.condition.name().into(),
            step: *step,
            stage: stage.name().into(),
            eval_perf: *perf,
            test_accuracy: main.accuracy,
            delay_units: main.delay_units.len(),
        });
        let distractor = rec
            .distractor
            .as_ref()
            .map(|d| analyse_distractor(rec, d))
            .transpose()?;
        stages.push(StagePart {
            stage: *stage,
            main,
            other,
            distractor,
            endpoints: endpoints(&noisy, &cues),
        });
    }
    Ok((stages, checkpoints))
}

/// The loaded checkpoint's ODR-with-distractor test trials under the
/// configured pairing, analysed for correct vs error in the second delay
/// interval (Xie et al. 2022, Fig. 6C: t(3157) = 7.3, correct > error).
fn analyse_distractor(rec: &Recorder, d: &DistractorTask) -> Result<CheckpointAnalysis> {
    let cfg = rec.cfg;
    let r = record(
        rec.model,
        &d.task,
        cfg.repeats,
        Noise::RECORDING,
        derive_seed(rec.seed, 2),
        cfg.faithful_unpaired_noise,
    )?;
    let rates = Rates {
        values: &r.rates,
        n_steps: r.batch.n_steps,
        n_trials: r.batch.batch_size,
        n_units: cfg.n_units,
    };
    Ok(analyse_checkpoint(
        &rates,
        &r.outcomes,
        cfg.repeats,
        &d.ep,
        cfg.delay_unit_rule,
    ))
}

/// The single analysed checkpoint: the first fully trained one, else the
/// best; `None` when no checkpoint reached a stage.
fn analyse_single(rec: &Recorder, net: &TrainedNetwork) -> Result<Option<SingleCheckpoint>> {
    let single = net
        .checkpoints
        .iter()
        .find(|c| c.2 == Stage::Full)
        .or_else(|| net.checkpoints.iter().max_by(|a, b| a.1.total_cmp(&b.1)));
    let Some((step, _, _, path)) = single else {
        return Ok(None);
    };
    let (cfg, ep) = (rec.cfg, &rec.ep);
    load_checkpoint(rec.model, path)?;
    let (main, other, recorded) = paired_analyses(rec)?;
    let rates = recorded.rates_view();
    let b_main = behaviour_analysis(&rates, &recorded.main, cfg.repeats, ep, &main.delay_units);
    let b_other = match (&recorded.other, &other) {
        (Some(o), Some(oa)) => Some(behaviour_analysis(
            &rates,
            o,
            cfg.repeats,
            ep,
            &oa.delay_units,
        )),
        _ => None,
    };
    Ok(Some(SingleCheckpoint {
        step: *step,
        delay_units: main.delay_units.len(),
        delay_units_ttest: delay_units(
            &rates,
            &recorded.main,
            cfg.repeats,
            ep,
            DelayUnitRule::Ttest,
        )
        .len(),
        main: b_main,
        other: b_other,
        weights: sorted_weights(rec.model, &rates, &recorded.main, cfg.repeats, ep)?,
        activity: activity_map(&rates, &recorded.main, cfg.repeats, ep, cfg.heatmap_sort),
    }))
}

/// A recording and its outcomes under the configured pairing (and the other one).
struct Recorded {
    rates: Vec<f32>,
    n_steps: usize,
    n_trials: usize,
    n_units: usize,
    main: Vec<TrialOutcome>,
    other: Option<Vec<TrialOutcome>>,
}

impl Recorded {
    fn rates_view(&self) -> Rates<'_> {
        Rates {
            values: &self.rates,
            n_steps: self.n_steps,
            n_trials: self.n_trials,
            n_units: self.n_units,
        }
    }
}

/// Record the test trials once; score behaviour from the same pass and, for
/// the other pairing, from a second pass with fresh noise (as Xie et al.'s
/// code does).
fn paired_analyses(
    rec: &Recorder,
) -> Result<(CheckpointAnalysis, Option<CheckpointAnalysis>, Recorded)> {
    let cfg = rec.cfg;
    // Both recordings use `seed`, so their rates are the same first pass;
    // `unpaired` decodes behaviour from a second, freshly noised pass.
    let unpaired = record(
        rec.model,
        rec.task,
        cfg.repeats,
        Noise::RECORDING,
        rec.seed,
        true,
    )?;
    let paired = record(
        rec.model,
        rec.task,
        cfg.repeats,
        Noise::RECORDING,
        rec.seed,
        false,
    )?;
    let recorded = Recorded {
        n_steps: paired.batch.n_steps,
        n_trials: paired.batch.batch_size,
        n_units: cfg.n_units,
        main: if cfg.faithful_unpaired_noise {
            unpaired.outcomes.clone()
        } else {
            paired.outcomes.clone()
        },
        other: cfg.report_both.then(|| {
            if cfg.faithful_unpaired_noise {
                paired.outcomes.clone()
            } else {
                unpaired.outcomes.clone()
            }
        }),
        rates: paired.rates,
    };
    let rates = recorded.rates_view();
    let analyse = |o: &[TrialOutcome]| {
        analyse_checkpoint(&rates, o, cfg.repeats, &rec.ep, cfg.delay_unit_rule)
    };
    let main = analyse(&recorded.main);
    let other = recorded.other.as_deref().map(analyse);
    Ok((main, other, recorded))
}
