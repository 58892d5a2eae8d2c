//! Delayed match-to-sample (Kim & Sejnowski 2019; "xor" in the original code,
//! github.com/rkim35/spikeRNN).

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{NegativeRule, threshold_score};
use crate::{
    LossKind, OutputKind, Score, Task, TaskError, TaskRng, Timeline, TrialBatch, TrialInfo,
};

/// Timing of the DMS task, all in ms.
///
/// Two input channels: channel 0 carries the first stimulus s1 ∈ {±1} during
/// `stimulus_1`, channel 1 the second stimulus s2 ∈ {±1} during
/// `stimulus_2` (each sign with probability ½). The target is +1 ("same",
/// s1·s2 = +1) or −1 ("different") from `response_gap_ms` after s2's offset
/// for `target_ms`, and 0 elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DmsOptions {
    /// Fixation before s1 (paper: 1000 ms; code: 250 ms).
    pub fixation_ms: f64,
    /// Duration of each stimulus (250 ms in both).
    pub stimulus_ms: f64,
    /// Delay between s1 offset and s2 onset (paper: 750 ms; code: 50 ms).
    pub delay_ms: f64,
    /// Gap between s2 offset and the start of the ±1 target (code: 50 ms).
    pub response_gap_ms: f64,
    /// Duration of the ±1 target (code: 500 ms).
    pub target_ms: f64,
    /// Zero-target tail after the target (code: 150 ms).
    pub tail_ms: f64,
    /// Model step (5 ms).
    pub dt_ms: f64,
    /// Start of the scoring window, ms after s2 offset (code: 200 ms, i.e. step 200 of the 300-step trial).
    pub score_from_ms: f64,
    /// Accuracy threshold on the output (0.7).
    pub threshold: f64,
}

impl DmsOptions {
    /// The task as the NeurIPS paper states it: 1 s fixation, two 250-ms
    /// stimuli separated by a 750-ms delay, target ±1 after the second
    /// stimulus (the response epoch's length is not stated: we use the code's
    /// 50-ms gap, 500-ms target and 150-ms tail). 2.95 s in all.
    pub fn paper() -> Self {
        Self {
            fixation_ms: 1000.0,
            stimulus_ms: 250.0,
            delay_ms: 750.0,
            response_gap_ms: 50.0,
            target_ms: 500.0,
            tail_ms: 150.0,
            dt_ms: 5.0,
            score_from_ms: 200.0,
            threshold: 0.7,
        }
    }

    /// The original code's short-delay `xor` task: 250 ms
    /// fixation, 50 ms delay, 1.5 s in all (T = 300 steps).
    pub fn code_short_delay() -> Self {
        Self {
            fixation_ms: 250.0,
            delay_ms: 50.0,
            ..Self::paper()
        }
    }

    /// Check ranges.
    pub fn validate(&self) -> Result<(), TaskError> {
        let nonneg = [
            ("fixation_ms", self.fixation_ms),
            ("delay_ms", self.delay_ms),
            ("response_gap_ms", self.response_gap_ms),
            ("tail_ms", self.tail_ms),
            ("score_from_ms", self.score_from_ms),
        ];
        for (k, v) in nonneg {
            if !(v.is_finite() && v >= 0.0) {
                return Err(TaskError::invalid(format!("dms.{k}"), v, "finite, ≥ 0"));
            }
        }
        for (k, v) in [
            ("stimulus_ms", self.stimulus_ms),
            ("target_ms", self.target_ms),
            ("dt_ms", self.dt_ms),
            ("threshold", self.threshold),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(TaskError::invalid(format!("dms.{k}"), v, "finite, > 0"));
            }
        }
        if self.score_from_ms >= self.response_gap_ms + self.target_ms + self.tail_ms {
            return Err(TaskError::invalid(
                "dms.score_from_ms",
                self.score_from_ms,
                "inside the response period: < response_gap_ms + target_ms + tail_ms",
            ));
        }
        Ok(())
    }
}

impl Default for DmsOptions {
    fn default() -> Self {
        Self::paper()
    }
}

/// The DMS task.
#[derive(Debug, Clone)]
pub struct KimDms {
    opts: DmsOptions,
    timeline: Timeline,
}

impl KimDms {
    /// Build the task; errors name the offending option.
    pub fn new(opts: DmsOptions) -> Result<Self, TaskError> {
        opts.validate()?;
        let timeline = Timeline::fixed(
            &[
                ("fixation", opts.fixation_ms),
                ("stimulus_1", opts.stimulus_ms),
                ("delay", opts.delay_ms),
                ("stimulus_2", opts.stimulus_ms),
                ("gap", opts.response_gap_ms),
                ("target", opts.target_ms),
                ("tail", opts.tail_ms),
            ],
            opts.dt_ms,
        );
        Ok(Self { opts, timeline })
    }

    /// The options.
    pub fn options(&self) -> &DmsOptions {
        &self.opts
    }

    /// Steps `[start, end)` of an epoch (`"fixation"`, `"stimulus_1"`, `"delay"`,
    /// `"stimulus_2"`, `"gap"`, `"target"`, `"tail"`).
    pub fn epoch(&self, name: &str) -> std::ops::Range<usize> {
        self.timeline.epoch_steps(name).unwrap_or(0..0)
    }

    /// Steps over which [`Task::score`] reads the answer.
    pub fn score_window(&self) -> std::ops::Range<usize> {
        let s2_end = self.epoch("stimulus_2").end;
        s2_end + self.timeline.steps(self.opts.score_from_ms)..self.n_steps()
    }

    /// A batch with the given stimulus pairs `(s1, s2)`, each ±1.
    pub fn batch_with(&self, pairs: &[(f64, f64)]) -> TrialBatch {
        let nt = self.n_steps();
        let nb = pairs.len();
        let mut b = TrialBatch::zeros(nt, nb, 2, 1);
        b.mask.iter_mut().for_each(|m| *m = 1.0);
        let (s1r, s2r, tr) = (
            self.epoch("stimulus_1"),
            self.epoch("stimulus_2"),
            self.epoch("target"),
        );
        for (k, &(s1, s2)) in pairs.iter().enumerate() {
            for t in s1r.clone() {
                let i = b.input_index(t, k, 0);
                b.input[i] = s1 as f32;
            }
            for t in s2r.clone() {
                let i = b.input_index(t, k, 1);
                b.input[i] = s2 as f32;
            }
            let same = s1 * s2 > 0.0;
            for t in tr.clone() {
                let i = b.output_index(t, k, 0);
                b.target[i] = if same { 1.0 } else { -1.0 };
            }
            b.trials.push(TrialInfo {
                stimuli: vec![s1, s2],
                condition: Some(u8::from(same)),
                ..TrialInfo::default()
            });
        }
        b
    }
}

impl Task for KimDms {
    fn name(&self) -> &str {
        "DMS"
    }
    fn n_inputs(&self) -> usize {
        2
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
        let sign = |rng: &mut TaskRng| if rng.random::<f64>() < 0.5 { 1.0 } else { -1.0 };
        let pairs: Vec<(f64, f64)> = (0..n).map(|_| (sign(rng), sign(rng))).collect();
        self.batch_with(&pairs)
    }
    fn score(&self, batch: &TrialBatch, output: &[f32]) -> Score {
        threshold_score(
            batch,
            output,
            self.score_window(),
            self.opts.threshold,
            NegativeRule::Signed,
        )
    }
}
