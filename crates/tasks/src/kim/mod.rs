//! Kim & Sejnowski's tasks, as `rate/main.py` of github.com/rkim35/spikeRNN
//! defines them: delayed match-to-sample (DMS, "xor" in the original code)
//! and Go-NoGo, with a scalar output trained towards ±1 (or 0/1) targets.
//!
//! Both tasks use 5-ms steps by default. The loss is computed by the trainer
//! (`wm_rate_rnn::dale`: root of the summed squared error over the trial,
//! as in the original code) on every step, so the mask is 1 everywhere and the target is 0
//! outside the response epoch. The original code pairs output step k + 1
//! with target step k; here output and target are aligned.
//!
//! Scoring follows the code's ±0.7 rules over the response window: a "+1"
//! trial is correct if `max o > 0.7`, a "−1" trial if `min o < −0.7`; in the
//! code's 0/1 Go-NoGo variant a NoGo trial is correct if `max |o| < 0.3`.
//! LIF networks (filtered-spike output sampled at the rate model's steps)
//! are scored the same way, except Go-NoGo, where the code's LIF rule is
//! [`KimGoNoGo::lif_scoring`]: a window starting 500 ms into the trial and
//! NoGo correct if `max o < 0.3`, without the absolute value (the original
//! `spiking/lambda_grid_search.m`).

mod dms;
mod go_nogo;

pub use dms::{DmsOptions, KimDms};
pub use go_nogo::{GoNoGoOptions, GoNoGoScoring, GoNoGoVariant, KimGoNoGo};

use crate::{Score, TrialBatch};

/// How a trial that is not "+1" is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum NegativeRule {
    /// A "−1" trial: correct if the minimum is below `−threshold`.
    Signed,
    /// A 0-target trial: correct if `max |o|` is below the value (rate rule).
    BelowAbs(f64),
    /// A 0-target trial: correct if `max o` is below the value (the code's LIF rule).
    BelowMax(f64),
}

impl NegativeRule {
    /// `BelowAbs(z)` for a 0/1 task, else `Signed`.
    pub(crate) fn below_abs(zero_one: bool, z: f64) -> Self {
        if zero_one {
            Self::BelowAbs(z)
        } else {
            Self::Signed
        }
    }

    /// `BelowMax(z)` for a 0/1 task, else `Signed`.
    pub(crate) fn below_max(zero_one: bool, z: f64) -> Self {
        if zero_one {
            Self::BelowMax(z)
        } else {
            Self::Signed
        }
    }
}

/// Accuracy of a scalar output `[T, B, 1]` on trials whose condition is
/// "+1" (`Some(1)`: match, Go) or not, judged over steps `window`: "+1" is
/// correct if the maximum exceeds `threshold`; the others by `negative`.
pub(crate) fn threshold_score(
    batch: &TrialBatch,
    output: &[f32],
    window: std::ops::Range<usize>,
    threshold: f64,
    negative: NegativeRule,
) -> Score {
    let (nt, nb) = (batch.n_steps, batch.batch_size);
    assert_eq!(output.len(), nt * nb, "output must be [T, B, 1]");
    let mut correct = 0usize;
    let positive = batch.trials.iter().map(|t| t.condition == Some(1));
    for (b, pos) in positive.enumerate().take(nb) {
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
        } else {
            match negative {
                NegativeRule::Signed => lo < -threshold,
                NegativeRule::BelowAbs(z) => abs < z,
                NegativeRule::BelowMax(z) => hi < z,
            }
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
