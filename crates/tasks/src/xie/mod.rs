//! The oculomotor tasks of Xie, Liu, Constantinidis & Zhou (2022, Front.
//! Syst. Neurosci. 16:760864; code:
//! github.com/maiziezhoulab/RNN_workingmemoryaccuracy): oculomotor
//! delayed response (ODR) with a 1.5-s, 3-s or variable 0–3-s delay, ODR with
//! a distractor (ODRD), and four anti-saccade variants (overlap, zero-gap,
//! gap, gap-500), all trained together by one network.
//!
//! Inputs (`n_in = 1 + R + n_rule`): channel 0 is fixation (1 until the
//! fixation-off step), channels `1..=R` a ring of R units tuned to
//! θₖ = 2πk/R with bumps `0.8·exp(−d²/2σ²)`, σ = π/8 (the distractor adds a
//! second bump on the same ring), and the last `n_rule` channels the rule
//! one-hot, on for the whole trial. Outputs (`n_out = 1 + R`, logistic):
//! output 0 is fixation (target 0.8 until the response, then 0.05), outputs
//! `1..=R` the response ring (0.05 baseline; from the response onset
//! `0.05 + 0.8·exp(−d²/2σ²)` around the saccade direction).
//!
//! The loss mask holds the **squared** cost weights of the original code,
//! which multiplies the residual by the mask before squaring: 0 for the
//! first 100 ms, 1 until the response onset, 0 in a 100-ms grace window, 25
//! after it (variable-delay ODR: only for 400 ms), and the fixation column ×4.
//! Scoring ([`Task::score`]) reads the last step: fixation output < 0.5 and
//! the population-vector decoded direction within 0.2π of the answer.
//!
//! [`XieTask`] is one rule; [`XieMultitask`] draws one rule uniformly per
//! minibatch, as the original `training/train.py` does.

mod layout;
mod scoring;

use std::f64::consts::{PI, TAU};

use wm_analysis::ring::circular_distance;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{
    Epoch, LossKind, OutputKind, Score, Task, TaskError, TaskRng, Timeline, TrialBatch, TrialInfo,
};
pub use layout::Layout;
pub use scoring::{TrialOutcome, decode_ring, is_correct, score_trials};

/// Step length of the paper's networks, ms.
pub const DT_MS: f64 = 20.0;
/// Width σ of the ring tuning bumps, rad (22.5°).
pub const TUNING_SIGMA: f64 = PI / 8.0;
/// Peak of a stimulus bump on the input ring.
pub const STIMULUS_STRENGTH: f64 = 0.8;
/// Baseline of every output target.
pub const TARGET_BASELINE: f64 = 0.05;
/// Fixation output target while the network must fixate: 0.8, as in the
/// original code and github.com/gyyang/multitask (0.85 is the ring's peak).
pub const FIXATION_TARGET: f64 = 0.8;
/// Largest decoded error that counts as correct, rad (0.2π = 36°).
pub const CORRECT_TOLERANCE: f64 = 0.2 * PI;
/// Fixation output below this at the scored step means fixation was released.
pub const FIXATION_RELEASE: f64 = 0.5;
/// Cost weight (before squaring) after the grace window.
pub const POST_WEIGHT: f64 = 5.0;
/// Extra factor (before squaring) on the fixation output's cost.
pub const FIXATION_WEIGHT: f64 = 2.0;

/// One of the tasks (the original's rule names in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum XieRule {
    /// ODR with a 1.5-s delay (`odr`, Liu et al. 2021).
    Odr,
    /// ODR with a 3-s delay (`odr3000`, Xie's main networks).
    Odr3000,
    /// ODR with a delay drawn from {0, 0.1, …, 3} s (`odr_mix_uniform_00_30_01step`).
    OdrVariable,
    /// ODR with a distractor 0.5 s after the cue (`odrd`).
    Odrd,
    /// Anti-saccade, fixation off at cue offset (`overlap`).
    Overlap,
    /// Anti-saccade, fixation off at cue onset (`zero_gap`).
    ZeroGap,
    /// Anti-saccade after a 100-ms gap without fixation input (`gap`).
    Gap,
    /// Anti-saccade after a 500-ms gap (`gap500`).
    Gap500,
}

