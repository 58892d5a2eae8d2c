//! Orhan & Ma's discrete-time vanilla RNN (Orhan & Ma 2019; `models.py` and
//! `LeInit.py` of github.com/eminorhan/recurrent-memory).
//!
//! ```text
//! a_t = x_t W_in + b_in + h_{t−1} W_hh + b_hh,   h_t = φ(a_t),   ŷ_t = h_t W_out + b_out
//! ```
//!
//! Row-vector convention as in the original Lasagne code: `W_hh[i, j]` is the
//! weight from unit `i` (pre) to unit `j` (post). The recurrent matrix starts at
//! `λ0·I + E` with off-diagonal `E_ij ~ N(0, σ0²/N)`; input and output weights are
//! Glorot-normal with gain 0.95; biases start at 0. Two bias vectors (`b_in`,
//! `b_hh`) are kept, as in the original, so the weight penalty ρΣθ² and Adam
//! see the same parameters.
//!
//! The fast-weights (Hebbian) variant (the original code's
//! `CustomRecurrentLayerWithFastWeights.py`) adds
//! `γ·clip(⟨h_{t−2}, h_{t−1}⟩, 0, 100)·h_{t−2}` to `a_t`; it runs on per-step candle ops, as does the [`RecurrencePath::Reference`]
//! path that tests use to check the fused recurrence.

use std::sync::Arc;

use candle_core::{DType, Tensor, Var};
use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::error::{RateRnnError, Result};
use crate::model::{Forward, RateModel, check_sizes, input_dims, to_f64, var};
use crate::nonlinearity::Nonlinearity;
use crate::recurrence::{RecurrenceSpec, grad_clip, readout_with_power, recurrence_with_readout};

/// Configuration of a [`Vanilla`] network. Defaults are Orhan & Ma's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VanillaConfig {
    /// Input channels `I`.
    pub n_inputs: usize,
    /// Recurrent units `N` (paper: 500).
    pub n_units: usize,
    /// Output channels `O`.
    pub n_outputs: usize,
    /// Initial self-coupling λ0 (diagonal of `W_hh`).
    pub lambda0: f64,
    /// Initial off-diagonal coupling σ0: entries have s.d. σ0/√N.
    pub sigma0: f64,
    /// Rate nonlinearity φ.
    pub nonlinearity: Nonlinearity,
    /// Elementwise bound on `∂L/∂a_t` during BPTT (paper: 100); `None` for none.
    pub grad_clip: Option<f64>,
    /// Hebbian fast weights (paper's "Hebbian" condition); `None` for the plain network.
    pub fast_weights: Option<FastWeights>,
    /// Gain of the Glorot-normal input and output initialisation (paper: 0.95).
    pub glorot_gain: f64,
}

impl Default for VanillaConfig {
    fn default() -> Self {
        Self {
            n_inputs: 50,
            n_units: 500,
            n_outputs: 1,
            lambda0: 0.9,
            sigma0: 0.0,
            nonlinearity: Nonlinearity::Relu,
            grad_clip: Some(100.0),
            fast_weights: None,
            glorot_gain: 0.95,
        }
    }
}

/// The fast-weights term of Orhan & Ma's Hebbian condition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FastWeights {
    /// Hebbian coefficient γ (paper: 0.0007).
    pub gamma: f64,
}

