//! The tasks of Orhan & Ma (2019, Nat. Neurosci. 22:275), as their
//! public code (github.com/eminorhan/recurrent-memory, `generators.py`) defines them.
//!
//! Seven tasks — DE-1, DE-2, CD, GDE, 2AFC, COMP and the Sine control (plus
//! the unused extra CD-2) — each in a basic, a variable-delay and a
//! dynamic-input variant ([`TaskVariant`]). Build one by name with
//! [`orhan_ma_task`].
//!
//! Common structure (dt = 1 step, expressed as `dt_ms = 1.0`, so steps = ms):
//! stimulus epoch `[0, 25)`, delay `[25, 125)`, response `[125, 150)`.
//! Inputs are Poisson counts (spikes per step) from 50 neurons per location.
//! Targets are set on every step; the loss mask is 1 only in the response
//! epoch. Every trial carries its ideal observer's answer in
//! [`TrialInfo::ideal`], and [`Task::score`] reports the network's
//! fractional loss relative to it, read at step [`OrhanMaTaskOptions::readout_step`].

mod change_detection;
mod comparison;
mod delayed_estimation;
pub mod encoding;
mod gated;
pub mod observer;
mod scoring;
mod sine;
mod two_afc;
mod variants;

use serde::{Deserialize, Serialize};
use std::ops::Range;

use crate::{
    LossKind, OutputKind, Score, Task, TaskError, TaskRng, Timeline, TrialBatch, TrialInfo,
};
use encoding::TrialWriter;
pub use observer::CdObserver;
pub use variants::TaskVariant;

/// Stimulus epoch length `T_s`, in steps.
pub const T_STIMULUS: usize = 25;
/// Delay epoch length `T_d` of the basic tasks, in steps.
pub const T_DELAY: usize = 100;
/// Response epoch length `T_r`, in steps.
pub const T_RESPONSE: usize = 25;
/// Von Mises tuning concentration κ (dimensionless).
pub const KAPPA: f64 = 2.0;
/// Spontaneous activity: expected count per neuron per *epoch* (spikes);
/// the per-step rate is `SPON_RATE / epoch length`.
pub const SPON_RATE: f64 = 0.1;
/// Success criterion on the test fractional loss (`infloss_threshold`).
pub const SUCCESS_THRESHOLD: f64 = 0.5;
/// Canonical task names accepted by [`orhan_ma_task`].
pub const TASK_NAMES: [&str; 8] = ["DE-1", "DE-2", "CD", "GDE", "2AFC", "COMP", "Sine", "CD-2"];

/// Which error the DE/GDE score uses (the original code's is not circular).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeMetric {
    /// The original code's `mod(|s − ŷ|, π)` (rad): not circular, wrap-around
    /// errors count as ≈ π. Replicated for parity (default).
    #[default]
    Code,
    /// The circular orientation distance `min(e, π − e)`, `e = mod(|s − ŷ|, π)` (rad).
    Circular,
}

/// Options of every Orhan & Ma task. Defaults reproduce the paper's basic
/// condition, with the bugs of the original code fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrhanMaTaskOptions {
    /// Basic, variable-delay or dynamic-input condition.
    pub variant: TaskVariant,
    /// Input gain `g` (dimensionless): the expected stimulus count of a neuron
    /// over a stimulus presentation is `g · f_k(s)` spikes. 1 in the paper's
    /// main runs; the supplement varies it in {0.5, 1, 2.5}. Applied to both
    /// presentations in CD and COMP (the original, with g = 1 only, wrote the
    /// second one with gain 1). No effect on Sine.
    pub gain: f64,
    /// Step (0-based) at which the score reads the network's answer: 145
    /// (`T − 5`); the tethered condition uses 140.
    pub readout_step: usize,
    /// Reproduce the GDE aliasing bug of the paper-era code (the
    /// 2018 `generators.py` of github.com/eminorhan/recurrent-memory): on
    /// cue C = 1 trials location 1 shows location 2's orientation. Default false.
    pub legacy_gde_alias: bool,
    /// Which CD observer goes in [`TrialInfo::ideal`] and hence into the
    /// score; the other is stored in [`TrialInfo::ideal_alternative`].
    pub cd_observer: CdObserver,
    /// Error metric for DE-1, DE-2 and GDE scores (the loss stays
    /// [`LossKind::ModAbs`] with period π either way).
    pub de_metric: DeMetric,
    /// Variable-delay delays to draw from uniformly, in steps. The trial is
    /// padded to the longest, whose length also sets the delay rate
    /// `SPON_RATE / max` (spikes per step).
    pub var_delays: Vec<usize>,
    /// Reproduce `VarDelayedEstimationTask`'s response-epoch spontaneous rate
    /// `SPON_RATE / max_delay` instead of `SPON_RATE / T_r` (variable-delay DE only).
    pub legacy_vde_response_rate: bool,
}

