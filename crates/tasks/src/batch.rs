//! A batch of trials and how a network's output on it is scored.

use serde::{Deserialize, Serialize};

/// Per-trial ground truth and the ideal observer's answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TrialInfo {
    /// Stimulus values shown (task units: rad for orientations, degrees for
    /// 2AFC/COMP positions), one per location or per presentation.
    pub stimuli: Vec<f64>,
    /// Binary condition where the task has one (change, cue, class …).
    pub condition: Option<u8>,
    /// Delay length in steps, for variable-delay tasks.
    pub delay_steps: Option<usize>,
    /// The ideal observer's estimate (one per output): the ML estimate for
    /// estimation tasks, P(C = 1 | inputs) for binary tasks. Empty if the task
    /// defines no ideal observer.
    pub ideal: Vec<f64>,
    /// A second ideal observer's answer, in the same units as [`TrialInfo::ideal`],
    /// where the study's observer has a known flaw and both are logged (e.g.
    /// the CD posterior with corrected κ when the coded one is primary).
    /// Empty if there is none. Not used by scoring.
    pub ideal_alternative: Vec<f64>,
}

/// A batch of `B` trials of `T` steps, stored row-major as `[T, B, ·]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialBatch {
    /// Steps per trial `T`.
    pub n_steps: usize,
    /// Trials in the batch `B`.
    pub batch_size: usize,
    /// Input channels `I`.
    pub n_inputs: usize,
    /// Output channels `O`.
    pub n_outputs: usize,
    /// Inputs `[T, B, I]`.
    pub input: Vec<f32>,
    /// Targets `[T, B, O]`.
    pub target: Vec<f32>,
    /// Loss weights `[T, B, O]` (1 where the loss counts, 0 elsewhere).
    pub mask: Vec<f32>,
    /// Per-step update flags `[T, B]` for variable-length trials: 0 holds the
    /// network's state (a padded step), 1 updates it. `None`: always update.
    pub update: Option<Vec<f32>>,
    /// One record per trial.
    pub trials: Vec<TrialInfo>,
}

impl TrialBatch {
    /// An all-zero batch with the given shape.
    pub fn zeros(n_steps: usize, batch_size: usize, n_inputs: usize, n_outputs: usize) -> Self {
        Self {
            n_steps,
            batch_size,
            n_inputs,
            n_outputs,
            input: vec![0.0; n_steps * batch_size * n_inputs],
            target: vec![0.0; n_steps * batch_size * n_outputs],
            mask: vec![0.0; n_steps * batch_size * n_outputs],
            update: None,
            trials: Vec::with_capacity(batch_size),
        }
    }

    /// Flat index of input `[t, b, i]`.
    pub fn input_index(&self, t: usize, b: usize, i: usize) -> usize {
        (t * self.batch_size + b) * self.n_inputs + i
    }

    /// Flat index of target/mask/output `[t, b, o]`.
    pub fn output_index(&self, t: usize, b: usize, o: usize) -> usize {
        (t * self.batch_size + b) * self.n_outputs + o
    }
}

/// Read-out nonlinearity applied to `h W_out + b_out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Identity (estimation tasks).
    Linear,
    /// Logistic sigmoid, clipped to `[1e-6, 1 − 1e-6]` (binary tasks).
    Sigmoid,
}

/// Element-wise loss between output `y` and target `y*`, averaged under the mask.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// `mod(|y − y*|, period)`: the non-circular orientation error of Orhan & Ma (period π).
    ModAbs {
        /// The modulus, in output units (π for orientations).
        period: f64,
    },
    /// Binary cross-entropy on a clipped probability.
    BinaryCrossEntropy,
    /// `|y − y*|`.
    Abs,
    /// `(y − y*)²`.
    Squared,
}

/// How well a network did on a batch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Score {
    /// Fraction of trials answered correctly, where the task has a notion of correct.
    pub accuracy: Option<f64>,
    /// The network's error in the task's metric: e.g. mean absolute
    /// orientation error (rad) for estimation tasks, or the nan-mean of
    /// `KL(Bern(p*) ‖ Bern(ŷ))` (nats) for Orhan & Ma's binary tasks.
    pub error: f64,
    /// The ideal observer's error in the same metric, if defined.
    pub ideal_error: Option<f64>,
    /// Fraction of trials the ideal observer answers correctly (binary tasks).
    pub ideal_accuracy: Option<f64>,
    /// Information the inputs carry about the binary condition, `I(C; r)` in
    /// nats, estimated as the nan-mean of `KL(Bern(p*) ‖ Bern(½))` (binary tasks).
    pub information: Option<f64>,
    /// Fractional loss relative to the ideal observer (Orhan & Ma 2019; the original
    /// code's `build_performance` in `utils.py`): 0 is optimal; < 0.5 counts as success.
    pub fractional_loss: Option<f64>,
}
