//! Yang-style continuous-time ("leaky") rate RNN with noise, as in Xie et
//! al. 2022 and Liu et al. 2021 (Xie et al. 2022, Methods; the network of
//! github.com/gyyang/multitask that their code reuses).
//!
//! ```text
//! z_t = x̃_t W_in + r_{t−1} W_rec + b_rec + √(2/α)·σ_rec·ξ_t
//! r_t = (1 − α)·r_{t−1} + α·φ(z_t),          r_{−1} = 0,  α = Δt/τ
//! ŷ_t = r_t W_out + b_out                     (the task applies the sigmoid)
//! x̃_t = x_t + √(2/α)·σ_x·η_t                  (input noise)
//! ```
//!
//! Row-vector convention: `W_rec[i, j]` is the weight from unit `i` (pre) to
//! unit `j` (post), as in the original TF kernel. The recurrent noise sits
//! **inside** the nonlinearity. Both noises are drawn from the caller's
//! seeded ChaCha8 RNG and uploaded as tensors (candle's RNG cannot be
//! seeded), so they enter the fused recurrence as part of the input drive
//! `u_t = x̃_t W_in + noise`, which candle computes outside the loop.
//!
//! Initialisation (every draw from the caller's RNG, in this order): `W_in`
//! ~ N(0, 1)/√n_in; `W_rec` = gain × a Haar-random orthogonal matrix (gain
//! 0.5 for softplus), so every eigenvalue has modulus 0.5; `W_out` ~
//! U(±√(6/(N + n_out))) (Glorot uniform); biases 0.
//!
//! Gradient clipping is elementwise on the parameter gradients (TF's
//! `clip_by_value(g, −1, 1)`), done by passing every parameter through an
//! identity op whose backward clips; see [`LeakyConfig::grad_clip_value`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};
use serde::{Deserialize, Serialize};
use wm_tasks::{OutputKind, TaskRng, TrialBatch};

use crate::checkpoint::{load_tensors, save_tensors};
use crate::error::{RateRnnError, Result};
use crate::model::{Forward, RateModel, check_sizes, input_dims, to_f64, var};
use crate::nonlinearity::Nonlinearity;
use crate::recurrence::{RecurrenceSpec, grad_clip, recurrence_with_readout};
use crate::train::batch_tensors;

/// Configuration of a [`Leaky`] network. Defaults are Xie et al.'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeakyConfig {
    /// Input channels `n_in` (Xie: 1 + 8 + 6 = 15).
    pub n_inputs: usize,
    /// Recurrent units `N` (256).
    pub n_units: usize,
    /// Output channels `n_out` (1 + 8 = 9).
    pub n_outputs: usize,
    /// Membrane time constant τ, ms (100).
    pub tau_ms: f64,
    /// Step Δt, ms (20).
    pub dt_ms: f64,
    /// Recurrent noise σ_rec in continuous units (0.05); the per-step s.d. is √(2/α)·σ_rec.
    pub sigma_rec: f64,
    /// Input noise σ_x in continuous units (0.01); per-step s.d. √(2/α)·σ_x.
    pub sigma_x: f64,
    /// Gain of the orthogonal recurrent initialisation (0.5 for softplus and ReLU, 1 for tanh).
    pub recurrent_gain: f64,
    /// Rate nonlinearity φ (softplus).
    pub nonlinearity: Nonlinearity,
    /// Clip every parameter gradient elementwise to `±value` (TF: 1); `None` for none.
    pub grad_clip_value: Option<f64>,
}

impl Default for LeakyConfig {
    fn default() -> Self {
        Self {
            n_inputs: 15,
            n_units: 256,
            n_outputs: 9,
            tau_ms: 100.0,
            dt_ms: 20.0,
            sigma_rec: 0.05,
            sigma_x: 0.01,
            recurrent_gain: 0.5,
            nonlinearity: Nonlinearity::Softplus,
            grad_clip_value: Some(1.0),
        }
    }
}

