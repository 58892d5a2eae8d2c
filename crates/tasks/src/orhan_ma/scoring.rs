//! Ideal-observer-relative performance, "fractional loss" (Orhan & Ma
//! 2019; `build_performance` in the original `utils.py`, github.com/eminorhan/recurrent-memory).

use std::f64::consts::PI;

use wm_analysis::stats::finite_mean;

use super::observer::kl_bernoulli;
use super::{DeMetric, Scoring};
use crate::{Score, TrialBatch};

/// Clip applied to sigmoid outputs (and by the original before the loss).
const CLIP: f64 = 1e-6;

/// Orientation error (rad) between truth `s` and report `y` under `metric`.
pub(crate) fn orientation_error(s: f64, y: f64, metric: DeMetric) -> f64 {
    let e = (s - y).abs() % PI;
    match metric {
        DeMetric::Code => e,
        DeMetric::Circular => e.min(PI - e),
    }
}

pub(crate) fn score(
    scoring: Scoring,
    metric: DeMetric,
    readout: usize,
    batch: &TrialBatch,
    output: &[f32],
) -> Score {
    let (b_n, o_n) = (batch.batch_size, batch.n_outputs);
    assert_eq!(
        output.len(),
        batch.n_steps * b_n * o_n,
        "output must be [T, B, O] = [{}, {}, {}]",
        batch.n_steps,
        b_n,
        o_n
    );
    assert!(
        readout < batch.n_steps,
        "readout step {readout} ≥ T = {}",
        batch.n_steps
    );
    let at = |v: &[f32], b: usize, o: usize| f64::from(v[batch.output_index(readout, b, o)]);
    match scoring {
        Scoring::Estimation => {
            let (mut e_net, mut e_opt, mut n) = (0.0, 0.0, 0usize);
            for b in 0..b_n {
                for o in 0..o_n {
                    let s = at(&batch.target, b, o);
                    e_net += orientation_error(s, at(output, b, o), metric);
                    e_opt += orientation_error(s, batch.trials[b].ideal[o], metric);
                    n += 1;
                }
            }
            let (e_net, e_opt) = (e_net / n as f64, e_opt / n as f64);
            Score {
                error: e_net,
                ideal_error: Some(e_opt),
                fractional_loss: Some((e_net - e_opt) / e_opt),
                ..Score::default()
            }
        }
        Scoring::Binary => {
            let mut kl_net = Vec::with_capacity(b_n);
            let mut kl_half = Vec::with_capacity(b_n);
            let (mut correct, mut ideal_correct) = (0usize, 0usize);
            for b in 0..b_n {
                let c = at(&batch.target, b, 0) > 0.5;
                let p = batch.trials[b].ideal[0];
                let y = at(output, b, 0).clamp(CLIP, 1.0 - CLIP);
                kl_net.push(kl_bernoulli(p, y));
                kl_half.push(kl_bernoulli(p, 0.5));
                correct += usize::from((y > 0.5) == c);
                // A NaN posterior counts as a wrong answer.
                ideal_correct += usize::from(!p.is_nan() && (p > 0.5) == c);
            }
            // The original's numpy `nanmean`: a KL is NaN where the posterior
            // is 0 or 1 (0·ln 0) and never ±∞ (the output is clipped).
            let num = finite_mean(kl_net);
            let info = finite_mean(kl_half);
            Score {
                accuracy: Some(correct as f64 / b_n as f64),
                error: num,
                ideal_error: None,
                ideal_accuracy: Some(ideal_correct as f64 / b_n as f64),
                information: Some(info),
                fractional_loss: Some(num / info),
            }
        }
        Scoring::Sine => {
            let (mut sum, mut w) = (0.0, 0.0);
            for ((&y, &t), &m) in output.iter().zip(&batch.target).zip(&batch.mask) {
                sum += f64::from(m) * (f64::from(y) - f64::from(t)).abs();
                w += f64::from(m);
            }
            Score {
                error: sum / w,
                ideal_error: Some(0.0),
                ..Score::default()
            }
        }
    }
}
