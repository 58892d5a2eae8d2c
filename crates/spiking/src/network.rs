//! A recurrent LIF network converted from a rate RNN, simulated in batches
//! of independent trials (rayon-parallel over trials).
//!
//! Per 0.05-ms step `i = 1..n_t`, in the order of the original MATLAB
//! code (github.com/rkim35/spikeRNN, `spiking/LIF_network_fnc.m`):
//!
//! 1. `I = s_syn + (bias + W_in u[:, c(i)])`, with the input column
//!    `c(i) = round(i / k)` (round half up, k = LIF steps per rate step = 100),
//!    i.e. sample-and-hold with a half-step offset;
//! 2. voltage update and spikes, and the synaptic filter's decay
//!    ([`crate::lif::DoubleExp`], the postsynaptic unit's τ_d), in one sweep
//!    over the units ([`crate::lif::LifPopulation::step_with_synapse`]);
//! 3. the filter's input `J = Σ_{j spiked} W[:, j]`: **sparse propagation**,
//!    only the columns of units that spiked are added (weights are stored
//!    column by column; [`crate::lif::DoubleExp::add_columns`]);
//! 4. read-out: each unit's own spikes through the same filter, giving `r`
//!    (≈ rate in Hz), and `o = W_out r` sampled at the end of every rate step
//!    (no output bias, as the code).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SpikingError, param};
use crate::lif::{DoubleExp, LifParams, LifPopulation};
use crate::noise::NoiseRng;
use crate::real::Real;
use crate::spikes::SpikeTrains;

/// One trial's spikes (unit, step) and its read-out `[T_in, O]`.
type TrialRun = (Vec<(u32, u32)>, Vec<f32>);

/// A LIF network: weights already divided by the scaling factor.
#[derive(Debug, Clone)]
pub struct LifNetwork<T: Real> {
    n: usize,
    n_inputs: usize,
    n_outputs: usize,
    /// Recurrent weights stored by presynaptic column: `w_cols[j·N + i] = W[i, j]`.
    w_cols: Vec<T>,
    /// Input weights `[N, I]` (not scaled).
    w_in: Vec<T>,
    /// Output weights `[O, N]`.
    w_out: Vec<T>,
    /// Output bias `[O]` (zero unless asked for).
    b_out: Vec<T>,
    tau_decay_ms: Vec<f64>,
    params: LifParams,
}

/// What to simulate and record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimOptions {
    /// Master seed; trial b draws its initial voltages and noise from stream b.
    pub seed: u64,
    /// LIF steps per input column (rate step / LIF step: 5 ms / 0.05 ms = 100).
    pub steps_per_input: usize,
    /// Record every spike (unit, step).
    pub record_spikes: bool,
    /// Integrate the filtered-spike read-out and sample the output.
    pub readout: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            steps_per_input: 100,
            record_spikes: true,
            readout: true,
        }
    }
}

/// The result of simulating a batch.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// Spikes per trial (empty lists if not recorded).
    pub spikes: SpikeTrains,
    /// Output `[T_in, B, O]` sampled at the end of every input step (empty without read-out).
    pub output: Vec<f32>,
    /// Input steps `T_in`.
    pub n_input_steps: usize,
}

impl<T: Real> LifNetwork<T> {
    /// Build from plain arrays: `w_rec` `[N, N]` (post × pre, already scaled),
    /// `w_in` `[N, I]`, `w_out` `[O, N]` (already scaled), `tau_decay_ms` `[N]`.
    pub fn new(
        w_rec: &[f64],
        w_in: &[f64],
        w_out: &[f64],
        tau_decay_ms: &[f64],
        n_inputs: usize,
        params: LifParams,
    ) -> Result<Self> {
        params.validate()?;
        let n = tau_decay_ms.len();
        let shape = |t: &str, got: usize, want: usize, what: &str| -> Result<()> {
            if got != want {
                return Err(SpikingError::Shape {
                    source_name: "arrays".into(),
                    tensor: t.into(),
                    problem: format!("has {got} values, expected {want} ({what})"),
                });
            }
            Ok(())
        };
        shape("w_rec", w_rec.len(), n * n, "N × N")?;
        shape("w_in", w_in.len(), n * n_inputs, "N × I")?;
        if n == 0 || !w_out.len().is_multiple_of(n) {
            return Err(SpikingError::Shape {
                source_name: "arrays".into(),
                tensor: "w_out".into(),
                problem: format!("has {} values, not a multiple of N = {n}", w_out.len()),
            });
        }
        if let Some(t) = tau_decay_ms.iter().find(|t| !(t.is_finite() && **t > 0.0)) {
            return param("tau_decay_ms", t, "finite, > 0");
        }
        let mut w_cols = vec![T::default(); n * n];
        for i in 0..n {
            for j in 0..n {
                w_cols[j * n + i] = T::of(w_rec[i * n + j]);
            }
        }
        let n_outputs = w_out.len() / n;
        Ok(Self {
            n,
            n_inputs,
            n_outputs,
            w_cols,
            w_in: w_in.iter().map(|&x| T::of(x)).collect(),
            w_out: w_out.iter().map(|&x| T::of(x)).collect(),
            b_out: vec![T::default(); n_outputs],
            tau_decay_ms: tau_decay_ms.to_vec(),
            params,
        })
    }

    /// Add an output bias (the code drops b_out; this is an option).
    pub fn with_output_bias(mut self, b_out: &[f64]) -> Self {
        self.b_out = b_out.iter().map(|&x| T::of(x)).collect();
        self
    }

    /// Units N.
    pub fn n_units(&self) -> usize {
        self.n
    }