impl XieRule {
    /// Every rule, in declaration order.
    pub const ALL: [XieRule; 8] = [
        XieRule::Odr,
        XieRule::Odr3000,
        XieRule::OdrVariable,
        XieRule::Odrd,
        XieRule::Overlap,
        XieRule::ZeroGap,
        XieRule::Gap,
        XieRule::Gap500,
    ];

    /// The original code's rule name.
    pub fn name(self) -> &'static str {
        match self {
            XieRule::Odr => "odr",
            XieRule::Odr3000 => "odr3000",
            XieRule::OdrVariable => "odr_variable",
            XieRule::Odrd => "odrd",
            XieRule::Overlap => "overlap",
            XieRule::ZeroGap => "zero_gap",
            XieRule::Gap => "gap",
            XieRule::Gap500 => "gap500",
        }
    }

    /// Look a rule up by [`XieRule::name`].
    pub fn from_name(name: &str) -> Result<Self, TaskError> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| TaskError::UnknownTask {
                name: name.into(),
                allowed: Self::ALL.iter().map(|r| r.name().to_string()).collect(),
            })
    }

    /// Whether the answer is the cue direction (ODR family) rather than its
    /// opposite (the anti-saccade tasks).
    pub fn is_pro(self) -> bool {
        matches!(
            self,
            XieRule::Odr | XieRule::Odr3000 | XieRule::OdrVariable | XieRule::Odrd
        )
    }

    /// The paper's ruleset `all_new_odr3000` (fixed 3-s networks), in its rule-input order.
    pub fn ruleset_fixed() -> Vec<XieRule> {
        vec![
            XieRule::Overlap,
            XieRule::ZeroGap,
            XieRule::Gap,
            XieRule::Odr3000,
            XieRule::Odrd,
            XieRule::Gap500,
        ]
    }

    /// The variable-delay ruleset, in its rule-input order.
    pub fn ruleset_variable() -> Vec<XieRule> {
        vec![
            XieRule::OdrVariable,
            XieRule::Overlap,
            XieRule::ZeroGap,
            XieRule::Gap,
            XieRule::Odrd,
            XieRule::Gap500,
        ]
    }
}

/// Where the variable-delay task reads the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableReadout {
    /// The last array step, as the original does (beyond the masked window
    /// for short delays).
    #[default]
    LastStep,
    /// The last step of the masked response window (fixation-off + 500 ms − 1 step).
    LastMaskedStep,
}

/// Options shared by every Xie task. Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XieTaskOptions {
    /// Ring units R of the stimulus input and response output (8 or 360).
    pub n_ring: usize,
    /// Step length, ms (20).
    pub dt_ms: f64,
    /// Delays of the variable-delay ODR, ms (0, 100, …, 3000).
    pub variable_delays_ms: Vec<f64>,
    /// Delay of variable-delay ODR test trials, ms (3000: the code's "test-3000").
    pub variable_test_delay_ms: f64,
    /// Where the variable-delay ODR is scored.
    pub variable_readout: VariableReadout,
    /// Also require the fixation output > 0.5 at every delay step (not in the original; default off).
    pub strict_fixation: bool,
}

impl Default for XieTaskOptions {
    fn default() -> Self {
        Self {
            n_ring: 8,
            dt_ms: DT_MS,
            variable_delays_ms: (0..=30).map(|k| 100.0 * f64::from(k)).collect(),
            variable_test_delay_ms: 3000.0,
            variable_readout: VariableReadout::LastStep,
            strict_fixation: false,
        }
    }
}