impl VanillaConfig {
    /// Check ranges; errors name the field and the allowed range.
    pub fn validate(&self) -> Result<()> {
        check_sizes(self.n_inputs, self.n_units, self.n_outputs)?;
        if !(self.lambda0.is_finite() && self.lambda0 >= 0.0) {
            return Err(RateRnnError::invalid(
                "lambda0",
                self.lambda0,
                "finite, ≥ 0",
            ));
        }
        if !(self.sigma0.is_finite() && self.sigma0 >= 0.0) {
            return Err(RateRnnError::invalid("sigma0", self.sigma0, "finite, ≥ 0"));
        }
        if let Some(c) = self.grad_clip
            && (c.is_nan() || c <= 0.0)
        {
            return Err(RateRnnError::invalid("grad_clip", c, "> 0 (or absent)"));
        }
        if !(self.glorot_gain > 0.0 && self.glorot_gain.is_finite()) {
            return Err(RateRnnError::invalid(
                "glorot_gain",
                self.glorot_gain,
                "finite, > 0",
            ));
        }
        if let Nonlinearity::Sigmoid = self.nonlinearity {
            return Err(RateRnnError::invalid(
                "nonlinearity",
                "sigmoid",
                "relu, clipped_relu, elu or softplus",
            ));
        }
        if let Nonlinearity::ClippedRelu { r_max } = self.nonlinearity
            && (r_max.is_nan() || r_max <= 0.0)
        {
            return Err(RateRnnError::invalid("nonlinearity.r_max", r_max, "> 0"));
        }
        Ok(())
    }
}

/// How the recurrent loop is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecurrencePath {
    /// The fused op with a hand-written backward (fast; the default).
    #[default]
    Fused,
    /// Per-step candle ops (slow; the independent reference for tests).
    Reference,
}

/// Orhan & Ma's vanilla RNN.
pub struct Vanilla {
    cfg: VanillaConfig,
    w_in: Var,
    b_in: Var,
    w_hh: Var,
    b_hh: Var,
    w_out: Var,
    b_out: Var,
    path: RecurrencePath,
}

fn normal_vec<R: Rng>(rng: &mut R, n: usize, sd: f64) -> Vec<f64> {
    if sd == 0.0 {
        return vec![0.0; n];
    }
    let d = Normal::new(0.0, sd).expect("finite positive s.d.");
    (0..n).map(|_| d.sample(rng)).collect()
}

impl Vanilla {
    /// A freshly initialised network; every draw comes from `rng`.
    pub fn new<R: Rng>(cfg: VanillaConfig, dtype: DType, rng: &mut R) -> Result<Self> {
        cfg.validate()?;
        let (i, n, o) = (cfg.n_inputs, cfg.n_units, cfg.n_outputs);
        let glorot = |fan_in: usize, fan_out: usize| {
            cfg.glorot_gain * (2.0 / (fan_in + fan_out) as f64).sqrt()
        };
        let w_in = normal_vec(rng, i * n, glorot(i, n));
        let sd = cfg.sigma0 / (n as f64).sqrt();
        let mut w_hh = normal_vec(rng, n * n, sd);
        for k in 0..n {
            w_hh[k * n + k] = cfg.lambda0;
        }
        let w_out = normal_vec(rng, n * o, glorot(n, o));
        Ok(Self {
            w_in: var(w_in, &[i, n], dtype)?,
            b_in: var(vec![0.0; n], &[n], dtype)?,
            w_hh: var(w_hh, &[n, n], dtype)?,
            b_hh: var(vec![0.0; n], &[n], dtype)?,
            w_out: var(w_out, &[n, o], dtype)?,
            b_out: var(vec![0.0; o], &[o], dtype)?,
            cfg,
            path: RecurrencePath::Fused,
        })
    }