    /// Input channels.
    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    /// Output channels.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// The LIF constants.
    pub fn params(&self) -> &LifParams {
        &self.params
    }

    /// Simulate `n_trials` trials driven by `input` `[T_in, B, I]` (row-major,
    /// as `wm_tasks::TrialBatch::input`), for `T_in · steps_per_input` LIF steps.
    pub fn simulate(
        &self,
        input: &[f32],
        n_input_steps: usize,
        n_trials: usize,
        opts: &SimOptions,
    ) -> Result<Simulation> {
        if input.len() != n_input_steps * n_trials * self.n_inputs {
            return Err(SpikingError::Shape {
                source_name: "input".into(),
                tensor: "input".into(),
                problem: format!(
                    "has {} values, expected T·B·I = {n_input_steps}·{n_trials}·{}",
                    input.len(),
                    self.n_inputs
                ),
            });
        }
        if opts.steps_per_input == 0 || n_input_steps == 0 {
            return param("steps_per_input / n_input_steps", 0, "≥ 1");
        }
        let total = n_input_steps.saturating_mul(opts.steps_per_input);
        if total > i32::MAX as usize {
            return param(
                "n_input_steps · steps_per_input",
                total,
                "≤ 2³¹ − 1 LIF steps",
            );
        }
        let per: Vec<TrialRun> = (0..n_trials)
            .into_par_iter()
            .map(|b| trial(self, input, n_input_steps, n_trials, b, opts))
            .collect();
        let n_steps = n_input_steps * opts.steps_per_input;
        let o = self.n_outputs;
        let mut output = if opts.readout {
            vec![0.0f32; n_input_steps * n_trials * o]
        } else {
            Vec::new()
        };
        let mut trials = Vec::with_capacity(n_trials);
        for (b, (sp, out)) in per.into_iter().enumerate() {
            if opts.readout {
                for k in 0..n_input_steps {
                    for c in 0..o {
                        output[(k * n_trials + b) * o + c] = out[k * o + c];
                    }
                }
            }
            trials.push(sp);
        }
        Ok(Simulation {
            spikes: SpikeTrains {
                n_units: self.n,
                dt_ms: self.params.dt_ms,
                n_steps,
                trials,
            },
            output,
            n_input_steps,
        })
    }

    /// Simulate `n_trials` trials with zero input for `duration_ms` (spontaneous activity).
    pub fn simulate_spontaneous(
        &self,
        duration_ms: f64,
        n_trials: usize,
        opts: &SimOptions,
    ) -> Result<Simulation> {
        let dt_in = self.params.dt_ms * opts.steps_per_input as f64;
        let t_in = (duration_ms / dt_in).round().max(1.0) as usize;
        let input = vec![0.0f32; t_in * n_trials * self.n_inputs];
        self.simulate(&input, t_in, n_trials, opts)
    }
}

/// Trial `b` of a batch of `nb` (see [`LifNetwork::simulate`]). Compiled
/// twice: for the baseline x86-64 instruction set and with AVX2 + FMA, the
/// copy picked at run time when the CPU has them (the voltage update, the
/// synaptic decay and the normal draws then run on 8 f32 lanes instead of 4).
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn trial<T: Real>(
    net: &LifNetwork<T>,
    input: &[f32],
    t_in: usize,
    nb: usize,
    b: usize,
    opts: &SimOptions,
) -> TrialRun {
    let n = net.n;
    let p = &net.params;
    let mut rng = NoiseRng::new(opts.seed, b as u64);
    let mut pop = LifPopulation::<T>::new(n, p);
    pop.randomize(p.v_init_mv, &mut rng);
    let mut syn = DoubleExp::<T>::new(&net.tau_decay_ms, p.tau_rise_ms, p.dt_ms);
    let mut own = DoubleExp::<T>::new(&net.tau_decay_ms, p.tau_rise_ms, p.dt_ms);
    let bias = T::of(p.bias_mv);
    let spi = opts.steps_per_input;
    let n_steps = t_in * spi;
    // bias + W_in u for the held input column, mV.
    let mut drive = vec![T::default(); n];
    let mut spiked: Vec<u32> = Vec::with_capacity(n);
    let mut spikes = Vec::new();
    let mut out = if opts.readout {
        vec![0.0f32; t_in * net.n_outputs]
    } else {
        Vec::new()
    };
    let mut col = usize::MAX;
    let ni = net.n_inputs;
    for i in 1..=n_steps {
        // Round half up of i / spi, held at the last column.
        let c = ((2 * i + spi) / (2 * spi)).min(t_in - 1);
        if c != col {
            col = c;
            let u = &input[(c * nb + b) * ni..(c * nb + b + 1) * ni];
            for (k, e) in drive.iter_mut().enumerate() {
                let mut acc = 0.0f64;
                for (ch, &x) in u.iter().enumerate() {
                    acc += net.w_in[k * ni + ch].to_f64() * f64::from(x);
                }
                *e = bias + T::of(acc);
            }
        }
        pop.step_with_synapse(i as i32, &mut syn, &drive, &mut rng, &mut spiked);
        syn.add_columns(&net.w_cols, &spiked);
        if opts.record_spikes {
            spikes.extend(spiked.iter().map(|&u| (u, i as u32)));
        }
        if opts.readout {
            own.step_spikes(&spiked);
            if i % spi == 0 {
                let k = i / spi - 1;
                for c in 0..net.n_outputs {
                    let mut o = net.b_out[c].to_f64();
                    for (w, r) in net.w_out[c * n..(c + 1) * n].iter().zip(&own.s) {
                        o += w.to_f64() * r.to_f64();
                    }
                    out[k * net.n_outputs + c] = o as f32;
                }
            }
        }
    }
    (spikes, out)
}
