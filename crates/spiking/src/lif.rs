//! The LIF building block: a population of leaky integrate-and-fire units
//! with an absolute refractory period and additive voltage noise, and the
//! double-exponential synaptic filter (Kim, Li & Sejnowski 2019, PNAS, SI Table S1). Both
//! are plain state structs with a `step` method, so a network (here
//! [`crate::network`], or `plasticity`'s spiking experiment) composes them.
//!
//! Voltage, per 0.05-ms step `i` (time `t_i = i·dt`):
//!
//! ```text
//! v ← v + g·(dt/τ_m)(−v + I) + σ_v ξ,   ξ ~ N(0, 1)
//! g = 1 if t_i > t_last + t_ref, else 0   (only noise moves v while refractory)
//! spike if v ≥ v_th; then t_last ← t_i, v ← v_reset
//! ```
//!
//! The noise is a raw σ_v = 0.1 mV per step, not scaled by √dt, exactly as
//! the original code (so it depends on dt). Times in ms, voltages in mV.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, param};
use crate::noise::NoiseRng;
use crate::real::Real;

/// LIF constants (Kim et al., Table S1). Defaults are the paper's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifParams {
    /// Simulation step, ms (0.05).
    pub dt_ms: f64,
    /// Membrane time constant τ_m, ms (10).
    pub tau_m_ms: f64,
    /// Spike threshold, mV (−40).
    pub v_threshold_mv: f64,
    /// Reset voltage, mV (−65).
    pub v_reset_mv: f64,
    /// Absolute refractory period, ms (2).
    pub refractory_ms: f64,
    /// Constant bias current added to every unit, mV (−40).
    pub bias_mv: f64,
    /// Voltage noise per step, mV (0.1), not scaled by √dt.
    pub noise_mv: f64,
    /// Synaptic rise time τ_r, ms (2).
    pub tau_rise_ms: f64,
    /// Initial voltages are uniform on this range, mV ((−65, 30)).
    pub v_init_mv: (f64, f64),
}

impl Default for LifParams {
    fn default() -> Self {
        Self {
            dt_ms: 0.05,
            tau_m_ms: 10.0,
            v_threshold_mv: -40.0,
            v_reset_mv: -65.0,
            refractory_ms: 2.0,
            bias_mv: -40.0,
            noise_mv: 0.1,
            tau_rise_ms: 2.0,
            v_init_mv: (-65.0, 30.0),
        }
    }
}

impl LifParams {
    /// Check ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        for (f, v) in [
            ("dt_ms", self.dt_ms),
            ("tau_m_ms", self.tau_m_ms),
            ("tau_rise_ms", self.tau_rise_ms),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return param(f, v, "finite, > 0");
            }
        }
        for (f, v) in [
            ("refractory_ms", self.refractory_ms),
            ("noise_mv", self.noise_mv),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return param(f, v, "finite, ≥ 0");
            }
        }
        if self.v_reset_mv.is_nan() || self.v_reset_mv >= self.v_threshold_mv {
            return param("v_reset_mv", self.v_reset_mv, "< v_threshold_mv");
        }
        if self.dt_ms > self.tau_m_ms {
            return param("dt_ms", self.dt_ms, "≤ tau_m_ms");
        }
        if self.v_init_mv.0.is_nan()
            || self.v_init_mv.1.is_nan()
            || self.v_init_mv.0 > self.v_init_mv.1
        {
            return param("v_init_mv", format!("{:?}", self.v_init_mv), "lo ≤ hi");
        }
        Ok(())
    }

    /// Refractory period in whole steps: a unit integrates again once
    /// `i − i_last > refractory_steps` (40 at the defaults).
    pub fn refractory_steps(&self) -> i64 {
        (self.refractory_ms / self.dt_ms * (1.0 + 1e-9)).floor() as i64
    }
}

/// A population of LIF units (state only; input currents come from outside).
#[derive(Debug, Clone)]
pub struct LifPopulation<T: Real> {
    /// Membrane voltages, mV.
    pub v: Vec<T>,
    /// Step index of each unit's last spike (0 at the start, as the code).
    /// `i32`: a run is limited to 2³¹ steps (29 h at 0.05 ms).
    pub last_spike: Vec<i32>,
    membrane: Membrane<T>,
    /// This step's standard normals (stay zero without noise).
    z: Vec<f32>,
    /// This step's spike flags (0/1; `u32`, the lane width of the update).
    fired: Vec<u32>,
}

