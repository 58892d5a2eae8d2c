//! Population-vector decoding of the response ring and the correct-trial rule
//! (as in Xie et al.'s code, after github.com/gyyang/multitask).

use std::f64::consts::TAU;

use serde::{Deserialize, Serialize};

use wm_analysis::ring::{circular_distance, wrap_angle_positive};

use super::{CORRECT_TOLERANCE, FIXATION_RELEASE, XieTask};
use crate::{Score, TrialBatch};

/// The population vector of a ring of outputs: θ̂ = atan2(Σ yₖ sin θₖ,
/// Σ yₖ cos θₖ) mod 2π with θₖ = 2πk/R, on the raw outputs (baseline
/// included), in `[0, 2π)`. NaN when the resultant is zero.
pub fn decode_ring(ring: &[f64]) -> f64 {
    let r = ring.len() as f64;
    let (mut c, mut s, mut mass) = (0.0, 0.0, 0.0);
    for (k, &y) in ring.iter().enumerate() {
        let th = TAU * k as f64 / r;
        c += y * th.cos();
        s += y * th.sin();
        mass += y.abs();
    }
    // Also catches NaN input: a NaN norm fails the comparison.
    if c.hypot(s).partial_cmp(&(1e-12 * mass)) != Some(std::cmp::Ordering::Greater) {
        return f64::NAN;
    }
    wrap_angle_positive(s.atan2(c))
}

/// Xie's correct-trial rule: fixation released (output < 0.5) and the
/// decoded direction within 0.2π (36°) of the answer.
pub fn is_correct(fixation: f64, decoded: f64, answer: f64) -> bool {
    fixation < FIXATION_RELEASE && circular_distance(decoded, answer) < CORRECT_TOLERANCE
}

/// What the network did on one trial, read at the task's scoring step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrialOutcome {
    /// Decoded saccade direction θ̂, rad in `[0, 2π)`.
    pub decoded: f64,
    /// The correct direction, rad.
    pub answer: f64,
    /// Fixation output at the scoring step.
    pub fixation: f64,
    /// Xie's correct-trial rule (plus fixation during the delay in strict mode).
    pub correct: bool,
}

/// Score every trial of `batch` (drawn from `task`) given the network's
/// output `[T, B, 1 + R]` after the sigmoid.
pub fn score_trials(task: &XieTask, batch: &TrialBatch, output: &[f32]) -> Vec<TrialOutcome> {
    let r = task.n_ring();
    let o = batch.n_outputs;
    assert_eq!(o, r + 1, "output width {o} is not 1 + R = {}", r + 1);
    assert_eq!(
        output.len(),
        batch.n_steps * batch.batch_size * o,
        "output is not [T, B, O]"
    );
    let strict = task.options().strict_fixation;
    batch
        .trials
        .iter()
        .enumerate()
        .map(|(b, info)| {
            let s = task.readout_step_of(info);
            let i = batch.output_index(s, b, 0);
            let fixation = f64::from(output[i]);
            let ring: Vec<f64> = output[i + 1..i + 1 + r]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let decoded = decode_ring(&ring);
            let answer = info.stimuli.get(1).copied().unwrap_or(f64::NAN);
            let mut correct = is_correct(fixation, decoded, answer);
            if strict && correct {
                let lay = task.layout_of(info);
                correct = (lay.cue_off.min(lay.response_on)..lay.response_on)
                    .all(|t| f64::from(output[batch.output_index(t, b, 0)]) > FIXATION_RELEASE);
            }
            TrialOutcome {
                decoded,
                answer,
                fixation,
                correct,
            }
        })
        .collect()
}

/// Accuracy and mean decoded error (rad, over trials with a defined direction).
pub(crate) fn summarize(outcomes: &[TrialOutcome]) -> Score {
    let n = outcomes.len().max(1) as f64;
    let correct = outcomes.iter().filter(|o| o.correct).count() as f64;
    let errs: Vec<f64> = outcomes
        .iter()
        .map(|o| circular_distance(o.decoded, o.answer))
        .filter(|e| e.is_finite())
        .collect();
    let error = if errs.is_empty() {
        f64::NAN
    } else {
        errs.iter().sum::<f64>() / errs.len() as f64
    };
    Score {
        accuracy: Some(correct / n),
        error,
        ..Default::default()
    }
}
