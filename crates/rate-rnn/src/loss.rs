//! The training objective: task loss under the mask, an end-of-trial
//! activity penalty and weight decay (Orhan & Ma spec §6).
//!
//! ```text
//! L = L_task + κ · mean_{b, t ∈ last k steps, i} h²  +  ρ · Σ_θ Σ θ²
//! ```
//!
//! with κ = 1e-4 (tethered: 1e-1), k = 5, and ρ over every trainable parameter,
//! biases included (Lasagne's `l2` has no ½).

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};
use wm_tasks::{LossKind, OutputKind};

use crate::model::Forward;

/// Coefficients of the objective besides the task loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Objective {
    /// κ: weight of the mean squared rate over the last `penalty_steps` steps.
    pub activity_penalty: f64,
    /// Steps at the end of the trial the activity penalty covers (paper: 5).
    pub penalty_steps: usize,
    /// ρ: weight of Σθ² over all parameters.
    pub rho: f64,
}

impl Default for Objective {
    fn default() -> Self {
        Self {
            activity_penalty: 1e-4,
            penalty_steps: 5,
            rho: 0.0,
        }
    }
}

/// The objective's value, split into its parts (plain numbers for logs).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LossParts {
    /// Total objective.
    pub total: f64,
    /// Task loss under the mask.
    pub task: f64,
    /// Activity penalty term (already multiplied by κ).
    pub activity: f64,
    /// Weight-decay term (already multiplied by ρ).
    pub weight: f64,
}

/// Lower and upper clip of a sigmoid output (as the original code does).
pub const SIGMOID_CLIP: f64 = 1e-6;

/// The task's output nonlinearity applied to the read-out `[T, B, O]`.
pub fn output(readout: &Tensor, kind: OutputKind) -> candle_core::Result<Tensor> {
    match kind {
        OutputKind::Linear => Ok(readout.clone()),
        OutputKind::Sigmoid => {
            candle_nn::ops::sigmoid(readout)?.clamp(SIGMOID_CLIP, 1.0 - SIGMOID_CLIP)
        }
    }
}

/// Mean of the element-wise loss over the entries where `mask` is non-zero
/// (weighted by the mask). `output`, `target`, `mask`: `[T, B, O]`.
pub fn task_loss(
    output: &Tensor,
    target: &Tensor,
    mask: &Tensor,
    kind: LossKind,
) -> candle_core::Result<Tensor> {
    let diff = (output - target)?;
    let elementwise = match kind {
        LossKind::ModAbs { period } => {
            // mod(|d|, P) = |d| − P·⌊|d|/P⌋; the floor is piecewise constant, so
            // it enters as a detached tensor and the gradient is sign(d).
            let abs = diff.abs()?;
            let wraps = (abs.detach() / period)?.floor()?;
            (abs - (wraps * period)?)?
        }
        LossKind::BinaryCrossEntropy => {
            let one = output.ones_like()?;
            let a = (target * output.log()?)?;
            let b = ((&one - target)? * (&one - output)?.log()?)?;
            (a + b)?.neg()?
        }
        LossKind::Abs => diff.abs()?,
        LossKind::Squared => diff.sqr()?,
    };
    let weight = mask.sum_all()?;
    (elementwise * mask)?.sum_all()?.broadcast_div(&weight)
}

/// κ · mean of r² over the last `steps` steps of the rates `[T, B, N]`,
/// from the forward pass's `rate_power` when the model provides it. With
/// κ = 0 (Xie et al.) a constant 0 that adds nothing to the backward pass.
pub fn activity_penalty(
    fwd: &Forward,
    steps: usize,
    coefficient: f64,
) -> candle_core::Result<Tensor> {
    let (nt, nb, n) = fwd.rates.dims3()?;
    if coefficient == 0.0 || steps == 0 {
        return Tensor::zeros((), fwd.rates.dtype(), fwd.rates.device());
    }
    let k = steps.min(nt);
    match &fwd.rate_power {
        Some(p) => p.narrow(0, nt - k, k)?.sum_all()? * (coefficient / (k * nb * n) as f64),
        None => fwd.rates.narrow(0, nt - k, k)?.sqr()?.mean_all()? * coefficient,
    }
}

/// ρ · Σ_θ Σ θ² over `vars`.
pub fn weight_decay(vars: &[(&'static str, Var)], rho: f64) -> candle_core::Result<Tensor> {
    let mut total: Option<Tensor> = None;
    for (_, v) in vars {
        let s = v.as_tensor().sqr()?.sum_all()?;
        total = Some(match total {
            None => s,
            Some(t) => (t + s)?,
        });
    }
    match total {
        Some(t) => t * rho,
        None => candle_core::bail!("weight_decay: no parameters"),
    }
}
