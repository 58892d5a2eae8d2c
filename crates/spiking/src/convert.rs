//! Rate → LIF conversion (Kim, Li & Sejnowski 2019, PNAS; the original
//! MATLAB code, github.com/rkim35/spikeRNN, `spiking/`): recurrent and output weights
//! divided by the scaling factor s (= 1/λ), inputs unchanged, each unit's
//! trained τ^s as its synaptic decay, the output bias dropped; and the grid
//! search over s scored by LIF task accuracy.
//!
//! A rate network is read as plain arrays ([`RateArrays`]), from memory or
//! from a safetensors checkpoint holding `w_rec` `[N, N]` (signed, post ×
//! pre), `w_in` `[N, I]`, `w_out` `[O, N]`, `tau_ms` `[N]` and optionally
//! `b_out` `[O]` (f32 or f64), as `wm_rate_rnn::dale::DaleLeaky::save`
//! writes them. No candle here.

use std::path::Path;

use rand::SeedableRng;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use wm_tasks::{Task, TaskRng};

use crate::error::{Result, SpikingError, param};
use crate::lif::LifParams;
use crate::network::{LifNetwork, SimOptions};
use crate::real::Real;

/// A trained rate network's arrays (row-major, f64).
#[derive(Debug, Clone, PartialEq)]
pub struct RateArrays {
    /// Signed recurrent weights `[N, N]`, post × pre.
    pub w_rec: Vec<f64>,
    /// Input weights `[N, I]`.
    pub w_in: Vec<f64>,
    /// Output weights `[O, N]`.
    pub w_out: Vec<f64>,
    /// Output bias `[O]` (dropped by default in conversion).
    pub b_out: Vec<f64>,
    /// Synaptic decay τ^s per unit, ms.
    pub tau_ms: Vec<f64>,
    /// N.
    pub n_units: usize,
    /// I.
    pub n_inputs: usize,
    /// O.
    pub n_outputs: usize,
}

fn shape_err(src: &str, tensor: &str, problem: String) -> SpikingError {
    SpikingError::Shape {
        source_name: src.into(),
        tensor: tensor.into(),
        problem,
    }
}

impl RateArrays {
    /// Check that the arrays fit together: N from `tau_ms`, `w_rec` N × N,
    /// `w_in` N × I, `w_out` O × N, `b_out` empty or O.
    pub fn validate(&self, src: &str) -> Result<()> {
        let (n, i, o) = (self.n_units, self.n_inputs, self.n_outputs);
        let check = |t: &str, got: usize, want: usize, what: String| {
            if got == want {
                Ok(())
            } else {
                Err(shape_err(
                    src,
                    t,
                    format!("has {got} values, expected {want} ({what})"),
                ))
            }
        };
        check("tau_ms", self.tau_ms.len(), n, format!("N = {n}"))?;
        check(
            "w_rec",
            self.w_rec.len(),
            n * n,
            format!("N × N = {n} × {n}"),
        )?;
        check("w_in", self.w_in.len(), n * i, format!("N × I = {n} × {i}"))?;
        check(
            "w_out",
            self.w_out.len(),
            o * n,
            format!("O × N = {o} × {n}"),
        )?;
        if !self.b_out.is_empty() {
            check("b_out", self.b_out.len(), o, format!("O = {o}"))?;
        }
        if n == 0 {
            return Err(shape_err(src, "tau_ms", "is empty".into()));
        }
        Ok(())
    }