impl Default for OrhanMaTaskOptions {
    fn default() -> Self {
        Self {
            variant: TaskVariant::Basic,
            gain: 1.0,
            readout_step: 145,
            legacy_gde_alias: false,
            cd_observer: CdObserver::Coded,
            de_metric: DeMetric::Code,
            var_delays: vec![10, 40, 70, 100],
            legacy_vde_response_rate: false,
        }
    }
}

impl OrhanMaTaskOptions {
    /// Defaults with the given variant.
    pub fn with_variant(variant: TaskVariant) -> Self {
        Self {
            variant,
            ..Self::default()
        }
    }
}

/// Where each epoch of one trial lies, and its spontaneous rates.
#[derive(Debug, Clone)]
pub(crate) struct TrialLayout {
    /// Steps of the (padded) trial.
    pub(crate) n_steps: usize,
    /// Stimulus epoch.
    pub(crate) stimulus: Range<usize>,
    /// The real delay (padding excluded).
    pub(crate) delay: Range<usize>,
    /// Response epoch.
    pub(crate) response: Range<usize>,
    /// Spontaneous rate in the delay, spikes per step.
    pub(crate) delay_rate: f64,
    /// Spontaneous rate in the response epoch, spikes per step.
    pub(crate) response_rate: f64,
    /// Input gain g.
    pub(crate) gain: f64,
}

/// How a task's output is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scoring {
    /// Continuous orientation reports against the ML estimate.
    Estimation,
    /// A probability against the ideal posterior (fractional information loss).
    Binary,
    /// Mean |ŷ − y*| over the response epoch; no ideal observer.
    Sine,
}

/// Dynamic-input parameters of a task: a bump of amplitude A sweeping the
/// task's irrelevant input channels (Orhan & Ma 2019, Methods, "dynamic
/// input" condition).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DynamicSpec {
    /// Centres φ_k of the irrelevant channels (the task's own grid).
    pub(crate) centres: Vec<f64>,
    /// Sweep range `[lo, hi]` of the moving bump.
    pub(crate) lo: f64,
    /// Upper end of the sweep.
    pub(crate) hi: f64,
    /// Amplitude A, spikes per step.
    pub(crate) amplitude: f64,
}

impl DynamicSpec {
    /// A bump of `amplitude` spikes per step sweeping `range` over the
    /// channels of `pop`.
    pub(crate) fn over(pop: &encoding::Population, range: (f64, f64), amplitude: f64) -> Self {
        Self {
            centres: pop.centres.clone(),
            lo: range.0,
            hi: range.1,
            amplitude,
        }
    }
}

/// One Orhan & Ma task body: writes one trial given its layout.
/// What a task's outputs are and how they are trained and scored; one of
/// three kinds in Orhan & Ma (2019, Methods).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Readout {
    /// Number of outputs.
    pub n_outputs: usize,
    /// Read-out nonlinearity.
    pub output_kind: OutputKind,
    /// Training loss.
    pub loss_kind: LossKind,
    /// Scoring rule.
    pub scoring: Scoring,
}

impl Readout {
    /// One sigmoid output trained by binary cross-entropy on the category,
    /// scored against the ideal observer's posterior (2AFC, COMP, CD).
    pub(crate) const BINARY: Self = Self {
        n_outputs: 1,
        output_kind: OutputKind::Sigmoid,
        loss_kind: LossKind::BinaryCrossEntropy,
        scoring: Scoring::Binary,
    };
    /// One linear output trained by absolute error on a sine wave (SINE).
    pub(crate) const SINE: Self = Self {
        n_outputs: 1,
        output_kind: OutputKind::Linear,
        loss_kind: LossKind::Abs,
        scoring: Scoring::Sine,
    };

    /// `n` linear outputs, one orientation each, trained by absolute error
    /// modulo π and scored against the ideal observer's estimate (DE, GDE).
    pub(crate) const fn estimation(n: usize) -> Self {
        Self {
            n_outputs: n,
            output_kind: OutputKind::Linear,
            loss_kind: LossKind::ModAbs {
                period: std::f64::consts::PI,
            },
            scoring: Scoring::Estimation,
        }
    }
}

