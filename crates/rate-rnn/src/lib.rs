//! # wm-rate-rnn
//!
//! Rate RNN models trained by backpropagation through time on candle.
#![deny(missing_docs)]

pub mod nonlinearity;

pub use nonlinearity::Nonlinearity;
