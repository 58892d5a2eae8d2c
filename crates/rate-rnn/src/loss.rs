//! The training objective: task loss under the mask, an end-of-trial
//! activity penalty and weight decay (Orhan & Ma 2019, Methods; `utils.py` of
//! github.com/eminorhan/recurrent-memory).
//!
//! ```text
//! L = L_task + κ · mean_{b, t ∈ last k steps, i} h²  +  ρ · Σ_θ Σ θ²
//! ```
//!
//! with κ = 1e-4 (tethered: 1e-1), k = 5, and ρ over every trainable parameter,
//! biases included (Lasagne's `l2` has no ½).

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor, Var};
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

/// ρ · Σ_θ Σ θ² over `vars`; with ρ = 0 a constant 0 that adds nothing to
/// the backward pass.
pub fn weight_decay(vars: &[(&'static str, Var)], rho: f64) -> candle_core::Result<Tensor> {
    let Some((_, first)) = vars.first() else {
        candle_core::bail!("weight_decay: no parameters");
    };
    if rho == 0.0 {
        return Tensor::zeros((), first.dtype(), first.device());
    }
    let mut total: Option<Tensor> = None;
    for (_, v) in vars {
        let s = v.as_tensor().apply_op1(SumOfSquares)?;
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

/// `Σ θ²` of one tensor as a scalar, with the backward `2θ·g` in one pass
/// (as candle ops: a squared copy, a sum, then three parameter-sized
/// temporaries in the backward pass).
struct SumOfSquares;

impl CustomOp1 for SumOfSquares {
    fn name(&self) -> &'static str {
        "wm-sum-of-squares"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (a, b) = l.contiguous_offsets().ok_or_else(|| {
            candle_core::Error::Msg("weight_decay: non-contiguous parameter".into())
        })?;
        let out = match s {
            CpuStorage::F32(v) => CpuStorage::F32(vec![
                v[a..b].iter().map(|&x| f64::from(x * x)).sum::<f64>() as f32,
            ]),
            CpuStorage::F64(v) => CpuStorage::F64(vec![v[a..b].iter().map(|&x| x * x).sum()]),
            _ => candle_core::bail!("weight_decay: only f32 and f64 parameters"),
        };
        Ok((out, Shape::from(())))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let g = grad.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        Ok(Some(arg.affine(2.0 * g, 0.0)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn weight_decay_is_rho_times_the_sum_of_squares_with_gradient_two_rho_theta() {
        let dev = Device::Cpu;
        let a =
            Var::from_tensor(&Tensor::new(&[[1.0f32, -2.0], [0.5, 3.0]], &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::new(&[-1.5f32, 0.25], &dev).unwrap()).unwrap();
        let rho = 0.1;
        let wd = weight_decay(&[("a", a.clone()), ("b", b.clone())], rho).unwrap();
        let want = rho * (1.0 + 4.0 + 0.25 + 9.0 + 2.25 + 0.0625);
        assert!((f64::from(wd.to_scalar::<f32>().unwrap()) - want).abs() < 1e-6);
        let grads = wd.backward().unwrap();
        for v in [&a, &b] {
            let g: Vec<f32> = grads
                .get(v.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let theta: Vec<f32> = v.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            for (gi, ti) in g.iter().zip(&theta) {
                assert!((f64::from(*gi) - 2.0 * rho * f64::from(*ti)).abs() < 1e-6);
            }
        }
        // ρ = 0 is a constant: no gradient reaches the parameters.
        let zero = weight_decay(&[("a", a.clone())], 0.0).unwrap();
        assert_eq!(zero.to_scalar::<f32>().unwrap(), 0.0);
        assert!(zero.backward().unwrap().get(a.as_tensor()).is_none());
    }
}
