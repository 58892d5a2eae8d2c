//! Kim, Li & Sejnowski's continuous-time rate RNN with Dale's principle and
//! trainable per-unit synaptic time constants (Kim, Li & Sejnowski 2019, PNAS;
//! original code: github.com/rkim35/spikeRNN, `rate/`),
//! trained by its own loop ([`crate::train::kim`]).
//!
//! ```text
//! x_t = (1 − α) ⊙ x_{t−1} + α ⊙ (W_rec r_{t−1} + W_in u_t) + ξ_t,   ξ ~ N(0, σ²), σ = 0.1
//! r_t = sigmoid(x_t),   o_t = W_out r_t + b_out,   α_i = Δt / τ_i
//! τ_i = τ_min + sigmoid(θ_i)(τ_max − τ_min)           (or a fixed τ)
//! W_rec = relu(w) · diag(d),  d_j = +1 (excitatory) / −1 (inhibitory presynaptic unit j)
//! ```
//!
//! Matrices are `[post, pre]` (column j is presynaptic unit j), as in the
//! original code. The relu is applied as `w ⊙ 1[w > 0]` with the indicator
//! detached, so entries at or below zero get **zero** gradient (TensorFlow's
//! relu'(0) = 0; candle's own relu passes gradient at 0): the initial
//! sparsity never fills in and pruned connections stay pruned.
//! `W_in` is fixed; `w`, `W_out`, `b_out` and θ (trained-τ mode)
//! are trained. Noise and the initial state x₀ ~ N(0, 0.01²) are drawn from
//! the caller's seeded RNG ([`RateModel::forward_noisy`]).
//!
//! The recurrent loop is one fused op with a hand-written backward
//! ([`crate::recurrence::dale`]); the signed weights and α are built from the
//! trained variables by candle around it, so their gradients flow back
//! through the relu mask, the signs and τ(θ).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_distr::{Distribution, Normal, StandardNormal};
use serde::{Deserialize, Serialize};
use wm_tasks::TaskRng;

use crate::checkpoint::{load_tensors, save_tensors};
use crate::error::{RateRnnError, Result};
use crate::model::{Forward, RateModel, check_sizes, input_dims, tensor, to_f64, var};
use crate::recurrence::dale_recurrence;
use crate::recurrence::readout;

/// How units are made inhibitory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EiSplit {
    /// Each unit independently inhibitory with probability `p_inhibitory` (the code).
    #[default]
    Bernoulli,
    /// Exactly round(p_inhibitory · N) inhibitory units (the paper's "80/20").
    Fixed,
}

/// Synaptic decay constants τ^s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TauMode {
    /// τ_i = τ_min + sigmoid(θ_i)(τ_max − τ_min), θ_i ~ N(`theta_init_mean`, 1)
    /// (the original code: N(0, 1)), θ trained.
    #[default]
    Trained,
    /// τ_i = `tau_fixed_ms` for all units, not trained.
    Fixed,
}

/// Configuration of a [`DaleLeaky`] network. Defaults are the timescale papers'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaleConfig {
    /// Input channels.
    pub n_inputs: usize,
    /// Recurrent units N (200).
    pub n_units: usize,
    /// Output channels (1).
    pub n_outputs: usize,
    /// Probability that a unit is inhibitory (0.2).
    pub p_inhibitory: f64,
    /// Random or fixed E/I split.
    pub ei_split: EiSplit,
    /// Initial connection probability (0.2), diagonal included.
    pub p_connect: f64,
    /// Initial gain g (1.5): nonzero entries are |N(0, 1)| · g / √(N p).
    pub gain: f64,
    /// Trained or fixed τ^s.
    pub tau_mode: TauMode,
    /// Lower bound of trained τ^s, ms (20).
    pub tau_min_ms: f64,
    /// Upper bound of trained τ^s, ms (125).
    pub tau_max_ms: f64,
    /// τ^s of the fixed mode, ms (125).
    pub tau_fixed_ms: f64,
    /// Step Δt, ms (5).
    pub dt_ms: f64,
    /// Recurrent noise s.d. per step (0.1), added outside the Δt/τ factor.
    pub noise_sd: f64,
    /// S.d. of the initial state x₀ (0.01).
    pub init_state_sd: f64,
    /// S.d. of the initial output weights (0.01).
    pub w_out_sd: f64,
    /// Mean of the initial raw τ^s variable θ_i ~ N(mean, 1) of the trained
    /// mode (0, the original code's; its median τ^s is the range's middle).
    /// A diagnostic knob: +3 starts the median unit at τ_min + 0.95 (τ_max −
    /// τ_min). Not written to records while 0, so records of networks made
    /// before it existed still match.
    #[serde(skip_serializing_if = "is_zero")]
    pub theta_init_mean: f64,
}

