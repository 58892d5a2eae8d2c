//! Kim & Sejnowski's tasks (spec `kim-sejnowski.md` §2): delayed
//! match-to-sample (DMS, "xor" in the original code) and Go-NoGo, with a
//! scalar output trained towards ±1 (or 0/1) targets.
//!
//! Both tasks use 5-ms steps by default. The loss is computed by the trainer
//! (`wm_rate_rnn::dale`: root of the summed squared error over the trial,
//! spec §1.4) on every step, so the mask is 1 everywhere and the target is 0
//! outside the response epoch. The original code pairs output step k + 1
//! with target step k; here output and target are aligned (spec §6 item 6).
//!
//! Scoring follows the code's ±0.7 rules over the response window: a "+1"
//! trial is correct if `max o > 0.7`, a "−1" trial if `min o < −0.7`; in the
//! code's 0/1 Go-NoGo variant a NoGo trial is correct if `max |o| < 0.3`.
//! The same scoring is used for LIF networks whose filtered-spike output is
//! sampled at the rate model's steps.

mod dms;
mod go_nogo;

pub use dms::{DmsOptions, KimDms};
pub use go_nogo::{GoNoGoOptions, GoNoGoVariant, KimGoNoGo};

use crate::{Score, TrialBatch};

/// Accuracy of a scalar output `[T, B, 1]` on trials whose condition is
/// "+1" (`positive[b]`) or "−1", judged over steps `window`: "+1" is correct
/// if the maximum exceeds `threshold`, "−1" if the minimum is below
/// `−threshold`. With `zero_negative`, a "−1" trial is instead a 0-target
/// trial, correct if `max |o| < zero_threshold`.
pub(crate) fn threshold_score(
    batch: &TrialBatch,
    output: &[f32],
    window: std::ops::Range<usize>,
    positive: &[bool],
    threshold: f64,
    zero_negative: Option<f64>,
) -> Score {
    let (nt, nb) = (batch.n_steps, batch.batch_size);
    assert_eq!(output.len(), nt * nb, "output must be [T, B, 1]");
    let mut correct = 0usize;
    for (b, &pos) in positive.iter().enumerate().take(nb) {
        let vals = window
            .clone()
            .filter(|&t| t < nt)
            .map(|t| output[t * nb + b] as f64);
        let (mut lo, mut hi, mut abs) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
        for v in vals {
            lo = lo.min(v);
            hi = hi.max(v);
            abs = abs.max(v.abs());
        }
        let ok = if pos {
            hi > threshold
        } else if let Some(z) = zero_negative {
            abs < z
        } else {
            lo < -threshold
        };
        correct += usize::from(ok);
    }
    // Root-sum-square error per trial (the training loss), averaged over trials.
    let mut err = 0.0;
    for b in 0..nb {
        let mut s = 0.0;
        for t in 0..nt {
            let i = t * nb + b;
            let d = (output[i] - batch.target[i]) as f64 * batch.mask[i] as f64;
            s += d * d;
        }
        err += s.sqrt();
    }
    Score {
        accuracy: Some(correct as f64 / nb.max(1) as f64),
        error: err / nb.max(1) as f64,
        ..Score::default()
    }
}