impl XieTaskOptions {
    /// Check ranges.
    pub fn validate(&self) -> Result<(), TaskError> {
        if self.n_ring < 3 {
            return Err(TaskError::invalid("n_ring", self.n_ring, "≥ 3"));
        }
        if !(self.dt_ms > 0.0 && self.dt_ms.is_finite()) {
            return Err(TaskError::invalid("dt_ms", self.dt_ms, "finite, > 0"));
        }
        if self.variable_delays_ms.is_empty()
            || self
                .variable_delays_ms
                .iter()
                .any(|d| !(0.0..=3000.0).contains(d))
        {
            return Err(TaskError::invalid(
                "variable_delays_ms",
                format!("{:?}", self.variable_delays_ms),
                "non-empty, each in [0, 3000] ms",
            ));
        }
        if !(0.0..=3000.0).contains(&self.variable_test_delay_ms) {
            return Err(TaskError::invalid(
                "variable_test_delay_ms",
                self.variable_test_delay_ms,
                "[0, 3000] ms",
            ));
        }
        Ok(())
    }
}

/// How the trials of a batch are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Training: continuous cue angle U[0, 2π) per trial; variable delays
    /// drawn per trial; the ODRD distractor offset k·45°, k ~ U{1..7}, drawn
    /// once per minibatch.
    Random,
    /// Analyses: R locations × `repeats`, cue exactly on θₖ, ordered by
    /// location (trial index ÷ repeats = location); the ODRD distractor at
    /// cue + 180°; variable delays fixed at the test delay.
    Test {
        /// Trials per location (16 in the paper).
        repeats: usize,
    },
}

/// One Xie task (rule) with its place in a ruleset.
#[derive(Debug, Clone)]
pub struct XieTask {
    rule: XieRule,
    rule_index: usize,
    n_rules: usize,
    options: XieTaskOptions,
    timeline: Timeline,
}

/// Gaussian ring bump `exp(−d(θ, θₖ)²/2σ²)` at every ring unit.
pub fn ring_bump(theta: f64, n_ring: usize) -> Vec<f64> {
    (0..n_ring)
        .map(|k| {
            let pref = TAU * k as f64 / n_ring as f64;
            let d = circular_distance(theta, pref);
            (-d * d / (2.0 * TUNING_SIGMA * TUNING_SIGMA)).exp()
        })
        .collect()
}

impl XieTask {
    /// The task `rule` as input `rule_index` of a ruleset of `n_rules` rules.
    pub fn new(
        rule: XieRule,
        rule_index: usize,
        n_rules: usize,
        options: XieTaskOptions,
    ) -> Result<Self, TaskError> {
        options.validate()?;
        if rule_index >= n_rules {
            return Err(TaskError::invalid(
                "rule_index",
                rule_index,
                format!("< the ruleset size {n_rules}"),
            ));
        }
        let timeline = layout::timeline(rule, &options);
        Ok(Self {
            rule,
            rule_index,
            n_rules,
            options,
            timeline,
        })
    }

    /// The rule.
    pub fn rule(&self) -> XieRule {
        self.rule
    }

    /// Its rule-input index.
    pub fn rule_index(&self) -> usize {
        self.rule_index
    }

    /// The options.
    pub fn options(&self) -> &XieTaskOptions {
        &self.options
    }

    /// Ring units R.
    pub fn n_ring(&self) -> usize {
        self.options.n_ring
    }

    /// Step boundaries of a trial with the given delay (ms; only the
    /// variable-delay ODR uses it).
    pub fn layout(&self, variable_delay_ms: f64) -> Layout {
        Layout::new(self.rule, &self.options, variable_delay_ms)
    }