impl LeakyConfig {
    /// `α = Δt/τ`.
    pub fn alpha(&self) -> f64 {
        self.dt_ms / self.tau_ms
    }

    /// Per-step s.d. of the recurrent noise, `√(2/α)·σ_rec`.
    pub fn rec_noise_sd(&self) -> f64 {
        (2.0 / self.alpha()).sqrt() * self.sigma_rec
    }

    /// Per-step s.d. of the input noise, `√(2/α)·σ_x`.
    pub fn input_noise_sd(&self) -> f64 {
        (2.0 / self.alpha()).sqrt() * self.sigma_x
    }

    /// Check ranges; errors name the field and the allowed range.
    pub fn validate(&self) -> Result<()> {
        check_sizes(self.n_inputs, self.n_units, self.n_outputs)?;
        if !(self.tau_ms > 0.0 && self.dt_ms > 0.0 && self.dt_ms <= self.tau_ms) {
            return Err(RateRnnError::invalid(
                "dt_ms",
                format!("{} (tau_ms {})", self.dt_ms, self.tau_ms),
                "0 < dt_ms ≤ tau_ms",
            ));
        }
        for (f, v) in [
            ("sigma_rec", self.sigma_rec),
            ("sigma_x", self.sigma_x),
            ("recurrent_gain", self.recurrent_gain),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(RateRnnError::invalid(f, v, "finite, ≥ 0"));
            }
        }
        if let Some(c) = self.grad_clip_value
            && (c.is_nan() || c <= 0.0)
        {
            return Err(RateRnnError::invalid(
                "grad_clip_value",
                c,
                "> 0 (or absent)",
            ));
        }
        Ok(())
    }
}

/// Which noise sources a forward pass draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Noise {
    /// Input noise on every input channel.
    pub input: bool,
    /// Recurrent noise inside the nonlinearity.
    pub recurrent: bool,
}

impl Noise {
    /// Both sources (training and the evaluations that decide stopping).
    pub const TRAINING: Noise = Noise {
        input: true,
        recurrent: true,
    };
    /// Recurrent noise only (the recordings behind the rate analyses of Xie et al. 2022).
    pub const RECORDING: Noise = Noise {
        input: false,
        recurrent: true,
    };
    /// None (deterministic).
    pub const NONE: Noise = Noise {
        input: false,
        recurrent: false,
    };
}

/// The leaky softplus RNN of Xie et al. 2022.
pub struct Leaky {
    cfg: LeakyConfig,
    w_in: Var,
    w_rec: Var,
    b_rec: Var,
    w_out: Var,
    b_out: Var,
}

/// A Haar-random `n × n` orthogonal matrix (row-major): Gram–Schmidt (applied
/// twice for accuracy) on the columns of a standard Gaussian matrix, which is
/// QR with a positive-diagonal R and hence Haar-distributed (as scipy's
/// `ortho_group`).
pub fn haar_orthogonal<R: Rng>(rng: &mut R, n: usize) -> Vec<f64> {
    // Columns as rows of `q` for contiguous access.
    let mut q: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..n).map(|_| StandardNormal.sample(rng)).collect())
        .collect();
    for j in 0..n {
        for _pass in 0..2 {
            for i in 0..j {
                let (done, rest) = q.split_at_mut(j);
                let qi = &done[i];
                let qj = &mut rest[0];
                let d: f64 = qi.iter().zip(qj.iter()).map(|(a, b)| a * b).sum();
                for (x, &y) in qj.iter_mut().zip(qi) {
                    *x -= d * y;
                }
            }
        }
        let norm = q[j].iter().map(|x| x * x).sum::<f64>().sqrt();
        for x in &mut q[j] {
            *x /= norm;
        }
    }
    // Element (r, c) of the matrix is component r of column c.
    let mut out = vec![0.0; n * n];
    for (c, col) in q.iter().enumerate() {
        for (r, &v) in col.iter().enumerate() {
            out[r * n + c] = v;
        }
    }
    out
}

