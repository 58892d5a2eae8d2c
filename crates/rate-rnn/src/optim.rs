//! Adam with moments that are saved in checkpoints, so a resumed run continues
//! exactly where it stopped (candle-nn's `AdamW` keeps its moments private).
//!
//! The update follows Lasagne's Adam, which Orhan & Ma trained with: at step
//! `t` (from 1), `a_t = lr·√(1−β2ᵗ)/(1−β1ᵗ)` and `θ ← θ − a_t·m_t/(√v_t + ε)`,
//! i.e. ε is added before the bias correction of `v`.

use candle_core::{Tensor, Var, backprop::GradStore};
use serde::{Deserialize, Serialize};

use crate::error::{RateRnnError, Result};

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
pub struct Adam {
    cfg: AdamConfig,
    vars: Vec<(&'static str, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: u64,
}

impl Adam {
    /// Fresh state (zero moments, step 0) for `vars`.
    pub fn new(vars: Vec<(&'static str, Var)>, cfg: AdamConfig) -> Result<Self> {
        let m = vars
            .iter()
            .map(|(_, v)| v.as_tensor().zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let v = m.clone();
        Ok(Self {
            cfg,
            vars,
            m,
            v,
            step: 0,
        })
    }

    /// Updates taken so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The moments, named `m.<param>` and `v.<param>`, for checkpoints.
    pub fn moments(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.vars.len());
        for (k, (name, _)) in self.vars.iter().enumerate() {
            out.push((format!("m.{name}"), self.m[k].clone()));
            out.push((format!("v.{name}"), self.v[k].clone()));
        }
        out
    }

    /// Restore moments and step count saved by [`Adam::moments`].
    pub fn restore(&mut self, step: u64, get: impl Fn(&str) -> Option<Tensor>) -> Result<()> {
        for (k, (name, var)) in self.vars.iter().enumerate() {
            for (prefix, slot) in [("m", &mut self.m[k]), ("v", &mut self.v[k])] {
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
                *slot = t.to_dtype(var.dtype())?;
            }
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
        let a_t = self.cfg.learning_rate * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
        let scale = match self.cfg.clip_grad_norm {
            Some(max) => {
                let norm = self.grad_norm(grads)?;
                if norm > max { max / norm } else { 1.0 }
            }
            None => 1.0,
        };
        for (k, (_, var)) in self.vars.iter().enumerate() {
            let g = match grads.get(var.as_tensor()) {
                Some(g) => (g * scale)?,
                None => var.as_tensor().zeros_like()?,
            };
            self.m[k] = ((&self.m[k] * b1)? + (&g * (1.0 - b1))?)?;
            self.v[k] = ((&self.v[k] * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let update = (&self.m[k] / (self.v[k].sqrt()? + self.cfg.eps)?)?;
            var.set(&(var.as_tensor() - (update * a_t)?)?)?;
        }
        Ok(())
    }
}
