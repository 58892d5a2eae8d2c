//! # wm-spiking
//!
//! Leaky integrate-and-fire (LIF) networks and the conversion of trained
//! rate RNNs into them (Kim, Li & Sejnowski 2019, PNAS; original
//! code: github.com/rkim35/spikeRNN, `spiking/`).
//!
//! * [`lif`]: the building blocks: [`LifPopulation`] (voltage, threshold,
//!   reset, refractory clock, noise) and [`DoubleExp`] (the
//!   double-exponential synaptic filter). `plasticity`'s LIF network
//!   (Federer & Zylberberg, Fig. A4) is built on [`LifPopulation`].
//! * [`network`]: [`LifNetwork`], a recurrent LIF network simulated in
//!   batches of trials, rayon-parallel over trials, `f32` or `f64`
//!   ([`Real`]), with sparse spike propagation.
//! * [`convert`]: [`RateArrays`] (a rate network's arrays, from memory or a
//!   safetensors checkpoint, shape-checked), conversion at a scaling factor
//!   s, and the grid search over s scored by LIF task accuracy.
//! * [`spikes`]: [`SpikeTrains`] (unit, step) per trial, binned counts,
//!   safetensors/CSV output, and a trial's spikes in ms for a raster (drawn
//!   by `wm-plot` where results are reported: this crate draws nothing).
//!
//! Key design decision: no candle and no autograd here. A LIF simulation is
//! a tight sequential loop over 0.05-ms steps with per-unit state, where the
//! only matrix work is adding the weight columns of the few units that
//! spiked; a plain loop over a column-major weight matrix does that at a
//! fraction of a dense product's cost, and trials are independent, so they
//! run in parallel. Noise comes from per-trial streams of a seeded generator
//! ([`noise::NoiseRng`]), so results do not depend on the thread count.
#![deny(missing_docs)]

pub mod convert;
pub mod error;
pub mod lif;
pub mod network;
pub mod noise;
pub mod real;
pub mod spikes;

pub use convert::{RateArrays, ScaleResult, ScaleSearch, lif_accuracy, search_scale};
pub use error::{Result, SpikingError};
pub use lif::{DoubleExp, LifParams, LifPopulation};
pub use network::{LifNetwork, SimOptions, Simulation};
pub use noise::NoiseRng;
pub use real::Real;
pub use spikes::SpikeTrains;