pub(crate) trait Generator: Send + Sync + std::fmt::Debug {
    /// Canonical name.
    fn name(&self) -> &'static str;
    /// Task input channels (without the dynamic-input block).
    fn n_inputs(&self) -> usize;
    /// Outputs, their nonlinearity, the training loss and the scoring rule.
    fn readout(&self) -> Readout;
    /// Irrelevant-channel parameters, or `None` if no dynamic-input variant exists.
    fn dynamic(&self) -> Option<DynamicSpec>;
    /// Draw one trial: write inputs on the layout's epochs and targets on every step.
    fn trial(&self, rng: &mut TaskRng, layout: &TrialLayout, w: &mut TrialWriter<'_>) -> TrialInfo;
}

/// An Orhan & Ma task in one variant, built by [`orhan_ma_task`] or [`OrhanMaTask::new`].
#[derive(Debug)]
pub struct OrhanMaTask {
    generator: Box<dyn Generator>,
    options: OrhanMaTaskOptions,
    name: String,
    timeline: Timeline,
    dynamic: Option<DynamicSpec>,
    /// Irrelevant-channel rates `(λ, e^{−λ})` per step and channel (dynamic input).
    dynamic_rates: Vec<Vec<(f64, f64)>>,
    /// Longest delay, in steps.
    max_delay: usize,
    is_de: bool,
}

/// Build an Orhan & Ma task by name: `"DE-1"`, `"DE-2"`, `"CD"`, `"GDE"`,
/// `"2AFC"`, `"COMP"`, `"Sine"` (and the unused extra `"CD-2"`). The
/// original's ids are accepted as aliases (`DE1`, `DE2`, `CD1`, `CD2`, `GDE2`,
/// `Harvey2012`, `HAR12`, `SINE`).
pub fn orhan_ma_task(name: &str, opts: &OrhanMaTaskOptions) -> Result<Box<dyn Task>, TaskError> {
    Ok(Box::new(OrhanMaTask::new(name, opts)?))
}

fn generator_by_name(
    name: &str,
    opts: &OrhanMaTaskOptions,
) -> Result<(Box<dyn Generator>, bool), TaskError> {
    let g: (Box<dyn Generator>, bool) = match name {
        "DE-1" | "DE1" => (
            Box::new(delayed_estimation::DelayedEstimation::new(1)),
            true,
        ),
        "DE-2" | "DE2" => (
            Box::new(delayed_estimation::DelayedEstimation::new(2)),
            true,
        ),
        "GDE" | "GDE2" => (
            Box::new(gated::GatedDelayedEstimation::new(opts.legacy_gde_alias)),
            false,
        ),
        "CD" | "CD1" => (
            Box::new(change_detection::ChangeDetection::new(1, opts.cd_observer)),
            false,
        ),
        "CD-2" | "CD2" => (
            Box::new(change_detection::ChangeDetection::new(2, opts.cd_observer)),
            false,
        ),
        "2AFC" | "Harvey2012" | "HAR12" => (Box::new(two_afc::TwoAfc::new()), false),
        "COMP" => (Box::new(comparison::Comparison::new()), false),
        "Sine" | "SINE" => (Box::new(sine::Sine::new()), false),
        _ => {
            return Err(TaskError::UnknownTask {
                name: name.to_string(),
                allowed: TASK_NAMES.iter().map(|s| s.to_string()).collect(),
            });
        }
    };
    Ok(g)
}

impl OrhanMaTask {
    /// Build the named task (see [`orhan_ma_task`] for the names).
    pub fn new(name: &str, opts: &OrhanMaTaskOptions) -> Result<Self, TaskError> {
        let (generator, is_de) = generator_by_name(name, opts)?;
        if !(opts.gain.is_finite() && opts.gain > 0.0) {
            return Err(TaskError::invalid("gain", opts.gain, "finite, > 0"));
        }
        let (timeline, max_delay) = variants::timeline(opts)?;
        let n_steps = timeline.n_steps();
        if opts.readout_step < n_steps - T_RESPONSE || opts.readout_step >= n_steps {
            return Err(TaskError::invalid(
                "readout_step",
                opts.readout_step,
                format!(
                    "inside the response epoch [{}, {})",
                    n_steps - T_RESPONSE,
                    n_steps
                ),
            ));
        }
        let dynamic = match opts.variant {
            TaskVariant::DynamicInput => {
                Some(
                    generator
                        .dynamic()
                        .ok_or_else(|| TaskError::UnsupportedVariant {
                            task: generator.name().to_string(),
                            variant: "dynamic-input".to_string(),
                        })?,
                )
            }
            _ => None,
        };
        let name = format!("{}{}", generator.name(), opts.variant.suffix());
        let dynamic_rates = dynamic
            .as_ref()
            .map(|d| variants::irrelevant_rates(d, n_steps))
            .unwrap_or_default();
        Ok(Self {
            generator,
            options: opts.clone(),
            name,
            timeline,
            dynamic,
            dynamic_rates,
            max_delay,
            is_de,
        })
    }