    /// Choose how the recurrent loop is computed (the fast-weights variant
    /// always runs per step).
    pub fn with_path(mut self, path: RecurrencePath) -> Self {
        self.path = path;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &VanillaConfig {
        &self.cfg
    }

    /// The recurrent matrix `[N, N]` (pre × post) as plain `f64`, row-major.
    pub fn w_hh(&self) -> Result<Vec<f64>> {
        to_f64(self.w_hh.as_tensor())
    }

    fn per_step(&self, input: &Tensor, update: Option<&[f32]>) -> candle_core::Result<Tensor> {
        let (nt, nb, _) = input.dims3()?;
        let n = self.cfg.n_units;
        let bias = (self.b_in.as_tensor() + self.b_hh.as_tensor())?;
        let clip = self.cfg.grad_clip;
        let mut hs: Vec<Tensor> = Vec::with_capacity(nt);
        let zero = Tensor::zeros((nb, n), input.dtype(), input.device())?;
        for t in 0..nt {
            // Input rows are untracked, so slicing them per step costs nothing in backward.
            let x_t = input.get(t)?;
            let h1 = if t > 0 {
                hs[t - 1].clone()
            } else {
                zero.clone()
            };
            let mut a = (x_t.matmul(self.w_in.as_tensor())?.broadcast_add(&bias)?
                + h1.matmul(self.w_hh.as_tensor())?)?;
            if let Some(c) = clip {
                a = grad_clip(&a, c)?;
            }
            if let Some(fw) = self.cfg.fast_weights {
                let h2 = if t > 1 {
                    hs[t - 2].clone()
                } else {
                    zero.clone()
                };
                let inner = (&h2 * &h1)?.sum_keepdim(1)?.clamp(0.0, 100.0)?;
                a = (a + (h2.broadcast_mul(&inner)? * fw.gamma)?)?;
            }
            let mut h = phi_tensor(&a, self.cfg.nonlinearity)?;
            if let Some(m) = update {
                let m_t =
                    Tensor::from_vec(m[t * nb..(t + 1) * nb].to_vec(), (nb, 1), input.device())?
                        .to_dtype(input.dtype())?;
                let keep = (m_t.ones_like()? - &m_t)?;
                h = (h.broadcast_mul(&m_t)? + h1.broadcast_mul(&keep)?)?;
            }
            hs.push(h);
        }
        Tensor::stack(&hs, 0)
    }
}

/// φ applied with candle ops (differentiable), for the per-step path.
fn phi_tensor(a: &Tensor, phi: Nonlinearity) -> candle_core::Result<Tensor> {
    match phi {
        Nonlinearity::Relu => a.relu(),
        Nonlinearity::ClippedRelu { r_max } => a.relu()?.clamp(0.0, r_max),
        Nonlinearity::Elu => a.elu(1.0),
        Nonlinearity::Softplus => a.relu()? + (a.abs()?.neg()?.exp()? + 1.0)?.log()?,
        Nonlinearity::Sigmoid => candle_nn::ops::sigmoid(a),
    }
}

impl RateModel for Vanilla {
    fn family(&self) -> &'static str {
        "vanilla"
    }

    fn n_units(&self) -> usize {
        self.cfg.n_units
    }

    fn named_vars(&self) -> Vec<(&'static str, Var)> {
        vec![
            ("w_in", self.w_in.clone()),
            ("b_in", self.b_in.clone()),
            ("w_hh", self.w_hh.clone()),
            ("b_hh", self.b_hh.clone()),
            ("w_out", self.w_out.clone()),
            ("b_out", self.b_out.clone()),
        ]
    }

    fn forward(
        &self,
        input: &Tensor,
        update: Option<Arc<Vec<f32>>>,
    ) -> candle_core::Result<Forward> {
        input_dims("vanilla", input, self.cfg.n_inputs)?;
        if self.cfg.fast_weights.is_some() || self.path == RecurrencePath::Reference {
            let rates = self.per_step(input, update.as_deref().map(Vec::as_slice))?;
            let (readout, rate_power) =
                readout_with_power(&rates, self.w_out.as_tensor(), self.b_out.as_tensor())?;
            return Ok(Forward {
                rates,
                readout,
                rate_power: Some(rate_power),
            });
        }
        let bias = (self.b_in.as_tensor() + self.b_hh.as_tensor())?;
        let spec = RecurrenceSpec {
            phi: self.cfg.nonlinearity,
            alpha: 1.0,
            grad_clip: self.cfg.grad_clip,
            update,
        };
        Ok(recurrence_with_readout(
            input,
            self.w_in.as_tensor(),
            &bias,
            self.w_hh.as_tensor(),
            None,
            self.w_out.as_tensor(),
            self.b_out.as_tensor(),
            &spec,
        )?
        .into())
    }
}
