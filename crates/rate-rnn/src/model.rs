//! What every rate-model family offers the trainer.

use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use wm_tasks::TaskRng;

use crate::error::{RateRnnError, Result};
use crate::recurrence::RecurrentReadout;

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

/// The fused recurrence-and-read-out pass as a model's result, with the rate
/// power the activity penalty uses.
impl From<RecurrentReadout> for Forward {
    fn from(r: RecurrentReadout) -> Self {
        Self {
            rates: r.rates,
            readout: r.readout,
            rate_power: Some(r.rate_power),
        }
    }
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

/// The range check every family's configuration starts with: input
/// channels, units and output channels are each at least 1 (the error names
/// the first that is 0).
pub(crate) fn check_sizes(n_inputs: usize, n_units: usize, n_outputs: usize) -> Result<()> {
    for (f, v) in [
        ("n_inputs", n_inputs),
        ("n_units", n_units),
        ("n_outputs", n_outputs),
    ] {
        if v == 0 {
            return Err(RateRnnError::invalid(f, v, "≥ 1"));
        }
    }
    Ok(())
}

/// `(T, B, I)` of an input `[T, B, I]`, after checking that `I` is the
/// `n_inputs` the network expects (the error starts with `family`).
pub(crate) fn input_dims(
    family: &str,
    input: &Tensor,
    n_inputs: usize,
) -> candle_core::Result<(usize, usize, usize)> {
    let (nt, nb, ni) = input.dims3()?;
    if ni != n_inputs {
        candle_core::bail!("{family}: input has {ni} channels, the network expects {n_inputs}");
    }
    Ok((nt, nb, ni))
}

/// Row-major `f64` values as a CPU tensor of `shape` and `dtype`.
pub(crate) fn tensor(data: Vec<f64>, shape: &[usize], dtype: DType) -> Result<Tensor> {
    Ok(Tensor::from_vec(data, shape, &Device::Cpu)?.to_dtype(dtype)?)
}

/// Row-major `f64` initial values as a trainable variable of `shape` and `dtype`.
pub(crate) fn var(data: Vec<f64>, shape: &[usize], dtype: DType) -> Result<Var> {
    Ok(Var::from_tensor(&tensor(data, shape, dtype)?)?)
}

/// A tensor's values as plain `f64`, row-major.
pub(crate) fn to_f64(t: &Tensor) -> Result<Vec<f64>> {
    Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1()?)
}
