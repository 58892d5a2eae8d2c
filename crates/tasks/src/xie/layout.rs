//! Trial timelines of the Xie tasks (Xie et al. 2022, Methods; their code's
//! `task_and_network/task.py`), in ms and in steps.

use super::{XieRule, XieTaskOptions};
use crate::{Duration, Epoch, Timeline};

/// Step boundaries of one trial (0-based steps; ranges are `[on, off)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Steps of the trial array `T`.
    pub n_steps: usize,
    /// First step of the cue (stimulus) on the input ring.
    pub cue_on: usize,
    /// First step after the cue.
    pub cue_off: usize,
    /// Distractor `[on, off)` (ODRD only).
    pub distractor: Option<(usize, usize)>,
    /// First step without fixation input.
    pub fix_off: usize,
    /// First step of the response target (fixation target 0.05, ring bump on).
    pub response_on: usize,
    /// First step of the weight-5 "post" cost period (response + 100 ms).
    pub post_on: usize,
    /// First step after the cost window (`n_steps`, except variable-delay ODR:
    /// response + 500 ms).
    pub mask_end: usize,
    /// Steps of the initial 100 ms with zero cost.
    pub settle: usize,
}

impl Layout {
    /// The layout of `rule` (the delay only matters for the variable-delay ODR).
    pub fn new(rule: XieRule, opts: &XieTaskOptions, variable_delay_ms: f64) -> Self {
        let st = |ms: f64| (ms / opts.dt_ms).round() as usize;
        // (cue on, cue off, distractor, fixation off, response on, trial end, mask end), ms.
        let (cue_on, cue_off, distractor, fix_off, response_on, end, mask_end) = match rule {
            XieRule::Odr => (1000.0, 1500.0, None, 3000.0, 3000.0, 3500.0, None),
            XieRule::Odr3000 => (1000.0, 1500.0, None, 4500.0, 4500.0, 5000.0, None),
            XieRule::OdrVariable => {
                let off = 1500.0 + variable_delay_ms;
                (1000.0, 1500.0, None, off, off, 5000.0, Some(off + 500.0))
            }
            XieRule::Odrd => (
                1000.0,
                1500.0,
                Some((2000.0, 2500.0)),
                3000.0,
                3000.0,
                3500.0,
                None,
            ),
            XieRule::Overlap => (1000.0, 1100.0, None, 1100.0, 1100.0, 1600.0, None),
            XieRule::ZeroGap => (1000.0, 1100.0, None, 1000.0, 1000.0, 1600.0, None),
            XieRule::Gap => (1100.0, 1200.0, None, 1000.0, 1100.0, 1700.0, None),
            XieRule::Gap500 => (1500.0, 1600.0, None, 1000.0, 1500.0, 2100.0, None),
        };
        let n_steps = st(end);
        Self {
            n_steps,
            cue_on: st(cue_on),
            cue_off: st(cue_off),
            distractor: distractor.map(|(a, b)| (st(a), st(b))),
            fix_off: st(fix_off),
            response_on: st(response_on),
            post_on: st(response_on + 100.0),
            mask_end: mask_end.map_or(n_steps, |m| st(m).min(n_steps)),
            settle: st(100.0),
        }
    }

    /// Cost weight at step `s` before squaring and before the fixation
    /// output's ×2: 0 (first 100 ms), 1 (until the response), 0 (100-ms
    /// grace), 5 (until `mask_end`), 0 after.
    pub fn cost_weight(&self, s: usize) -> f64 {
        if s < self.settle {
            0.0
        } else if s < self.response_on {
            1.0
        } else if s < self.post_on {
            0.0
        } else if s < self.mask_end {
            super::POST_WEIGHT
        } else {
            0.0
        }
    }
}

/// The named epochs the analyses use: `fix1`, `stim1`, `delay1`,
/// `go1` (ODRD: `delay1`, `distract1`, `delay2`; gap tasks: `gap1` before
/// `stim1`). In zero-gap and gap tasks the response period starts at the
/// stimulus, so `go1` here is the part after it.
pub(crate) fn timeline(rule: XieRule, opts: &XieTaskOptions) -> Timeline {
    let dt = opts.dt_ms;
    match rule {
        XieRule::Odr => Timeline::fixed(
            &[
                ("fix1", 1000.0),
                ("stim1", 500.0),
                ("delay1", 1500.0),
                ("go1", 500.0),
            ],
            dt,
        ),
        XieRule::Odr3000 => Timeline::fixed(
            &[
                ("fix1", 1000.0),
                ("stim1", 500.0),
                ("delay1", 3000.0),
                ("go1", 500.0),
            ],
            dt,
        ),
        XieRule::OdrVariable => {
            let max = opts.variable_delays_ms.iter().copied().fold(0.0, f64::max);
            let e = |n: &str, d| Epoch {
                name: n.into(),
                duration: d,
            };
            Timeline {
                epochs: vec![
                    e("fix1", Duration::Fixed(1000.0)),
                    e("stim1", Duration::Fixed(500.0)),
                    e("delay1", Duration::Choice(opts.variable_delays_ms.clone())),
                    e("go1", Duration::Fixed(5000.0 - 1500.0 - max)),
                ],
                dt_ms: dt,
            }
        }
        XieRule::Odrd => Timeline::fixed(
            &[
                ("fix1", 1000.0),
                ("stim1", 500.0),
                ("delay1", 500.0),
                ("distract1", 500.0),
                ("delay2", 500.0),
                ("go1", 500.0),
            ],
            dt,
        ),
        XieRule::Overlap | XieRule::ZeroGap => {
            Timeline::fixed(&[("fix1", 1000.0), ("stim1", 100.0), ("go1", 500.0)], dt)
        }
        XieRule::Gap => Timeline::fixed(
            &[
                ("fix1", 1000.0),
                ("gap1", 100.0),
                ("stim1", 100.0),
                ("go1", 500.0),
            ],
            dt,
        ),
        XieRule::Gap500 => Timeline::fixed(
            &[
                ("fix1", 1000.0),
                ("gap1", 500.0),
                ("stim1", 100.0),
                ("go1", 500.0),
            ],
            dt,
        ),
    }
}
