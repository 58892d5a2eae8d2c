//! # wm-analysis
//!
//! Measures and statistics for working-memory recordings, real or simulated.
//! This crate stands alone: it depends on no other `wm` crate and not on
//! candle, so it can be used on one's own recordings.
//!
//! Inputs are [`ndarray`] views with documented shapes and units; outputs are
//! plain, serde-serializable structs. Errors are typed ([`AnalysisError`]);
//! no function panics on bad data.
#![deny(missing_docs)]

pub mod discriminability;
pub mod error;
pub mod lm;
pub mod permutation;
pub mod ring;
pub mod schur;
pub mod sequentiality;
pub mod spikes;
pub mod stats;
pub mod timescale;
pub mod weight_profile;

pub use error::{AnalysisError, Result};
