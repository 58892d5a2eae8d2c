//! Poisson-count population codes (Orhan & Ma 2019; the original
//! `generators.py`, github.com/eminorhan/recurrent-memory).
//!
//! Every input neuron emits an independent Poisson count at every step. A
//! population of [`N_PER_LOCATION`] neurons with tuning curves `f_k(s)`
//! encodes one stimulus location; rates are per step and chosen so that each
//! epoch's *total* expected count is fixed (see [`super::SPON_RATE`]).

use rand::Rng;
use rand_distr::{Distribution, Poisson};
use std::f64::consts::PI;
use std::ops::Range;

use crate::TaskRng;

/// Input neurons per stimulus location.
pub const N_PER_LOCATION: usize = 50;

/// Draw one Poisson count with mean `lambda` (spikes per step).
///
/// Rates `≤ 0` (or NaN) give 0. Below 30 the count is drawn by inversion of
/// the CDF with a single uniform; larger means fall back to `rand_distr`.
pub fn poisson(rng: &mut TaskRng, lambda: f64) -> u32 {
    poisson_with_p0(rng, lambda, (-lambda).exp())
}

/// [`poisson`] with `p0 = e^{−λ}` precomputed (the same draw, bit for bit).
pub(crate) fn poisson_with_p0(rng: &mut TaskRng, lambda: f64, p0: f64) -> u32 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0;
    }
    if lambda >= 30.0 {
        return Poisson::new(lambda)
            .map(|d| d.sample(rng) as u32)
            .unwrap_or(0);
    }
    let u: f64 = rng.random();
    let mut p = p0;
    let mut cdf = p;
    let mut k = 0u32;
    while u >= cdf && k < 1000 {
        k += 1;
        p *= lambda / f64::from(k);
        cdf += p;
    }
    k
}

/// `n` evenly spaced points from `lo` to `hi`, both included (numpy `linspace`).
pub fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![lo];
    }
    let step = (hi - lo) / (n - 1) as f64;
    (0..n)
        .map(|k| if k + 1 == n { hi } else { lo + step * k as f64 })
        .collect()
}

/// Shape of the tuning curves of a population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tuning {
    /// Orientation tuning `f_k(s) = exp(κ (cos 2(s − φ_k) − 1))`, `s` in rad.
    VonMises {
        /// Concentration κ (dimensionless; 2 in Orhan & Ma).
        kappa: f64,
    },
    /// Position tuning `f_k(s) = exp(−(s − φ_k)² / (2σ²))`, `s` in degrees.
    Gaussian {
        /// Tuning width σ, in degrees.
        sigma: f64,
    },
}

/// A population of [`N_PER_LOCATION`] neurons with preferred stimuli `centres`.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Preferred stimulus φ_k of each neuron (rad for von Mises, degrees for Gaussian).
    pub centres: Vec<f64>,
    /// Tuning-curve family.
    pub tuning: Tuning,
}

impl Population {
    /// Orientation population: φ_k = kπ/49, k = 0…49 (both 0 and π, so the
    /// φ = 0 curve appears twice, as in the original), von Mises with `kappa`.
    pub fn orientation(kappa: f64) -> Self {
        Self {
            centres: linspace(0.0, PI, N_PER_LOCATION),
            tuning: Tuning::VonMises { kappa },
        }
    }

    /// Gaussian population with centres evenly spaced on `[lo, hi]` degrees
    /// (ends included) and width `sigma` degrees.
    pub fn gaussian(lo: f64, hi: f64, sigma: f64) -> Self {
        Self {
            centres: linspace(lo, hi, N_PER_LOCATION),
            tuning: Tuning::Gaussian { sigma },
        }
    }

    /// Tuning-curve values `f_k(s)` (peak 1, dimensionless) for stimulus `s`.
    pub fn response(&self, s: f64) -> Vec<f64> {
        match self.tuning {
            Tuning::VonMises { kappa } => self
                .centres
                .iter()
                .map(|&phi| (kappa * ((2.0 * (s - phi)).cos() - 1.0)).exp())
                .collect(),
            Tuning::Gaussian { sigma } => self
                .centres
                .iter()
                .map(|&phi| (-(s - phi).powi(2) / (2.0 * sigma * sigma)).exp())
                .collect(),
        }
    }

    /// Per-step Poisson rates for an epoch of `epoch_steps` steps whose total
    /// expected count is `gain · f_k(s)`: `λ_k = gain / epoch_steps · f_k(s)`.
    pub fn rates(&self, s: f64, gain: f64, epoch_steps: usize) -> Vec<f64> {
        let scale = gain / epoch_steps as f64;
        self.response(s).into_iter().map(|f| scale * f).collect()
    }
}

/// Writes one trial's inputs and targets into a [`crate::TrialBatch`]'s flat
/// `[T, B, ·]` arrays.
pub(crate) struct TrialWriter<'a> {
    pub(crate) input: &'a mut [f32],
    pub(crate) target: &'a mut [f32],
    pub(crate) batch_size: usize,
    pub(crate) n_inputs: usize,
    pub(crate) n_outputs: usize,
    pub(crate) b: usize,
    /// Channel offset of the task's own inputs (50 in dynamic-input variants).
    pub(crate) offset: usize,
}

impl TrialWriter<'_> {
    /// Set task input channel `i` (before the offset) at step `t`.
    pub(crate) fn set_input(&mut self, t: usize, i: usize, v: f32) {
        let idx = (t * self.batch_size + self.b) * self.n_inputs + self.offset + i;
        self.input[idx] = v;
    }

    /// Set output `o`'s target at step `t`.
    pub(crate) fn set_target(&mut self, t: usize, o: usize, v: f32) {
        let idx = (t * self.batch_size + self.b) * self.n_outputs + o;
        self.target[idx] = v;
    }

    /// Set output `o`'s target to `v` on steps `0..n_steps`.
    pub(crate) fn fill_target(&mut self, n_steps: usize, o: usize, v: f32) {
        for t in 0..n_steps {
            self.set_target(t, o, v);
        }
    }

    /// Draw Poisson counts at per-step rates `rates[k]` on task channels
    /// `first + k` for every step in `steps` (time outer, channel inner);
    /// returns each channel's summed count over the epoch.
    pub(crate) fn poisson_epoch(
        &mut self,
        rng: &mut TaskRng,
        steps: Range<usize>,
        first: usize,
        rates: &[f64],
    ) -> Vec<f64> {
        let mut sums = vec![0.0; rates.len()];
        let p0: Vec<f64> = rates.iter().map(|l| (-l).exp()).collect();
        for t in steps {
            for (k, (&lambda, &p0)) in rates.iter().zip(&p0).enumerate() {
                let c = poisson_with_p0(rng, lambda, p0);
                if c > 0 {
                    self.set_input(t, first + k, c as f32);
                    sums[k] += f64::from(c);
                }
            }
        }
        sums
    }

    /// Spontaneous activity: `rate` spikes per step on `n` channels from `first`.
    pub(crate) fn spontaneous(
        &mut self,
        rng: &mut TaskRng,
        steps: Range<usize>,
        first: usize,
        n: usize,
        rate: f64,
    ) -> Vec<f64> {
        self.poisson_epoch(rng, steps, first, &vec![rate; n])
    }
}
