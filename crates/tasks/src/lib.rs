//! # wm-tasks
//!
//! Trial generators for working-memory tasks, independent of any network.
//!
//! A task is a small declarative object (in the spirit of neurogym): a
//! [`Timeline`] of named epochs with durations in ms, an input encoding, a
//! target with a loss mask, a scoring rule and, where the study defines one,
//! an ideal observer so a network's performance can be reported as a
//! fraction of optimal. [`Task::batch`] draws a [`TrialBatch`] from an
//! explicitly passed, seeded RNG, so the same seed always gives the same
//! trials.
//!
//! Key design decision: tasks know trials, encodings and scoring rules but
//! nothing of networks. A model hands back its output as a plain `[T, B, O]`
//! array and the task scores it ([`Task::score`]).
#![deny(missing_docs)]

pub mod batch;
pub mod error;
pub mod kim;
pub mod orhan_ma;
pub mod timeline;
pub mod xie;

pub use batch::{LossKind, OutputKind, Score, TrialBatch, TrialInfo};
pub use error::TaskError;
pub use orhan_ma::{OrhanMaTask, OrhanMaTaskOptions, orhan_ma_task};
pub use timeline::{Duration, Epoch, Timeline};
pub use xie::{XieMultitask, XieRule, XieTask, XieTaskOptions};

/// The RNG every task draws from: ChaCha8, seeded by the caller.
///
/// ChaCha's stream is fixed across `rand_chacha` releases (unlike `StdRng`),
/// so a recorded seed reproduces the same trials.
pub type TaskRng = rand_chacha::ChaCha8Rng;

/// A working-memory task: a trial generator plus its scoring rule.
pub trait Task: Send + Sync {
    /// Short name used in file names and tables (e.g. `"DE-1"`).
    fn name(&self) -> &str;
    /// Number of input channels `I`.
    fn n_inputs(&self) -> usize;
    /// Number of output channels `O`.
    fn n_outputs(&self) -> usize;
    /// The trial timeline (epochs in ms) and the step length it was built with.
    fn timeline(&self) -> &Timeline;
    /// Number of time steps `T` of every trial in a batch.
    fn n_steps(&self) -> usize {
        self.timeline().n_steps()
    }
    /// Nonlinearity applied to the network's read-out before the loss.
    fn output_kind(&self) -> OutputKind;
    /// Element-wise loss between output and target, averaged under the mask.
    fn loss_kind(&self) -> LossKind;
    /// Draw `n` fresh trials.
    fn batch(&self, rng: &mut TaskRng, n: usize) -> TrialBatch;
    /// Score a network's output `[T, B, O]` (after [`Task::output_kind`]) on `batch`.
    fn score(&self, batch: &TrialBatch, output: &[f32]) -> Score;
    /// The 0-based time step (in steps) at which [`Task::score`] reads the
    /// network's answer. Default: the last step, `T − 1`. Orhan & Ma read at
    /// `T − 5 = 145` (140 in the tethered condition).
    fn readout_step(&self) -> usize {
        self.n_steps().saturating_sub(1)
    }
    /// The largest [`Score::fractional_loss`] that still counts as a trained
    /// network (Orhan & Ma: 0.5), or `None` if the task has no such criterion.
    fn success_threshold(&self) -> Option<f64> {
        None
    }
}