    /// Draw trials in the given mode (`n` is ignored in test mode, which
    /// gives R × repeats trials).
    pub fn batch_mode(&self, rng: &mut TaskRng, n: usize, mode: Mode) -> TrialBatch {
        let r = self.options.n_ring;
        let n = match mode {
            Mode::Random => n,
            Mode::Test { repeats } => r * repeats,
        };
        let t = self.n_steps();
        let n_in = self.n_inputs();
        let n_out = self.n_outputs();
        let mut b = TrialBatch::zeros(t, n, n_in, n_out);
        // ODRD: one distractor offset per minibatch in training.
        let distractor_offset = match (self.rule, mode) {
            (XieRule::Odrd, Mode::Random) => f64::from(rng.random_range(1..=7u8)) * PI / 4.0,
            _ => PI,
        };
        for k in 0..n {
            let (cue, delay_ms) = match mode {
                Mode::Random => {
                    let cue = rng.random_range(0.0..TAU);
                    let d = if self.rule == XieRule::OdrVariable {
                        let v = &self.options.variable_delays_ms;
                        v[rng.random_range(0..v.len())]
                    } else {
                        0.0
                    };
                    (cue, d)
                }
                Mode::Test { repeats } => (
                    TAU * (k / repeats) as f64 / r as f64,
                    self.options.variable_test_delay_ms,
                ),
            };
            let lay = self.layout(delay_ms);
            let distractor = (self.rule == XieRule::Odrd).then_some(cue + distractor_offset);
            self.write_trial(&mut b, k, &lay, cue, distractor);
            let answer = if self.rule.is_pro() { cue } else { cue + PI };
            let mut stimuli = vec![cue.rem_euclid(TAU), answer.rem_euclid(TAU)];
            if let Some(d) = distractor {
                stimuli.push(d.rem_euclid(TAU));
            }
            b.trials.push(TrialInfo {
                stimuli,
                condition: Some(self.rule_index as u8),
                // Anti-saccade variants whose response opens before the cue
                // ends (zero gap, gap, gap 500) have no delay: 0, not a
                // wrapped difference.
                delay_steps: Some(lay.response_on.saturating_sub(lay.cue_off)),
                ..Default::default()
            });
        }
        b
    }

    fn write_trial(
        &self,
        b: &mut TrialBatch,
        k: usize,
        lay: &Layout,
        cue: f64,
        distractor: Option<f64>,
    ) {
        let r = self.options.n_ring;
        let t = b.n_steps;
        let cue_bump = ring_bump(cue, r);
        let dis_bump = distractor.map(|d| ring_bump(d, r));
        let answer = if self.rule.is_pro() { cue } else { cue + PI };
        let resp_bump = ring_bump(answer, r);
        let rule_ch = 1 + r + self.rule_index;
        for s in 0..t {
            let i0 = b.input_index(s, k, 0);
            if s < lay.fix_off {
                b.input[i0] = 1.0;
            }
            if lay.cue_on <= s && s < lay.cue_off {
                for (j, v) in cue_bump.iter().enumerate() {
                    b.input[i0 + 1 + j] += (STIMULUS_STRENGTH * v) as f32;
                }
            }
            if let (Some(bump), Some((on, off))) = (&dis_bump, lay.distractor)
                && on <= s
                && s < off
            {
                for (j, v) in bump.iter().enumerate() {
                    b.input[i0 + 1 + j] += (STIMULUS_STRENGTH * v) as f32;
                }
            }
            let ir = b.input_index(s, k, rule_ch);
            b.input[ir] = 1.0;

            let o0 = b.output_index(s, k, 0);
            let responding = s >= lay.response_on;
            b.target[o0] = if responding {
                TARGET_BASELINE as f32
            } else {
                FIXATION_TARGET as f32
            };
            for (j, bump) in resp_bump.iter().enumerate() {
                b.target[o0 + 1 + j] = if responding {
                    (TARGET_BASELINE + STIMULUS_STRENGTH * bump) as f32
                } else {
                    TARGET_BASELINE as f32
                };
            }
            let w = lay.cost_weight(s);
            for o in 0..=r {
                let wo = if o == 0 { w * FIXATION_WEIGHT } else { w };
                b.mask[o0 + o] = (wo * wo) as f32;
            }
        }
    }

    /// The step [`Task::score`] reads for a trial of this task.
    pub fn readout_step_of(&self, info: &TrialInfo) -> usize {
        let last = self.n_steps() - 1;
        match (self.rule, self.options.variable_readout) {
            (XieRule::OdrVariable, VariableReadout::LastMaskedStep) => {
                let lay = self.layout_of(info);
                (lay.mask_end - 1).min(last)
            }
            _ => last,
        }
    }

    /// The layout of a trial drawn by this task, from its recorded delay.
    pub fn layout_of(&self, info: &TrialInfo) -> Layout {
        if self.rule == XieRule::OdrVariable {
            let base = self.layout(0.0);
            let delay = info.delay_steps.unwrap_or(0) - (base.response_on - base.cue_off);
            self.layout(delay as f64 * self.options.dt_ms)
        } else {
            self.layout(0.0)
        }
    }
}