/// The constants of one unit's voltage update, in the types of the loop.
#[derive(Debug, Clone, Copy)]
struct Membrane<T: Real> {
    leak: T,
    threshold: T,
    reset: T,
    noise: T,
    refractory: i32,
}

impl<T: Real> Membrane<T> {
    /// One unit at step `i`: integrate unless refractory, add noise `σ_v z`,
    /// spike and reset at threshold. Branch-free, so a loop over units
    /// runs on SIMD lanes.
    #[inline(always)]
    fn update(&self, i: i32, v: &mut T, last: &mut i32, current: T, z: f32) -> u32 {
        let x0 = *v;
        let integrated = x0 + self.leak * (current - x0);
        let x = if i - *last > self.refractory {
            integrated
        } else {
            x0
        };
        let x = x + self.noise * T::of_f32(z);
        let fire = x >= self.threshold;
        *v = if fire { self.reset } else { x };
        *last = if fire { i } else { *last };
        u32::from(fire)
    }
}

impl<T: Real> LifPopulation<T> {
    /// `n` units at `v = v_reset`, last spike at step 0.
    pub fn new(n: usize, p: &LifParams) -> Self {
        Self {
            v: vec![T::of(p.v_reset_mv); n],
            last_spike: vec![0; n],
            membrane: Membrane {
                leak: T::of(p.dt_ms / p.tau_m_ms),
                threshold: T::of(p.v_threshold_mv),
                reset: T::of(p.v_reset_mv),
                noise: T::of(p.noise_mv),
                refractory: p.refractory_steps() as i32,
            },
            z: vec![0.0; n],
            fired: vec![0; n],
        }
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.v.len()
    }

    /// Whether the population is empty.
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    /// Draw initial voltages uniformly on `range` (mV).
    pub fn randomize<R: Rng>(&mut self, range: (f64, f64), rng: &mut R) {
        for v in &mut self.v {
            *v = T::of(range.0 + (range.1 - range.0) * rng.random::<f64>());
        }
    }

    /// Advance to step `i` (1-based, `t_i = i·dt`) with total input current
    /// `current` (mV; bias, synaptic and external summed by the caller).
    /// Writes the indices of the units that spiked to `spikes` (cleared
    /// first) and resets them. Noise: one standard normal per unit from
    /// `rng`, drawn even while refractory, as the code; none is drawn when
    /// `noise_mv` is 0.
    #[inline]
    pub fn step(&mut self, i: i32, current: &[T], rng: &mut NoiseRng, spikes: &mut Vec<u32>) {
        let n = self.v.len();
        assert_eq!(current.len(), n, "one current per unit");
        if self.membrane.noise.to_f64() != 0.0 {
            rng.fill_standard_normal_inline(&mut self.z);
        }
        let m = self.membrane;
        for ((((v, last), &c), &z), f) in self
            .v
            .iter_mut()
            .zip(&mut self.last_spike)
            .zip(current)
            .zip(&self.z)
            .zip(&mut self.fired)
        {
            *f = m.update(i, v, last, c, z);
        }
        collect_spikes(&self.fired, spikes);
    }

    /// [`LifPopulation::step`] driven by the synaptic filter `syn` plus a
    /// fixed `drive` (mV; bias and external input): the current is
    /// `syn.s + drive`, and `syn` decays by one step in the same pass
    /// (`syn.s ← syn.s·e^{−dt/τ_d} + syn.h·dt`, `syn.h ← syn.h·e^{−dt/τ_r}`).
    /// The caller then adds the spikes' input to `syn` (e.g.
    /// [`DoubleExp::add_columns`]). Same values as computing the current,
    /// calling `step` and [`DoubleExp::step`], in one sweep over the units.
    #[inline(always)]
    pub fn step_with_synapse(
        &mut self,
        i: i32,
        syn: &mut DoubleExp<T>,
        drive: &[T],
        rng: &mut NoiseRng,
        spikes: &mut Vec<u32>,
    ) {
        let n = self.v.len();
        assert!(
            drive.len() == n && syn.s.len() == n,
            "one drive and one synapse per unit"
        );
        if self.membrane.noise.to_f64() != 0.0 {
            rng.fill_standard_normal_inline(&mut self.z);
        }
        let m = self.membrane;
        let (dt, rise) = (syn.dt_s, syn.rise);
        for ((((((v, last), &u), &z), f), (s, h)), &d) in self
            .v
            .iter_mut()
            .zip(&mut self.last_spike)
            .zip(drive)
            .zip(&self.z)
            .zip(&mut self.fired)
            .zip(syn.s.iter_mut().zip(syn.h.iter_mut()))
            .zip(&syn.decay)
        {
            *f = m.update(i, v, last, *s + u, z);
            *s = *s * d + *h * dt;
            *h = *h * rise;
        }
        collect_spikes(&self.fired, spikes);
    }
}

