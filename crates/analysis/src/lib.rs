//! # wm-analysis
//!
//! Measures and statistics for working-memory recordings, real or simulated.
//! This crate stands alone: it depends on no other `wm` crate and not on
//! candle, so it can be used on one's own recordings.
//!
//! Inputs are [`ndarray`] views with documented shapes and units; outputs are
//! plain, serde-serializable structs. Errors are typed ([`AnalysisError`]);
//! no function panics on bad data (empty arrays, NaN, mismatched shapes, zero
//! variance): it returns an error or a NaN that its docs announce.
//!
//! ## Measures
//!
//! | module | measure | paper | shapes and units |
//! |---|---|---|---|
//! | [`sequentiality`] | sequentiality index: peak-time entropy + mean log ridge-to-background ratio; peak-time sort for heat maps | Orhan & Ma 2019 (after Harvey et al. 2012) | activity `[trials, time, units]` (or `[time, units]`) in the network's rate units; SI in nats |
//! | [`weight_profile`] | mean and s.d. of `W[i, i + k]` by offset k after sorting units by peak time | Orhan & Ma 2019 | `W` `[units, units]`, weight units; k in units |
//! | [`schur`] | real Schur form `W = Q T Qᵀ`, Schur-mode interactions, significant modes, mode frequencies | Orhan & Ma 2019, Supp. Fig. 12 | `W` `[N, N]`; frequencies in rad per step |
//! | [`lm`] | Levenberg–Marquardt as an `argmin` solver for small least-squares models | Levenberg 1944; Marquardt 1963 | parameters as the model defines them |
//! | [`timescale`] | spike-count autocorrelation timescale: across-trial autocorrelation, fit `A(exp(−Δ/τ) + B)`, inclusion rules | Kim & Sejnowski 2021 (after Murray et al. 2014) | counts `[units, trials, bins]` of 50-ms bins; τ and lags in ms |
//! | [`spikes`] | binning, firing rates, PSTH, Fano factor, Gaussian and causal smoothing | Kim & Sejnowski 2021 | times in ms, rates in Hz, counts `[trials, bins]`; Fano factor dimensionless |
//! | [`discriminability`] | cross-temporal discriminability: split-half pairwise-difference correlation, Fisher z | Kim & Sejnowski 2021 (after Murray et al. 2017) | rates `[trials, time, units]` per condition; map `[t1, t2]`, dimensionless r and z |
//! | [`permutation`] | cluster-based permutation test over a 2-D map, cluster mass, seeded label permutations | Maris & Oostenveld 2007 | map `[rows, cols]` in its own units; p-values |
//! | [`ring`] | population-vector decoding, preferred direction, tuning curves aligned to the preferred location, signed angular deviation in (−π, π] | Xie et al. 2022 (after Funahashi et al. 1989; Wimmer et al. 2014) | angles in rad; tuning `[units, locations]` |
//! | [`stats`] | mean ± SEM, one-sample/paired/Student/Welch t-tests, one-way ANOVA, Pearson r, OLS with Wald tests and 95% bands | classical (distributions from statrs) | samples as slices; p-values two-sided |
//!
//! Random resampling ([`permutation`]) takes an explicitly passed, seeded
//! `rand_chacha::ChaCha8Rng`, so every result is reproducible; per-unit and
//! per-trial work runs in parallel with rayon.
#![deny(missing_docs)]

pub mod discriminability;
pub mod error;
pub mod lm;
pub mod odr;
pub mod permutation;
pub mod ring;
pub mod schur;
pub mod sequentiality;
pub mod spikes;
pub mod stats;
pub mod timescale;
pub mod weight_profile;

pub use error::{AnalysisError, Result};
