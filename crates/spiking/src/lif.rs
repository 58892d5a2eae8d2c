//! The LIF building block: a population of leaky integrate-and-fire units
//! with an absolute refractory period and additive voltage noise, and the
//! double-exponential synaptic filter (spec `kim-sejnowski.md` §3.2). Both
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
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{Result, param};
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
    pub last_spike: Vec<i64>,
    leak: T,
    threshold: T,
    reset: T,
    noise: T,
    refractory: i64,
}

impl<T: Real> LifPopulation<T> {
    /// `n` units at `v = v_reset`, last spike at step 0.
    pub fn new(n: usize, p: &LifParams) -> Self {
        Self {
            v: vec![T::of(p.v_reset_mv); n],
            last_spike: vec![0; n],
            leak: T::of(p.dt_ms / p.tau_m_ms),
            threshold: T::of(p.v_threshold_mv),
            reset: T::of(p.v_reset_mv),
            noise: T::of(p.noise_mv),
            refractory: p.refractory_steps(),
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
    /// Appends the indices of the units that spiked to `spikes` (which is
    /// cleared first) and resets them. Noise comes from `rng` (one standard
    /// normal per unit, drawn even while refractory, as the code).
    #[inline]
    pub fn step<R: Rng>(&mut self, i: i64, current: &[T], rng: &mut R, spikes: &mut Vec<u32>) {
        spikes.clear();
        let noisy = self.noise.to_f64() != 0.0;
        for (k, (v, &c)) in self.v.iter_mut().zip(current).enumerate() {
            let mut x = *v;
            if i - self.last_spike[k] > self.refractory {
                x += self.leak * (c - x);
            }
            if noisy {
                let z: f64 = StandardNormal.sample(rng);
                x += self.noise * T::of(z);
            }
            if x >= self.threshold {
                spikes.push(k as u32);
                self.last_spike[k] = i;
                x = self.reset;
            }
            *v = x;
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
        let (dt, rise) = (self.dt_s, self.rise);
        for k in 0..self.s.len() {
            self.s[k] = self.s[k] * self.decay[k] + self.h[k] * dt;
            self.h[k] = self.h[k] * rise;
        }
        if let Some(j) = j {
            for ((h, &jk), &g) in self.h.iter_mut().zip(j).zip(&self.gain) {
                *h += jk * g;
            }
        }
    }

    /// One step where the input is 1 for the units in `spiked` and 0 elsewhere.
    #[inline]
    pub fn step_spikes(&mut self, spiked: &[u32]) {
        let (dt, rise) = (self.dt_s, self.rise);
        for k in 0..self.s.len() {
            self.s[k] = self.s[k] * self.decay[k] + self.h[k] * dt;
            self.h[k] = self.h[k] * rise;
        }
        for &u in spiked {
            let u = u as usize;
            self.h[u] += self.gain[u];
        }
    }
}
