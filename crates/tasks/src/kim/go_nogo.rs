//! Go-NoGo (the `go-nogo` task of github.com/rkim35/spikeRNN, and the NeurIPS
//! paper's ±1 version).

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{NegativeRule, threshold_score};
use crate::{
    LossKind, OutputKind, Score, Task, TaskError, TaskRng, Timeline, TrialBatch, TrialInfo,
};

/// Which Go-NoGo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GoNoGoVariant {
    /// The NeurIPS paper: a ±1 cue, target ±1 (the cue's sign) right after it.
    #[default]
    Signed,
    /// The original code: cue 1 (Go) or nothing (NoGo), target 1 or 0.
    CodeZeroOne,
}

/// Which scoring rule [`KimGoNoGo`]'s `score` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GoNoGoScoring {
    /// The rate model's rule: the whole response period; a 0/1 NoGo trial is
    /// correct if max |o| < `nogo_threshold`.
    #[default]
    Rate,
    /// The original code's LIF rule: the window starts `lif_window_offset_ms`
    /// into the response period (500 ms into the trial at the defaults), and
    /// a 0/1 NoGo trial is correct if max o < `nogo_threshold` (no absolute
    /// value). Go and signed trials are scored as in `Rate`, on this window.
    Lif,
}

/// Timing and variant of Go-NoGo (ms). Defaults: 250 ms fixation, 125-ms
/// cue, 625 ms response (1 s, T = 200 steps of 5 ms), signed variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GoNoGoOptions {
    /// ±1 (paper) or 0/1 (code).
    pub variant: GoNoGoVariant,
    /// Fixation before the cue (code: 250 ms).
    pub fixation_ms: f64,
    /// Cue duration (125 ms).
    pub cue_ms: f64,
    /// Response period after the cue, where the target is set (625 ms).
    pub response_ms: f64,
    /// Model step (5 ms).
    pub dt_ms: f64,
    /// Accuracy threshold (0.7); the code's NoGo trials need `max |o| < 0.3`.
    pub threshold: f64,
    /// NoGo threshold of the 0/1 variant (0.3).
    pub nogo_threshold: f64,
    /// Rate or LIF scoring rule (default rate; conversion scores LIF
    /// networks with [`KimGoNoGo::lif_scoring`]).
    pub scoring: GoNoGoScoring,
    /// Where the LIF scoring window starts after the response onset, ms
    /// (the code: sample 10,000 of 0.05 ms = 500 ms into the trial, 125 ms
    /// after the response onset at 375 ms).
    pub lif_window_offset_ms: f64,
}

impl Default for GoNoGoOptions {
    fn default() -> Self {
        Self {
            variant: GoNoGoVariant::Signed,
            fixation_ms: 250.0,
            cue_ms: 125.0,
            response_ms: 625.0,
            dt_ms: 5.0,
            threshold: 0.7,
            nogo_threshold: 0.3,
            scoring: GoNoGoScoring::Rate,
            lif_window_offset_ms: 125.0,
        }
    }
}

/// The Go-NoGo task.
#[derive(Debug, Clone)]
pub struct KimGoNoGo {
    opts: GoNoGoOptions,
    timeline: Timeline,
}

impl KimGoNoGo {
    /// Build the task; errors name the offending option.
    pub fn new(opts: GoNoGoOptions) -> Result<Self, TaskError> {
        for (k, v, min_ok) in [
            ("fixation_ms", opts.fixation_ms, true),
            ("cue_ms", opts.cue_ms, false),
            ("response_ms", opts.response_ms, false),
            ("dt_ms", opts.dt_ms, false),
            ("threshold", opts.threshold, false),
            ("nogo_threshold", opts.nogo_threshold, false),
            ("lif_window_offset_ms", opts.lif_window_offset_ms, true),
        ] {
            let ok = v.is_finite() && (v > 0.0 || (min_ok && v == 0.0));
            if !ok {
                let allowed = if min_ok {
                    "finite, ≥ 0"
                } else {
                    "finite, > 0"
                };
                return Err(TaskError::invalid(format!("go_nogo.{k}"), v, allowed));
            }
        }
        let timeline = Timeline::fixed(
            &[
                ("fixation", opts.fixation_ms),
                ("cue", opts.cue_ms),
                ("response", opts.response_ms),
            ],
            opts.dt_ms,
        );
        Ok(Self { opts, timeline })
    }

    /// The options.
    pub fn options(&self) -> &GoNoGoOptions {
        &self.opts
    }

    /// The same task (same trials) scored by the original code's LIF rule
    /// ([`GoNoGoScoring::Lif`]), for converted spiking networks.
    pub fn lif_scoring(&self) -> Self {
        Self {
            opts: GoNoGoOptions {
                scoring: GoNoGoScoring::Lif,
                ..self.opts.clone()
            },
            timeline: self.timeline.clone(),
        }
    }

    /// Steps `[start, end)` of `"fixation"`, `"cue"` or `"response"`.
    pub fn epoch(&self, name: &str) -> std::ops::Range<usize> {
        self.timeline.epoch_steps(name).unwrap_or(0..0)
    }

    /// A batch with the given cues: `true` is Go / "+1", `false` NoGo / "−1".
    pub fn batch_with(&self, go: &[bool]) -> TrialBatch {
        let nb = go.len();
        let mut b = TrialBatch::zeros(self.n_steps(), nb, 1, 1);
        b.mask.iter_mut().for_each(|m| *m = 1.0);
        let signed = self.opts.variant == GoNoGoVariant::Signed;
        for (k, &g) in go.iter().enumerate() {
            let (cue, target) = match (signed, g) {
                (_, true) => (1.0, 1.0),
                (true, false) => (-1.0, -1.0),
                (false, false) => (0.0, 0.0),
            };
            for t in self.epoch("cue") {
                let i = b.input_index(t, k, 0);
                b.input[i] = cue;
            }
            for t in self.epoch("response") {
                let i = b.output_index(t, k, 0);
                b.target[i] = target;
            }
            b.trials.push(TrialInfo {
                stimuli: vec![f64::from(cue)],
                condition: Some(u8::from(g)),
                ..TrialInfo::default()
            });
        }
        b
    }
}

impl Task for KimGoNoGo {
    fn name(&self) -> &str {
        "Go-NoGo"
    }
    fn n_inputs(&self) -> usize {
        1
    }
    fn n_outputs(&self) -> usize {
        1
    }
    fn timeline(&self) -> &Timeline {
        &self.timeline
    }
    fn output_kind(&self) -> OutputKind {
        OutputKind::Linear
    }
    fn loss_kind(&self) -> LossKind {
        LossKind::Squared
    }
    fn batch(&self, rng: &mut TaskRng, n: usize) -> TrialBatch {
        let go: Vec<bool> = (0..n).map(|_| rng.random::<f64>() <= 0.5).collect();
        self.batch_with(&go)
    }
    fn score(&self, batch: &TrialBatch, output: &[f32]) -> Score {
        let zero_one = self.opts.variant == GoNoGoVariant::CodeZeroOne;
        let response = self.epoch("response");
        let (window, nogo) = match self.opts.scoring {
            GoNoGoScoring::Rate => (
                response,
                NegativeRule::below_abs(zero_one, self.opts.nogo_threshold),
            ),
            GoNoGoScoring::Lif => {
                let offset = (self.opts.lif_window_offset_ms / self.opts.dt_ms).round() as usize;
                (
                    (response.start + offset).min(response.end)..response.end,
                    NegativeRule::below_max(zero_one, self.opts.nogo_threshold),
                )
            }
        };
        threshold_score(batch, output, window, self.opts.threshold, nogo)
    }
}
