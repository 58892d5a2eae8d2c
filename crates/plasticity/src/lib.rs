//! # wm-plasticity
//!
//! The self-organizing memory network of Federer & Zylberberg: a random
//! recurrent network holds the value of a read-out ŝ = dᵀr because its
//! synapses follow a three-factor rule, ΔL_ij ∝ −(dŝ/dt) · dᵢ f′(aᵢ) · r_j:
//! a global error (the read-out's rate of change, broadcast to every
//! synapse), a postsynaptic factor (the read-out weight and gain of cell i)
//! and a presynaptic rate. Each update is a gradient step on (dŝ/dt)², so the
//! network settles wherever ŝ stops changing: it stores whatever ŝ it was
//! given, with no training phase. The "constant random synapse" network (the
//! same network with frozen L) forgets within ≈ 100 ms; FEVER (Druckmann &
//! Chklovskii 2012, L = d dᵀ/(dᵀd)) stores ŝ exactly but only while its
//! weights are exact.
//!
//! - [`rate`]: the rate network (τ = 20 ms, Euler step 0.02 ms, ReLU) with
//!   every variant of the paper's figures: several read-outs, random or
//!   binary feedback, plastic-synapse and connectivity masks, multiplicative
//!   update noise and additive synaptic noise, delayed feedback with its
//!   pre-feedback phase, frozen synapses, pre-training, and FEVER simulated
//!   for real.
//! - [`lif`]: the leaky integrate-and-fire E/I version with Dale's law
//!   (Fig. A4).
//! - [`ensemble`]: independent networks over rayon and their mean ± SEM.
//!
//! Key design decision: the crate owns its integrators and works on plain
//! `Vec<f64>` row-major matrices, not a tensor library. The hot loop is one
//! mat-vec and one rank-1 update of an N × N matrix per 0.02-ms step (150,000
//! steps for 3 s); written as two vectorizable loops over contiguous rows it
//! runs a 3-s, N = 100 network in a fraction of a second on one core, and
//! rows touched by a zero update (f′ᵢ = 0) are skipped. Every random draw
//! comes from an explicitly passed, seeded `rand_chacha::ChaCha8Rng`, so a
//! network is a pure function of its seed.
//!
//! Units: time in ms in every public name ending in `_ms` (the LIF step `dt`
//! is in units of τ, as in the original); activities and weights are
//! dimensionless, LIF voltages in mV.
//!
//! ```
//! use wm_plasticity::rate::{RateParams, simulate};
//! let p = RateParams { n_units: 50, ..RateParams::default() };
//! let trace = simulate(&p, 7, 50.0).unwrap();
//! let ratio = trace.ratio(0);
//! assert_eq!(ratio.len(), 50); // one sample per ms
//! assert!(ratio[49] > 0.95); // the plastic network holds ŝ
//! ```
#![deny(missing_docs)]

pub mod ensemble;
mod kernels;
pub mod lif;
pub mod rate;

/// A parameter outside its allowed range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{name}` = {}: allowed is {allowed}", readable(*.value))]
pub struct ParamError {
    /// The offending field.
    pub name: &'static str,
    /// Its value.
    pub value: f64,
    /// What is allowed.
    pub allowed: &'static str,
}

impl ParamError {
    /// Field `name` holds `value`, outside `allowed`.
    pub fn invalid(name: &'static str, value: f64, allowed: &'static str) -> Self {
        Self {
            name,
            value,
            allowed,
        }
    }

    /// `Ok` when `ok` holds and `value` is finite, else [`ParamError::invalid`].
    pub fn check(
        name: &'static str,
        value: f64,
        allowed: &'static str,
        ok: bool,
    ) -> Result<(), Self> {
        if ok && value.is_finite() {
            Ok(())
        } else {
            Err(Self::invalid(name, value, allowed))
        }
    }
}

/// A number as a person reads it: plain for ordinary magnitudes, in
/// scientific notation for huge or tiny ones (`1e300`, not 301 digits).
fn readable(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e9).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}