    /// Read from a safetensors checkpoint; a missing tensor or a shape that
    /// does not fit the others is an error naming the file and the tensor.
    pub fn from_safetensors(path: &Path) -> Result<Self> {
        let src = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| SpikingError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| SpikingError::Io {
            path: path.to_path_buf(),
            reason: format!("not a readable safetensors file ({e})"),
        })?;
        let read = |name: &str, required: bool| -> Result<Option<(Vec<usize>, Vec<f64>)>> {
            let t = match st.tensor(name) {
                Ok(t) => t,
                Err(_) if !required => return Ok(None),
                Err(_) => return Err(shape_err(&src, name, "is missing".into())),
            };
            let data: Vec<f64> = match t.dtype() {
                Dtype::F32 => t
                    .data()
                    .chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .collect(),
                Dtype::F64 => t
                    .data()
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
                d => {
                    return Err(shape_err(
                        &src,
                        name,
                        format!("has dtype {d:?}, expected F32 or F64"),
                    ));
                }
            };
            Ok(Some((t.shape().to_vec(), data)))
        };
        let (tau_shape, tau) = read("tau_ms", true)?.unwrap_or_default();
        let (rec_shape, w_rec) = read("w_rec", true)?.unwrap_or_default();
        let (in_shape, w_in) = read("w_in", true)?.unwrap_or_default();
        let (out_shape, w_out) = read("w_out", true)?.unwrap_or_default();
        let b_out = read("b_out", false)?.map(|x| x.1).unwrap_or_default();
        if tau_shape.len() != 1 {
            return Err(shape_err(
                &src,
                "tau_ms",
                format!("has shape {tau_shape:?}, expected [N]"),
            ));
        }
        let n = tau_shape[0];
        if rec_shape != [n, n] {
            return Err(shape_err(
                &src,
                "w_rec",
                format!(
                    "has shape {rec_shape:?}, expected [{n}, {n}] (N × N, N = {n} from `tau_ms`)"
                ),
            ));
        }
        if in_shape.len() != 2 || in_shape[0] != n {
            return Err(shape_err(
                &src,
                "w_in",
                format!("has shape {in_shape:?}, expected [{n}, I] (N × inputs)"),
            ));
        }
        if out_shape.len() != 2 || out_shape[1] != n {
            return Err(shape_err(
                &src,
                "w_out",
                format!("has shape {out_shape:?}, expected [O, {n}] (outputs × N)"),
            ));
        }
        let a = Self {
            w_rec,
            w_in,
            w_out,
            b_out,
            tau_ms: tau,
            n_units: n,
            n_inputs: in_shape[1],
            n_outputs: out_shape[0],
        };
        a.validate(&src)?;
        Ok(a)
    }

    /// The LIF network at scaling factor `scale` (W_rec/s, W_out/s, W_in as is, no bias).
    pub fn to_lif<T: Real>(&self, scale: f64, params: &LifParams) -> Result<LifNetwork<T>> {
        if !(scale.is_finite() && scale > 0.0) {
            return param("scale", scale, "finite, > 0");
        }
        self.validate("arrays")?;
        let w_rec: Vec<f64> = self.w_rec.iter().map(|w| w / scale).collect();
        let w_out: Vec<f64> = self.w_out.iter().map(|w| w / scale).collect();
        LifNetwork::new(
            &w_rec,
            &self.w_in,
            &w_out,
            &self.tau_ms,
            self.n_inputs,
            params.clone(),
        )
    }
}

/// Accuracy of a LIF network on `n_trials` fresh trials of `task` (trial
/// types from `rng`; noise from `sim_seed`), scored by the task's rule on the
/// output sampled at the task's steps. Returns (accuracy, the batch's output).
pub fn lif_accuracy<T: Real>(
    net: &LifNetwork<T>,
    task: &dyn Task,
    n_trials: usize,
    rng: &mut TaskRng,
    sim_seed: u64,
) -> Result<f64> {
    let batch = task.batch(rng, n_trials);
    let steps_per_input = (task.timeline().dt_ms / net.params().dt_ms).round() as usize;
    let sim = net.simulate(
        &batch.input,
        batch.n_steps,
        batch.batch_size,
        &SimOptions {
            seed: sim_seed,
            steps_per_input,
            record_spikes: false,
            readout: true,
        },
    )?;
    Ok(task.score(&batch, &sim.output).accuracy.unwrap_or(f64::NAN))
}

/// Grid search of the scaling factor, as in the original code's
/// `spiking/lambda_grid_search.m` (github.com/rkim35/spikeRNN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScaleSearch {
    /// Candidate scaling factors s (20, 25, …, 75).
    pub scales: Vec<f64>,
    /// LIF trials scored per candidate (100).
    pub trials: usize,
}

impl Default for ScaleSearch {
    fn default() -> Self {
        Self {
            scales: (0..12).map(|k| 20.0 + 5.0 * k as f64).collect(),
            trials: 100,
        }
    }
}

/// Outcome of [`search_scale`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleResult {
    /// The candidates.
    pub scales: Vec<f64>,
    /// LIF accuracy at each.
    pub accuracies: Vec<f64>,
    /// The best s (the smallest on ties, as the code's first argmax).
    pub best_scale: f64,
    /// Its accuracy.
    pub best_accuracy: f64,
}

/// Score every candidate s on `search.trials` LIF trials and keep the best.
/// Candidate k uses trial types from `ChaCha8(seed)` stream k and noise seed
/// derived from `seed` and k.
pub fn search_scale<T: Real>(
    arrays: &RateArrays,
    params: &LifParams,
    task: &dyn Task,
    search: &ScaleSearch,
    seed: u64,
) -> Result<ScaleResult> {
    if search.scales.is_empty() || search.trials == 0 {
        return param("scale search", "empty", "≥ 1 scale and ≥ 1 trial");
    }
    let mut acc = Vec::with_capacity(search.scales.len());
    for (k, &s) in search.scales.iter().enumerate() {
        let net = arrays.to_lif::<T>(s, params)?;
        let mut rng = TaskRng::seed_from_u64(seed);
        rng.set_stream(k as u64);
        acc.push(lif_accuracy(
            &net,
            task,
            search.trials,
            &mut rng,
            seed.wrapping_add(1000 + k as u64),
        )?);
    }
    let mut best = 0;
    for k in 1..acc.len() {
        if acc[k] > acc[best] {
            best = k;
        }
    }
    Ok(ScaleResult {
        scales: search.scales.clone(),
        best_scale: search.scales[best],
        best_accuracy: acc[best],
        accuracies: acc,
    })
}
