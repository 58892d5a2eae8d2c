//! Adam with moments that are saved in checkpoints, so a resumed run continues
//! exactly where it stopped (candle-nn's `AdamW` keeps its moments private).
//!
//! The update follows Lasagne's Adam, which Orhan & Ma trained with: at step
//! `t` (from 1), `a_t = lr·√(1−β2ᵗ)/(1−β1ᵗ)` and `θ ← θ − a_t·m_t/(√v_t + ε)`,
//! i.e. ε is added before the bias correction of `v`.

use std::cell::RefCell;

use candle_core::{CpuStorage, InplaceOp2, Layout, Tensor, Var, backprop::GradStore};
use serde::{Deserialize, Serialize};

use crate::error::{RateRnnError, Result};
use crate::linalg::Real;

/// Adam's hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdamConfig {
    /// Learning rate (Orhan & Ma: 5e-4).
    pub learning_rate: f64,
    /// First-moment decay β1.
    pub beta1: f64,
    /// Second-moment decay β2.
    pub beta2: f64,
    /// ε added to √v.
    pub eps: f64,
    /// Rescale the gradient when its global L2 norm exceeds this; `None` for no clipping.
    pub clip_grad_norm: Option<f64>,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            learning_rate: 5e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            clip_grad_norm: None,
        }
    }
}

/// Adam's state for a fixed list of parameters.
///
/// The moments are plain vectors and every update is one in-place pass over
/// `(θ, g, m, v)` per parameter: as candle tensor arithmetic the update
/// allocates about ten parameter-sized temporaries per step.
pub struct Adam {
    cfg: AdamConfig,
    vars: Vec<(&'static str, Var)>,
    moments: Vec<Moments>,
    step: u64,
}

/// First and second moments of one parameter, in its element type.
enum Moments {
    F32 { m: Vec<f32>, v: Vec<f32> },
    F64 { m: Vec<f64>, v: Vec<f64> },
}

impl Moments {
    fn zeros(var: &Var) -> Result<Self> {
        let len = var.elem_count();
        Ok(match var.dtype() {
            candle_core::DType::F32 => Moments::F32 {
                m: vec![0.0; len],
                v: vec![0.0; len],
            },
            candle_core::DType::F64 => Moments::F64 {
                m: vec![0.0; len],
                v: vec![0.0; len],
            },
            other => {
                return Err(RateRnnError::Shape(format!(
                    "Adam supports f32 and f64 parameters, not {other:?}"
                )));
            }
        })
    }

    /// `(m, v)` as tensors of `var`'s shape.
    fn tensors(&self, var: &Var) -> Result<(Tensor, Tensor)> {
        let (shape, dev) = (var.shape(), var.device());
        Ok(match self {
            Moments::F32 { m, v } => (
                Tensor::from_slice(m, shape, dev)?,
                Tensor::from_slice(v, shape, dev)?,
            ),
            Moments::F64 { m, v } => (
                Tensor::from_slice(m, shape, dev)?,
                Tensor::from_slice(v, shape, dev)?,
            ),
        })
    }
}

impl Adam {
    /// Fresh state (zero moments, step 0) for `vars` (f32 or f64).
    pub fn new(vars: Vec<(&'static str, Var)>, cfg: AdamConfig) -> Result<Self> {
        let moments = vars
            .iter()
            .map(|(_, v)| Moments::zeros(v))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            cfg,
            vars,
            moments,
            step: 0,
        })
    }

    /// Updates taken so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The moments, named `m.<param>` and `v.<param>`, for checkpoints.
    pub fn moments(&self) -> Result<Vec<(String, Tensor)>> {
        let mut out = Vec::with_capacity(2 * self.vars.len());
        for ((name, var), mom) in self.vars.iter().zip(&self.moments) {
            let (m, v) = mom.tensors(var)?;
            out.push((format!("m.{name}"), m));
            out.push((format!("v.{name}"), v));
        }
        Ok(out)
    }