impl Leaky {
    /// A freshly initialised network; every draw comes from `rng` (W_in, then W_rec, then W_out).
    pub fn new<R: Rng>(cfg: LeakyConfig, dtype: DType, rng: &mut R) -> Result<Self> {
        cfg.validate()?;
        let (i, n, o) = (cfg.n_inputs, cfg.n_units, cfg.n_outputs);
        let sd_in = 1.0 / (i as f64).sqrt();
        let w_in: Vec<f64> = (0..i * n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                sd_in * z
            })
            .collect();
        let w_rec: Vec<f64> = haar_orthogonal(rng, n)
            .into_iter()
            .map(|v| cfg.recurrent_gain * v)
            .collect();
        let limit = (6.0 / (n + o) as f64).sqrt();
        let uni = Uniform::new_inclusive(-limit, limit).expect("finite limits");
        let w_out: Vec<f64> = (0..n * o).map(|_| uni.sample(rng)).collect();
        Ok(Self {
            w_in: var(w_in, &[i, n], dtype)?,
            w_rec: var(w_rec, &[n, n], dtype)?,
            b_rec: var(vec![0.0; n], &[n], dtype)?,
            w_out: var(w_out, &[n, o], dtype)?,
            b_out: var(vec![0.0; o], &[o], dtype)?,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LeakyConfig {
        &self.cfg
    }

    /// A parameter as plain `f64`, row-major (`w_in` `[I, N]`, `w_rec` `[N, N]`
    /// pre × post, `b_rec` `[N]`, `w_out` `[N, O]`, `b_out` `[O]`).
    pub fn parameter(&self, name: &str) -> Result<Vec<f64>> {
        let v = self
            .named_vars()
            .into_iter()
            .find(|(k, _)| *k == name)
            .ok_or_else(|| RateRnnError::Shape(format!("leaky: no parameter `{name}`")))?
            .1;
        to_f64(v.as_tensor())
    }

    fn param(&self, v: &Var) -> candle_core::Result<Tensor> {
        match self.cfg.grad_clip_value {
            Some(c) => grad_clip(v.as_tensor(), c),
            None => Ok(v.as_tensor().clone()),
        }
    }

    /// Standard-normal draws times `sd`, as a tensor of `shape` and `dtype`.
    fn noise_tensor(
        rng: &mut TaskRng,
        sd: f64,
        shape: (usize, usize, usize),
        dtype: DType,
    ) -> candle_core::Result<Tensor> {
        let len = shape.0 * shape.1 * shape.2;
        let sd = sd as f32;
        let v: Vec<f32> = (0..len)
            .map(|_| {
                let z: f32 = StandardNormal.sample(&mut *rng);
                sd * z
            })
            .collect();
        Tensor::from_vec(v, shape, &Device::Cpu)?.to_dtype(dtype)
    }

    /// Run on inputs `[T, B, I]` with the chosen noise sources drawn from
    /// `rng` (input noise `[T, B, I]` first, then recurrent noise `[T, B, N]`,
    /// in row-major order). With no noise, `rng` is not touched.
    pub fn forward_with(
        &self,
        input: &Tensor,
        update: Option<Arc<Vec<f32>>>,
        rng: &mut TaskRng,
        noise: Noise,
    ) -> candle_core::Result<Forward> {
        let (nt, nb, ni) = input_dims("leaky", input, self.cfg.n_inputs)?;
        let n = self.cfg.n_units;
        let dtype = input.dtype();
        let x = if noise.input && self.cfg.sigma_x > 0.0 {
            let eta = Self::noise_tensor(rng, self.cfg.input_noise_sd(), (nt, nb, ni), dtype)?;
            (input + eta)?
        } else {
            input.clone()
        };
        let xi = if noise.recurrent && self.cfg.sigma_rec > 0.0 {
            Some(Self::noise_tensor(
                rng,
                self.cfg.rec_noise_sd(),
                (nt, nb, n),
                dtype,
            )?)
        } else {
            None
        };
        let spec = RecurrenceSpec {
            phi: self.cfg.nonlinearity,
            alpha: self.cfg.alpha(),
            grad_clip: None,
            update,
        };
        Ok(recurrence_with_readout(
            &x,
            &self.param(&self.w_in)?,
            &self.param(&self.b_rec)?,
            &self.param(&self.w_rec)?,
            xi.as_ref(),
            &self.param(&self.w_out)?,
            &self.param(&self.b_out)?,
            &spec,
        )?
        .into())
    }
}

impl Leaky {
    /// Run on a batch with the given noise drawn from `rng`, without tracking
    /// gradients; returns plain arrays: rates `[T, B, N]` and the logistic
    /// outputs `[T, B, O]` (clipped as the loss clips them).
    pub fn run(
        &self,
        batch: &TrialBatch,
        noise: Noise,
        rng: &mut TaskRng,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let (input, _, _) = batch_tensors(batch, self.w_in.dtype())?;
        let fwd = self.forward_with(&input, batch.update.clone().map(Arc::new), rng, noise)?;
        let out = crate::loss::output(&fwd.readout.detach(), OutputKind::Sigmoid)?;
        let flat = |t: &Tensor| -> Result<Vec<f32>> {
            Ok(t.detach().to_dtype(DType::F32)?.flatten_all()?.to_vec1()?)
        };
        Ok((flat(&fwd.rates)?, flat(&out)?))
    }

    /// Write the parameters (no optimiser state) to a safetensors file with `metadata`.
    pub fn save(&self, path: &Path, metadata: HashMap<String, String>) -> Result<()> {
        let tensors: Vec<(String, Tensor)> = self
            .named_vars()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.as_tensor().clone()))
            .collect();
        save_tensors(path, &tensors, metadata)
    }