/// The indices of the set flags, in order; blocks of 16 flags with none set
/// are skipped by one OR.
fn collect_spikes(fired: &[u32], spikes: &mut Vec<u32>) {
    spikes.clear();
    for (b, block) in fired.chunks(16).enumerate() {
        if block.iter().fold(0, |a, &f| a | f) != 0 {
            for (k, &f) in block.iter().enumerate() {
                if f != 0 {
                    spikes.push((b * 16 + k) as u32);
                }
            }
        }
    }
}

/// Double-exponential synaptic filter per postsynaptic unit:
///
/// ```text
/// s ← s·e^{−dt/τ_d} + h·dt          (with the old h)
/// h ← h·e^{−dt/τ_r} + J/(τ_r τ_d)
/// ```
///
/// with times in **seconds** inside, as the original code: one presynaptic
/// spike of weight w (J = w) gives a current of area ≈ w (mV·s), peaking near
/// w/τ_d; and a unit's own spike train filtered this way (J = 1 per spike) is
/// ≈ its firing rate in Hz.
#[derive(Debug, Clone)]
pub struct DoubleExp<T: Real> {
    /// The filtered output `s` (the synaptic current).
    pub s: Vec<T>,
    /// The rise variable `h`.
    pub h: Vec<T>,
    decay: Vec<T>,
    rise: T,
    gain: Vec<T>,
    dt_s: T,
}

impl<T: Real> DoubleExp<T> {
    /// A filter per unit with decay constants `tau_decay_ms`, rise `tau_rise_ms`, step `dt_ms`.
    pub fn new(tau_decay_ms: &[f64], tau_rise_ms: f64, dt_ms: f64) -> Self {
        let n = tau_decay_ms.len();
        let tr = tau_rise_ms / 1000.0;
        Self {
            s: vec![T::default(); n],
            h: vec![T::default(); n],
            decay: tau_decay_ms
                .iter()
                .map(|&t| T::of((-dt_ms / t).exp()))
                .collect(),
            rise: T::of((-dt_ms / tau_rise_ms).exp()),
            gain: tau_decay_ms
                .iter()
                .map(|&t| T::of(1.0 / (tr * t / 1000.0)))
                .collect(),
            dt_s: T::of(dt_ms / 1000.0),
        }
    }

    /// One step with summed input `j` per unit (`None`: no spike arrived).
    #[inline]
    pub fn step(&mut self, j: Option<&[T]>) {
        self.decay_step();
        if let Some(j) = j {
            for ((h, &jk), &g) in self.h.iter_mut().zip(j).zip(&self.gain) {
                *h += jk * g;
            }
        }
    }

    /// One step whose input is the sum of the weight columns of the units in
    /// `spiked`: `w_cols[j·N .. (j+1)·N]` is presynaptic unit j's column
    /// (postsynaptic units along it). Only the spiking columns are touched.
    #[inline]
    pub fn step_columns(&mut self, w_cols: &[T], spiked: &[u32]) {
        self.decay_step();
        self.add_columns(w_cols, spiked);
    }

    /// The input part of [`DoubleExp::step_columns`] alone: `h += J/(τ_r τ_d)`
    /// with J the sum of the spiking units' weight columns.
    #[inline(always)]
    pub fn add_columns(&mut self, w_cols: &[T], spiked: &[u32]) {
        let n = self.h.len();
        for &u in spiked {
            let col = &w_cols[u as usize * n..(u as usize + 1) * n];
            for ((h, &w), &g) in self.h.iter_mut().zip(col).zip(&self.gain) {
                *h += w * g;
            }
        }
    }

    /// One step where the input is 1 for the units in `spiked` and 0 elsewhere.
    #[inline(always)]
    pub fn step_spikes(&mut self, spiked: &[u32]) {
        self.decay_step();
        for &u in spiked {
            let u = u as usize;
            self.h[u] += self.gain[u];
        }
    }

    /// The input-free part of a step: `s ← s·e^{−dt/τ_d} + h·dt`, `h ← h·e^{−dt/τ_r}`.
    #[inline(always)]
    fn decay_step(&mut self) {
        let (dt, rise) = (self.dt_s, self.rise);
        for ((s, h), &d) in self.s.iter_mut().zip(&mut self.h).zip(&self.decay) {
            *s = *s * d + *h * dt;
            *h = *h * rise;
        }
    }
}