    /// Restore moments and step count saved by [`Adam::moments`].
    pub fn restore(&mut self, step: u64, get: impl Fn(&str) -> Option<Tensor>) -> Result<()> {
        for ((name, var), mom) in self.vars.iter().zip(&mut self.moments) {
            let mut pair = Vec::with_capacity(2);
            for prefix in ["m", "v"] {
                let key = format!("{prefix}.{name}");
                let t = get(&key).ok_or_else(|| {
                    RateRnnError::Shape(format!("optimizer state `{key}` is missing"))
                })?;
                if t.dims() != var.dims() {
                    return Err(RateRnnError::Shape(format!(
                        "optimizer state `{key}` has shape {:?}, parameter has {:?}",
                        t.dims(),
                        var.dims()
                    )));
                }
                pair.push(t.flatten_all()?.to_dtype(var.dtype())?);
            }
            *mom = match mom {
                Moments::F32 { .. } => Moments::F32 {
                    m: pair[0].to_vec1()?,
                    v: pair[1].to_vec1()?,
                },
                Moments::F64 { .. } => Moments::F64 {
                    m: pair[0].to_vec1()?,
                    v: pair[1].to_vec1()?,
                },
            };
        }
        self.step = step;
        Ok(())
    }

    /// Global L2 norm of the gradients of the optimised parameters.
    pub fn grad_norm(&self, grads: &GradStore) -> Result<f64> {
        let mut sq = 0.0;
        for (_, v) in &self.vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += g
                    .sqr()?
                    .sum_all()?
                    .to_dtype(candle_core::DType::F64)?
                    .to_scalar::<f64>()?;
            }
        }
        Ok(sq.sqrt())
    }

    /// One update from `grads`. A parameter without a gradient is left as is
    /// (its moments still decay, as a zero gradient would make them).
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let t = self.step as i32;
        let (b1, b2) = (self.cfg.beta1, self.cfg.beta2);
        let scale = match self.cfg.clip_grad_norm {
            Some(max) => {
                let norm = self.grad_norm(grads)?;
                if norm > max { max / norm } else { 1.0 }
            }
            None => 1.0,
        };
        for ((_, var), mom) in self.vars.iter().zip(&mut self.moments) {
            let g = match grads.get(var.as_tensor()) {
                Some(g) => g.contiguous()?,
                None => var.as_tensor().zeros_like()?,
            };
            let update = Update {
                scale,
                beta1: b1,
                beta2: b2,
                eps: self.cfg.eps,
                step_size: self.cfg.learning_rate * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t)),
                moments: RefCell::new(mom),
            };
            var.as_tensor().inplace_op2(&g, &update)?;
        }
        Ok(())
    }
}

/// The in-place update of one parameter θ from its gradient (see the module docs).
struct Update<'a> {
    /// Factor on the gradient (global-norm clipping; 1 without).
    scale: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// `lr·√(1−β2ᵗ)/(1−β1ᵗ)`.
    step_size: f64,
    moments: RefCell<&'a mut Moments>,
}

impl Update<'_> {
    /// `m ← β1 m + (1−β1) g`, `v ← β2 v + (1−β2) g²`, `θ ← θ − a_t m/(√v + ε)`,
    /// with `g` the scaled gradient, all in the parameter's element type.
    fn apply<T: Real>(&self, theta: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
        let c = |x: f64| T::from_f64(x);
        let (scale, b1, b2, eps, a_t) = (
            c(self.scale),
            c(self.beta1),
            c(self.beta2),
            c(self.eps),
            c(self.step_size),
        );
        let (nb1, nb2) = (c(1.0 - self.beta1), c(1.0 - self.beta2));
        assert!(
            g.len() == theta.len() && m.len() == theta.len() && v.len() == theta.len(),
            "Adam: parameter, gradient and moments differ in length"
        );
        for (((th, &gi), mi), vi) in theta.iter_mut().zip(g).zip(m).zip(v) {
            let gi = gi * scale;
            *mi = b1 * *mi + nb1 * gi;
            *vi = b2 * *vi + nb2 * (gi * gi);
            *th -= a_t * (*mi / (vi.sqrt() + eps));
        }
    }
}