impl Task for XieTask {
    fn name(&self) -> &str {
        self.rule.name()
    }
    fn n_inputs(&self) -> usize {
        1 + self.options.n_ring + self.n_rules
    }
    fn n_outputs(&self) -> usize {
        1 + self.options.n_ring
    }
    fn timeline(&self) -> &Timeline {
        &self.timeline
    }
    fn output_kind(&self) -> OutputKind {
        OutputKind::Sigmoid
    }
    fn loss_kind(&self) -> LossKind {
        LossKind::Squared
    }
    fn batch(&self, rng: &mut TaskRng, n: usize) -> TrialBatch {
        self.batch_mode(rng, n, Mode::Random)
    }
    fn score(&self, batch: &TrialBatch, output: &[f32]) -> Score {
        let outcomes = score_trials(self, batch, output);
        scoring::summarize(&outcomes)
    }
}

/// Several Xie tasks trained together: each call of [`Task::batch`] draws
/// one rule uniformly and returns a minibatch of that rule only (the
/// original's interleaving). Batches differ in length; each
/// trial's rule index is in [`TrialInfo::condition`].
#[derive(Debug, Clone)]
pub struct XieMultitask {
    tasks: Vec<XieTask>,
    timeline: Timeline,
    name: String,
}

impl XieMultitask {
    /// The rules in rule-input order, sharing `options`.
    pub fn new(rules: &[XieRule], options: &XieTaskOptions) -> Result<Self, TaskError> {
        if rules.is_empty() {
            return Err(TaskError::invalid("rules", "[]", "at least one rule"));
        }
        for (i, r) in rules.iter().enumerate() {
            if rules[..i].contains(r) {
                return Err(TaskError::invalid(
                    "rules",
                    format!("{} twice", r.name()),
                    "each rule at most once",
                ));
            }
        }
        let tasks = rules
            .iter()
            .enumerate()
            .map(|(i, &r)| XieTask::new(r, i, rules.len(), options.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        // The longest task's timeline stands for the set (T = the longest trial).
        let longest = tasks
            .iter()
            .max_by_key(|t| t.n_steps())
            .map(|t| t.timeline.clone())
            .unwrap_or_else(|| Timeline {
                epochs: Vec::<Epoch>::new(),
                dt_ms: options.dt_ms,
            });
        let name = rules.iter().map(|r| r.name()).collect::<Vec<_>>().join("+");
        Ok(Self {
            tasks,
            timeline: longest,
            name,
        })
    }

    /// The member tasks, in rule-input order.
    pub fn tasks(&self) -> &[XieTask] {
        &self.tasks
    }

    /// The member task of `rule`, if it is in the set.
    pub fn task(&self, rule: XieRule) -> Option<&XieTask> {
        self.tasks.iter().find(|t| t.rule == rule)
    }

    fn task_of(&self, batch: &TrialBatch) -> &XieTask {
        let idx = batch
            .trials
            .first()
            .and_then(|t| t.condition)
            .map_or(0, usize::from);
        &self.tasks[idx.min(self.tasks.len() - 1)]
    }
}

impl Task for XieMultitask {
    fn name(&self) -> &str {
        &self.name
    }
    fn n_inputs(&self) -> usize {
        self.tasks[0].n_inputs()
    }
    fn n_outputs(&self) -> usize {
        self.tasks[0].n_outputs()
    }
    fn timeline(&self) -> &Timeline {
        &self.timeline
    }
    fn output_kind(&self) -> OutputKind {
        self.tasks[0].output_kind()
    }
    fn loss_kind(&self) -> LossKind {
        self.tasks[0].loss_kind()
    }
    fn batch(&self, rng: &mut TaskRng, n: usize) -> TrialBatch {
        let k = rng.random_range(0..self.tasks.len());
        self.tasks[k].batch(rng, n)
    }
    fn score(&self, batch: &TrialBatch, output: &[f32]) -> Score {
        self.task_of(batch).score(batch, output)
    }
}
