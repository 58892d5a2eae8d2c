//! # wm-rate-rnn
//!
//! Rate RNNs trained by backpropagation through time on candle, with
//! checkpoints that resume exactly and activity recording for analysis.
//!
//! * [`Vanilla`]: Orhan & Ma 2019's discrete-time ReLU network (λ0/σ0
//!   initialisation, alternative nonlinearities, Hebbian fast weights).
//! * [`Leaky`]: the continuous-time rate network with input and recurrent
//!   noise of Xie et al. 2022 (Methods); [`DaleLeaky`]: the excitatory/
//!   inhibitory network with trainable per-unit time constants of Kim, Li &
//!   Sejnowski 2019 (PNAS), trained by its own loop ([`train_kim`]).
//! * [`train()`](train::train): fresh seeded batch per iteration, the objective of
//!   [`loss`] (task loss + end-of-trial activity penalty + ρΣθ²), [`Adam`]
//!   whose moments are checkpointed, NaN/Inf detection, log rows.
//! * [`record()`](record::record) / [`evaluate`](record::evaluate): activity `[T, B, N]` and test performance.
//!
//! Key design decision: the recurrent loop is one candle op with a
//! hand-written BPTT backward ([`recurrence`]): per-step candle ops make
//! backward slow (a graph node and small gemms per step), while here the
//! weight gradient is one large gemm per block of time steps. The per-step
//! candle path is kept as the independent reference the tests check against.
//! The input projection, the read-out and the activity penalty's Σₙ r²
//! live inside the same op ([`recurrence::recurrence_with_readout`]), so no
//! `[T, B, N]` tensor enters candle's graph at all (each such tensor costs a
//! zero-filled gradient and an accumulating add per backward pass). The
//! per-step products run against weights packed once per pass
//! ([`linalg::PackedRhs`]); the input products walk only the nonzero
//! inputs when at most a quarter are nonzero, as with Poisson spike counts
//! ([`linalg::SparseRows`]); Adam updates in place ([`Adam`]); f32 softplus
//! and logistic use [`fastmath`]. The binaries (`wm`, `xtask`, the benches)
//! use mimalloc, which keeps the step's large buffers instead of returning
//! them to the kernel after every pass.
//!
//! Every random draw (initialisation, trials) comes from an explicitly passed
//! seeded ChaCha8 generator; candle's own RNG is never used (it cannot be seeded).
#![deny(missing_docs)]

pub mod checkpoint;
pub mod dale;
pub mod error;
pub mod fastmath;
pub mod leaky;
pub mod linalg;
pub mod loss;
pub mod model;
pub mod nonlinearity;
pub mod optim;
pub mod record;
pub mod recurrence;
pub mod train;
pub mod vanilla;

pub use candle_core::DType;
pub use dale::{DaleConfig, DaleLeaky};
pub use error::{RateRnnError, Result};
pub use leaky::{Leaky, LeakyConfig, Noise};
pub use model::{Forward, RateModel};
pub use nonlinearity::Nonlinearity;
pub use optim::{Adam, AdamConfig};
pub use train::kim::{KimTrainConfig, train_kim};
pub use train::{TrainConfig, train, train_after};
pub use vanilla::{FastWeights, RecurrencePath, Vanilla, VanillaConfig};