impl InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "wm-adam"
    }

    fn cpu_fwd(
        &self,
        theta: &mut CpuStorage,
        theta_l: &Layout,
        g: &CpuStorage,
        g_l: &Layout,
    ) -> candle_core::Result<()> {
        let span = |l: &Layout| {
            l.contiguous_offsets()
                .ok_or_else(|| candle_core::Error::Msg("Adam: non-contiguous operand".into()))
        };
        let ((t0, t1), (g0, g1)) = (span(theta_l)?, span(g_l)?);
        let mut moments = self.moments.borrow_mut();
        match (theta, g, &mut **moments) {
            (CpuStorage::F32(th), CpuStorage::F32(g), Moments::F32 { m, v }) => {
                self.apply(&mut th[t0..t1], &g[g0..g1], m, v);
            }
            (CpuStorage::F64(th), CpuStorage::F64(g), Moments::F64 { m, v }) => {
                self.apply(&mut th[t0..t1], &g[g0..g1], m, v);
            }
            _ => candle_core::bail!("Adam: parameter, gradient and moments differ in dtype"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    /// Lasagne's Adam on plain numbers, with global-norm clipping.
    fn reference(theta: &mut [f64], grads: &[Vec<f64>], cfg: &AdamConfig) {
        let (mut m, mut v) = (vec![0.0; theta.len()], vec![0.0; theta.len()]);
        for (t, g) in grads.iter().enumerate() {
            let t = (t + 1) as i32;
            let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
            let scale = cfg
                .clip_grad_norm
                .map_or(1.0, |c| if norm > c { c / norm } else { 1.0 });
            let a_t =
                cfg.learning_rate * (1.0 - cfg.beta2.powi(t)).sqrt() / (1.0 - cfg.beta1.powi(t));
            for i in 0..theta.len() {
                let gi = g[i] * scale;
                m[i] = cfg.beta1 * m[i] + (1.0 - cfg.beta1) * gi;
                v[i] = cfg.beta2 * v[i] + (1.0 - cfg.beta2) * gi * gi;
                theta[i] -= a_t * m[i] / (v[i].sqrt() + cfg.eps);
            }
        }
    }

    #[test]
    fn updates_match_lasagne_adam_on_plain_numbers_and_resume_exactly() {
        let cfg = AdamConfig {
            learning_rate: 0.05,
            clip_grad_norm: Some(3.0),
            ..Default::default()
        };
        let init = [0.5, -1.5, 2.0, 0.25, -0.75, 1.0];
        let coef = Tensor::new(&[1.0f64, 2.0, 3.0, 0.5, 4.0, 1.5], &Device::Cpu).unwrap();
        let var = Var::from_tensor(&Tensor::new(&init, &Device::Cpu).unwrap()).unwrap();
        let mut adam = Adam::new(vec![("w", var.clone())], cfg).unwrap();
        let mut grads_seen = Vec::new();
        let mut saved = None;
        for k in 0..6 {
            // L = Σ cᵢ θᵢ², so ∂L/∂θ = 2 c θ (norms both above and below the clip).
            let loss = (var.as_tensor().sqr().unwrap() * &coef)
                .unwrap()
                .sum_all()
                .unwrap();
            let grads = loss.backward().unwrap();
            grads_seen.push(
                grads
                    .get(var.as_tensor())
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap(),
            );
            adam.step(&grads).unwrap();
            if k == 2 {
                saved = Some((var.as_tensor().copy().unwrap(), adam.moments().unwrap()));
            }
        }
        let mut want = init.to_vec();
        reference(&mut want, &grads_seen, &cfg);
        let got = var.as_tensor().to_vec1::<f64>().unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        // Resume from the state after three steps: the last three updates repeat exactly.
        let (theta3, moments) = saved.unwrap();
        let var2 = Var::from_tensor(&theta3).unwrap();
        let mut adam2 = Adam::new(vec![("w", var2.clone())], cfg).unwrap();
        adam2
            .restore(3, |k| {
                moments.iter().find(|(n, _)| n == k).map(|(_, t)| t.clone())
            })
            .unwrap();
        for _ in 3..6 {
            let loss = (var2.as_tensor().sqr().unwrap() * &coef)
                .unwrap()
                .sum_all()
                .unwrap();
            adam2.step(&loss.backward().unwrap()).unwrap();
        }
        assert_eq!(var2.as_tensor().to_vec1::<f64>().unwrap(), got);
        assert_eq!(var2.dtype(), DType::F64);
    }
}