    /// Replace the parameters with those of a file written by [`Leaky::save`]
    /// (or a training checkpoint); returns the file's metadata.
    pub fn load(&self, path: &Path) -> Result<HashMap<String, String>> {
        let f = load_tensors(path)?;
        for (name, var) in self.named_vars() {
            let t = f.tensor(path, name)?;
            if t.dims() != var.dims() {
                return Err(RateRnnError::Checkpoint {
                    path: path.to_path_buf(),
                    reason: format!(
                        "`{name}` has shape {:?}, the model's is {:?}",
                        t.dims(),
                        var.dims()
                    ),
                });
            }
            var.set(&t.to_dtype(var.dtype())?)?;
        }
        Ok(f.metadata.clone())
    }
}

impl RateModel for Leaky {
    fn family(&self) -> &'static str {
        "leaky"
    }

    fn n_units(&self) -> usize {
        self.cfg.n_units
    }

    fn named_vars(&self) -> Vec<(&'static str, Var)> {
        vec![
            ("w_in", self.w_in.clone()),
            ("w_rec", self.w_rec.clone()),
            ("b_rec", self.b_rec.clone()),
            ("w_out", self.w_out.clone()),
            ("b_out", self.b_out.clone()),
        ]
    }

    /// The deterministic pass (no noise at all). Xie's analyses keep the
    /// recurrent noise on: use [`Leaky::forward_with`] with [`Noise::RECORDING`].
    fn forward(
        &self,
        input: &Tensor,
        update: Option<Arc<Vec<f32>>>,
    ) -> candle_core::Result<Forward> {
        let mut unused = <TaskRng as rand::SeedableRng>::seed_from_u64(0);
        self.forward_with(input, update, &mut unused, Noise::NONE)
    }

    /// Training: input and recurrent noise, both from `rng`.
    fn forward_noisy(
        &self,
        input: &Tensor,
        update: Option<Arc<Vec<f32>>>,
        rng: &mut TaskRng,
    ) -> candle_core::Result<Forward> {
        self.forward_with(input, update, rng, Noise::TRAINING)
    }
}