/// Whether `v` is exactly 0 (the default of an optional shift).
fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Default for DaleConfig {
    fn default() -> Self {
        Self {
            n_inputs: 1,
            n_units: 200,
            n_outputs: 1,
            p_inhibitory: 0.2,
            ei_split: EiSplit::Bernoulli,
            p_connect: 0.2,
            gain: 1.5,
            tau_mode: TauMode::Trained,
            tau_min_ms: 20.0,
            tau_max_ms: 125.0,
            tau_fixed_ms: 125.0,
            dt_ms: 5.0,
            noise_sd: 0.1,
            init_state_sd: 0.01,
            w_out_sd: 0.01,
            theta_init_mean: 0.0,
        }
    }
}

impl DaleConfig {
    /// Check ranges; errors name the field and the allowed range.
    pub fn validate(&self) -> Result<()> {
        check_sizes(self.n_inputs, self.n_units, self.n_outputs)?;
        for (f, v) in [
            ("p_inhibitory", self.p_inhibitory),
            ("p_connect", self.p_connect),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(RateRnnError::invalid(f, v, "[0, 1]"));
            }
        }
        for (f, v) in [
            ("gain", self.gain),
            ("tau_min_ms", self.tau_min_ms),
            ("tau_fixed_ms", self.tau_fixed_ms),
            ("dt_ms", self.dt_ms),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(RateRnnError::invalid(f, v, "finite, > 0"));
            }
        }
        if !(self.tau_max_ms.is_finite() && self.tau_max_ms > self.tau_min_ms) {
            return Err(RateRnnError::invalid(
                "tau_max_ms",
                self.tau_max_ms,
                "finite, > tau_min_ms",
            ));
        }
        if self.tau_min_ms < self.dt_ms || self.tau_fixed_ms < self.dt_ms {
            return Err(RateRnnError::invalid(
                "tau_min_ms",
                self.tau_min_ms,
                "≥ dt_ms (α ≤ 1)",
            ));
        }
        if !self.theta_init_mean.is_finite() {
            return Err(RateRnnError::invalid(
                "theta_init_mean",
                self.theta_init_mean,
                "finite",
            ));
        }
        for (f, v) in [
            ("noise_sd", self.noise_sd),
            ("init_state_sd", self.init_state_sd),
            ("w_out_sd", self.w_out_sd),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(RateRnnError::invalid(f, v, "finite, ≥ 0"));
            }
        }
        Ok(())
    }
}

