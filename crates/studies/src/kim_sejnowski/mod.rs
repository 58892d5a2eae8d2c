//! Kim & Sejnowski 2019: "Spiking recurrent networks as a model to probe
//! neuronal timescales specific to working memory" (NeurIPS workshop), with
//! the cross-temporal analysis of Kim & Sejnowski 2021 (original
//! code: github.com/rkim35/spikeRNN and github.com/rkim35/wmRNN).
//!
//! Pipeline, per (task × τ^s regime × replicate), one network per core:
//! train a Dale's-law rate RNN (`wm_rate_rnn::dale`) on DMS or Go-NoGo until
//! the stopping rule holds → convert it to a LIF network and search the
//! scaling factor (`wm_spiking`) → keep it if its LIF accuracy reaches the
//! threshold → 50 trials of spontaneous activity → spike-count
//! autocorrelation timescale of every unit (`wm_analysis::timescale`). Then:
//! per-network mean timescales, Student t-test DMS vs Go-NoGo per τ regime,
//! histograms, and the cross-temporal discriminability of long- vs
//! short-timescale DMS units with a cluster permutation test.

pub mod config;
pub mod discrim;
pub mod network;
pub mod report;
pub mod run;
