//! What every rate-model family offers the trainer.

use std::sync::Arc;

use candle_core::{Tensor, Var};
use wm_tasks::TaskRng;

/// The result of running a model on a batch.
#[derive(Debug, Clone)]
pub struct Forward {
    /// Unit rates `[T, B, N]` (the recurrent layer's activity). Models that
    /// fuse the read-out into the recurrence return them detached from the
    /// graph: losses reach the rates through `readout` and `rate_power`.
    pub rates: Tensor,
    /// Read-out before the task's output nonlinearity, `[T, B, O]`.
    pub readout: Tensor,
    /// Σₙ r² per step and trial, `[T, B]`, where the model computes it with
    /// the read-out (one gradient path into `rates` instead of two); the
    /// activity penalty uses it when present.
    pub rate_power: Option<Tensor>,
}

/// A trainable rate RNN: a named set of parameters and a forward pass.
///
/// Models keep candle inside; the trainer sees tensors, the rest of wm sees
/// plain arrays through [`crate::record`] and [`crate::checkpoint`].
pub trait RateModel: Send {
    /// The model family's name, recorded in checkpoints (e.g. `"vanilla"`).
    fn family(&self) -> &'static str;
    /// Recurrent units `N`.
    fn n_units(&self) -> usize;
    /// Trainable parameters with stable names, in a fixed order.
    fn named_vars(&self) -> Vec<(&'static str, Var)>;
    /// Run the model on inputs `[T, B, I]`. `update` (`[T, B]`, 1 update, 0
    /// hold) marks padded steps of variable-length trials.
    fn forward(
        &self,
        input: &Tensor,
        update: Option<Arc<Vec<f32>>>,
    ) -> candle_core::Result<Forward>;

    /// The forward pass used for training and noisy evaluation: models with
    /// input or recurrent noise draw it from `rng` (the trainer passes its
    /// checkpointed data RNG, so a resumed run draws the same noise).
    /// Noise-free models run [`RateModel::forward`].
    fn forward_noisy(
        &self,
        input: &Tensor,
        update: Option<Arc<Vec<f32>>>,
        rng: &mut TaskRng,
    ) -> candle_core::Result<Forward> {
        let _ = rng;
        self.forward(input, update)
    }
}