    /// The options the task was built with.
    pub fn options(&self) -> &OrhanMaTaskOptions {
        &self.options
    }

    /// Channel offset of the task's own inputs: 50 in the dynamic-input
    /// variant (the irrelevant block comes first), else 0.
    pub fn task_input_offset(&self) -> usize {
        if self.dynamic.is_some() {
            encoding::N_PER_LOCATION
        } else {
            0
        }
    }

    fn layout(&self, delay: usize) -> TrialLayout {
        let n_steps = self.timeline.n_steps();
        let response_start = n_steps - T_RESPONSE;
        let legacy_vde = self.is_de
            && self.options.legacy_vde_response_rate
            && self.options.variant == TaskVariant::VariableDelay;
        TrialLayout {
            n_steps,
            stimulus: 0..T_STIMULUS,
            delay: T_STIMULUS..T_STIMULUS + delay,
            response: response_start..n_steps,
            delay_rate: SPON_RATE / self.max_delay as f64,
            response_rate: if legacy_vde {
                SPON_RATE / self.max_delay as f64
            } else {
                SPON_RATE / T_RESPONSE as f64
            },
            gain: self.options.gain,
        }
    }
}

impl Task for OrhanMaTask {
    fn name(&self) -> &str {
        &self.name
    }

    fn n_inputs(&self) -> usize {
        self.task_input_offset() + self.generator.n_inputs()
    }

    fn n_outputs(&self) -> usize {
        self.generator.readout().n_outputs
    }

    fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    fn output_kind(&self) -> OutputKind {
        self.generator.readout().output_kind
    }

    fn loss_kind(&self) -> LossKind {
        self.generator.readout().loss_kind
    }

    fn batch(&self, rng: &mut TaskRng, n: usize) -> TrialBatch {
        use rand::Rng;
        let n_steps = self.timeline.n_steps();
        let (n_in, n_out) = (self.n_inputs(), self.n_outputs());
        let mut batch = TrialBatch::zeros(n_steps, n, n_in, n_out);
        let variable = self.options.variant == TaskVariant::VariableDelay;
        let mut update = variable.then(|| vec![1.0f32; n_steps * n]);
        for b in 0..n {
            let delay = if variable {
                self.options.var_delays[rng.random_range(0..self.options.var_delays.len())]
            } else {
                self.max_delay
            };
            let layout = self.layout(delay);
            let mut w = TrialWriter {
                input: &mut batch.input,
                target: &mut batch.target,
                batch_size: n,
                n_inputs: n_in,
                n_outputs: n_out,
                b,
                offset: self.task_input_offset(),
            };
            let mut info = self.generator.trial(rng, &layout, &mut w);
            if self.dynamic.is_some() {
                variants::irrelevant_channels(rng, &self.dynamic_rates, &mut w);
            }
            // Padding between the real delay and the response: zero target,
            // zero mask (already), state held.
            for t in layout.delay.end..layout.response.start {
                for o in 0..n_out {
                    w.set_target(t, o, 0.0);
                }
                if let Some(u) = update.as_mut() {
                    u[t * n + b] = 0.0;
                }
            }
            for t in layout.response.clone() {
                for o in 0..n_out {
                    let idx = (t * n + b) * n_out + o;
                    batch.mask[idx] = 1.0;
                }
            }
            if variable {
                info.delay_steps = Some(delay);
            }
            batch.trials.push(info);
        }
        batch.update = update;
        batch
    }

    fn score(&self, batch: &TrialBatch, output: &[f32]) -> Score {
        scoring::score(
            self.generator.readout().scoring,
            self.options.de_metric,
            self.options.readout_step,
            batch,
            output,
        )
    }

    fn readout_step(&self) -> usize {
        self.options.readout_step
    }

    fn success_threshold(&self) -> Option<f64> {
        match self.generator.readout().scoring {
            Scoring::Sine => None,
            _ => Some(SUCCESS_THRESHOLD),
        }
    }
}