/// The Dale's-law leaky sigmoid network of Kim et al.
pub struct DaleLeaky {
    pub(crate) cfg: DaleConfig,
    /// Pre-relu recurrent variable `[post, pre]`.
    pub(crate) w: Var,
    /// Presynaptic signs `d` (+1 E, −1 I), `[N]`.
    pub(crate) sign: Vec<f64>,
    /// Fixed input weights `[N, I]`.
    pub(crate) w_in: Tensor,
    /// Raw τ variable θ `[N]`.
    pub(crate) theta: Var,
    /// Output weights `[O, N]`.
    pub(crate) w_out: Var,
    /// Output bias `[O]`.
    pub(crate) b_out: Var,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl DaleLeaky {
    /// A freshly initialised network (initialised as the original code,
    /// github.com/rkim35/spikeRNN, does); every draw comes from `rng`.
    pub fn new<R: Rng>(cfg: DaleConfig, dtype: DType, rng: &mut R) -> Result<Self> {
        cfg.validate()?;
        let (n, ni, no) = (cfg.n_units, cfg.n_inputs, cfg.n_outputs);
        let inhibitory: Vec<bool> = match cfg.ei_split {
            EiSplit::Bernoulli => (0..n)
                .map(|_| rng.random::<f64>() < cfg.p_inhibitory)
                .collect(),
            EiSplit::Fixed => {
                let k = (cfg.p_inhibitory * n as f64).round() as usize;
                // A random subset of size k (partial Fisher–Yates).
                let mut idx: Vec<usize> = (0..n).collect();
                for i in 0..k.min(n) {
                    let j = rng.random_range(i..n);
                    idx.swap(i, j);
                }
                let mut v = vec![false; n];
                for &i in &idx[..k.min(n)] {
                    v[i] = true;
                }
                v
            }
        };
        let sign: Vec<f64> = inhibitory
            .iter()
            .map(|&i| if i { -1.0 } else { 1.0 })
            .collect();
        let scale = cfg.gain / (n as f64 * cfg.p_connect).sqrt();
        let mut w = vec![0.0; n * n];
        for v in w.iter_mut() {
            let on = rng.random::<f64>() < cfg.p_connect;
            let z: f64 = StandardNormal.sample(rng);
            if on {
                *v = z.abs() * scale;
            }
        }
        let w_in: Vec<f64> = (0..n * ni).map(|_| StandardNormal.sample(rng)).collect();
        let w_out: Vec<f64> = (0..no * n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                z * cfg.w_out_sd
            })
            .collect();
        let theta: Vec<f64> = (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                z + cfg.theta_init_mean
            })
            .collect();
        Ok(Self {
            w: var(w, &[n, n], dtype)?,
            sign,
            w_in: tensor(w_in, &[n, ni], dtype)?,
            theta: var(theta, &[n], dtype)?,
            w_out: var(w_out, &[no, n], dtype)?,
            b_out: var(vec![0.0; no], &[no], dtype)?,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DaleConfig {
        &self.cfg
    }

    /// Presynaptic signs d_j (+1 excitatory, −1 inhibitory).
    pub fn signs(&self) -> &[f64] {
        &self.sign
    }

    pub(crate) fn dtype(&self) -> DType {
        self.w.dtype()
    }

    /// Effective signed recurrent matrix `relu(w)·diag(d)` `[post, pre]`, tracked.
    fn w_rec_tensor(&self) -> candle_core::Result<Tensor> {
        let n = self.cfg.n_units;
        let w = self.w.as_tensor();
        let positive = w.gt(&w.zeros_like()?)?.to_dtype(w.dtype())?.detach();
        let sign =
            Tensor::from_vec(self.sign.clone(), (1, n), &Device::Cpu)?.to_dtype(w.dtype())?;
        (w * positive)?.broadcast_mul(&sign)
    }

    /// α = Δt/τ `[N]` (tracked through θ in the trained mode).
    fn alpha_tensor(&self) -> candle_core::Result<Tensor> {
        let c = &self.cfg;
        match c.tau_mode {
            TauMode::Fixed => {
                let a = c.dt_ms / c.tau_fixed_ms;
                Tensor::full(a, c.n_units, &Device::Cpu)?.to_dtype(self.dtype())
            }
            TauMode::Trained => {
                let tau = ((candle_nn::ops::sigmoid(self.theta.as_tensor())?
                    * (c.tau_max_ms - c.tau_min_ms))?
                    + c.tau_min_ms)?;
                tau.recip()? * c.dt_ms
            }
        }
    }

    /// Signed recurrent matrix `[post, pre]`, row-major.
    pub fn w_rec(&self) -> Result<Vec<f64>> {
        to_f64(&self.w_rec_tensor()?)
    }

    /// Synaptic decay constants τ^s_i in ms.
    pub fn tau_ms(&self) -> Result<Vec<f64>> {
        let c = &self.cfg;
        Ok(match c.tau_mode {
            TauMode::Fixed => vec![c.tau_fixed_ms; c.n_units],
            TauMode::Trained => to_f64(self.theta.as_tensor())?
                .into_iter()
                .map(|th| c.tau_min_ms + sigmoid(th) * (c.tau_max_ms - c.tau_min_ms))
                .collect(),
        })
    }

    /// Plain arrays of the network (for conversion to spikes and for checkpoints).
    pub fn arrays(&self) -> Result<DaleArrays> {
        Ok(DaleArrays {
            n_units: self.cfg.n_units,
            n_inputs: self.cfg.n_inputs,
            n_outputs: self.cfg.n_outputs,
            w_rec: self.w_rec()?,
            w_in: to_f64(&self.w_in)?,
            w_out: to_f64(self.w_out.as_tensor())?,
            b_out: to_f64(self.b_out.as_tensor())?,
            tau_ms: self.tau_ms()?,
            sign: self.sign.clone(),
            dt_ms: self.cfg.dt_ms,
        })
    }

    /// Save the network to a safetensors file: `w` (pre-relu variable),
    /// `w_rec` (signed, `[post, pre]`), `w_in` `[N, I]`, `w_out` `[O, N]`,
    /// `b_out` `[O]`, `theta`, `tau_ms` `[N]`, `sign` `[N]`, all f32, with
    /// the config (TOML) and `extra` in the metadata.
    pub fn save(&self, path: &Path, extra: HashMap<String, String>) -> Result<()> {
        let a = self.arrays()?;
        let (n, ni, no) = (a.n_units, a.n_inputs, a.n_outputs);
        let f32t = |v: &[f64], shape: &[usize]| -> Result<Tensor> {
            Ok(Tensor::from_vec(
                v.iter().map(|&x| x as f32).collect::<Vec<f32>>(),
                shape,
                &Device::Cpu,
            )?)
        };
        let tensors = vec![
            (
                "w".to_string(),
                f32t(&to_f64(self.w.as_tensor())?, &[n, n])?,
            ),
            ("w_rec".to_string(), f32t(&a.w_rec, &[n, n])?),
            ("w_in".to_string(), f32t(&a.w_in, &[n, ni])?),
            ("w_out".to_string(), f32t(&a.w_out, &[no, n])?),
            ("b_out".to_string(), f32t(&a.b_out, &[no])?),
            (
                "theta".to_string(),
                f32t(&to_f64(self.theta.as_tensor())?, &[n])?,
            ),
            ("tau_ms".to_string(), f32t(&a.tau_ms, &[n])?),
            ("sign".to_string(), f32t(&a.sign, &[n])?),
        ];
        let mut meta = extra;
        meta.insert("family".into(), self.family().into());
        meta.insert(
            "dale_config".into(),
            toml::to_string(&self.cfg).unwrap_or_default(),
        );
        save_tensors(path, &tensors, meta)
    }

    /// Restore the trainable parameters (and `w_in`, signs) saved by
    /// [`DaleLeaky::save`] into this network of the same shape.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let f = load_tensors(path)?;
        let n = self.cfg.n_units;
        let dtype = self.dtype();
        let get = |name: &str, dims: &[usize]| -> Result<Tensor> {
            let t = f.tensor(path, name)?;
            if t.dims() != dims {
                return Err(RateRnnError::Checkpoint {
                    path: path.to_path_buf(),
                    reason: format!("`{name}` has shape {:?}, the model's is {dims:?}", t.dims()),
                });
            }
            Ok(t.to_dtype(dtype)?)
        };
        self.w.set(&get("w", &[n, n])?)?;
        self.theta.set(&get("theta", &[n])?)?;
        self.w_out.set(&get("w_out", &[self.cfg.n_outputs, n])?)?;
        self.b_out.set(&get("b_out", &[self.cfg.n_outputs])?)?;
        self.w_in = get("w_in", &[n, self.cfg.n_inputs])?;
        self.sign = to_f64(&get("sign", &[n])?)?;
        Ok(())
    }

    fn run(&self, input: &Tensor, noise: Option<(Tensor, Tensor)>) -> candle_core::Result<Forward> {
        let c = &self.cfg;
        let (nt, nb, ni) = input_dims("dale", input, c.n_inputs)?;
        let n = c.n_units;
        let dtype = self.dtype();
        // Untracked: W_in is fixed, so the projection may be sliced per step.
        let drive_in = input
            .to_dtype(dtype)?
            .reshape((nt * nb, ni))?
            .matmul(&self.w_in.t()?)?
            .reshape((nt, nb, n))?;
        let w_t = self.w_rec_tensor()?.t()?; // [pre, post]
        let alpha = self.alpha_tensor()?;
        let (x0, xi) = match &noise {
            Some((x0, xi)) => (Some(x0), Some(xi)),
            None => (None, None),
        };
        let rates = dale_recurrence(&drive_in, &w_t, &alpha, x0, xi)?;
        let readout = readout(&rates, &self.w_out.as_tensor().t()?, self.b_out.as_tensor())?;
        Ok(Forward {
            rates,
            readout,
            rate_power: None,
        })
    }

    fn draw_noise(
        &self,
        nt: usize,
        nb: usize,
        rng: &mut TaskRng,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let c = &self.cfg;
        let n = c.n_units;
        let normal = |sd: f64, k: usize, rng: &mut TaskRng| -> Vec<f64> {
            match Normal::new(0.0, sd) {
                Ok(d) if sd > 0.0 => (0..k).map(|_| d.sample(rng)).collect(),
                _ => vec![0.0; k],
            }
        };
        let x0 = normal(c.init_state_sd, nb * n, rng);
        let xi = normal(c.noise_sd, nt * nb * n, rng);
        let dtype = self.dtype();
        Ok((
            Tensor::from_vec(x0, (nb, n), &Device::Cpu)?.to_dtype(dtype)?,
            Tensor::from_vec(xi, (nt, nb, n), &Device::Cpu)?.to_dtype(dtype)?,
        ))
    }
}

/// A Dale network's parameters as plain arrays (row-major, f64).
#[derive(Debug, Clone, PartialEq)]
pub struct DaleArrays {
    /// N.
    pub n_units: usize,
    /// I.
    pub n_inputs: usize,
    /// O.
    pub n_outputs: usize,
    /// Signed recurrent weights `[post, pre]`.
    pub w_rec: Vec<f64>,
    /// Input weights `[N, I]`.
    pub w_in: Vec<f64>,
    /// Output weights `[O, N]`.
    pub w_out: Vec<f64>,
    /// Output bias `[O]`.
    pub b_out: Vec<f64>,
    /// τ^s per unit, ms.
    pub tau_ms: Vec<f64>,
    /// Presynaptic signs (+1 / −1).
    pub sign: Vec<f64>,
    /// Step of the rate model, ms.
    pub dt_ms: f64,
}

impl RateModel for DaleLeaky {
    fn family(&self) -> &'static str {
        "dale_leaky"
    }

    fn n_units(&self) -> usize {
        self.cfg.n_units
    }

    fn named_vars(&self) -> Vec<(&'static str, Var)> {
        let mut v = vec![
            ("w", self.w.clone()),
            ("w_out", self.w_out.clone()),
            ("b_out", self.b_out.clone()),
        ];
        if self.cfg.tau_mode == TauMode::Trained {
            v.push(("theta", self.theta.clone()));
        }
        v
    }

    fn forward(
        &self,
        input: &Tensor,
        update: Option<Arc<Vec<f32>>>,
    ) -> candle_core::Result<Forward> {
        if update.is_some() {
            candle_core::bail!("dale: variable-length trials are not supported");
        }
        self.run(input, None)
    }

    fn forward_noisy(
        &self,
        input: &Tensor,
        update: Option<Arc<Vec<f32>>>,
        rng: &mut TaskRng,
    ) -> candle_core::Result<Forward> {
        if update.is_some() {
            candle_core::bail!("dale: variable-length trials are not supported");
        }
        let (nt, nb, _) = input.dims3()?;
        let noise = self.draw_noise(nt, nb, rng)?;
        self.run(input, Some(noise))
    }
}
