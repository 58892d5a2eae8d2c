//! Variable-delay and dynamic-input conditions (the original code's `Var*`
//! generators and `dynamic_input_generators.py`, github.com/eminorhan/recurrent-memory).

use serde::{Deserialize, Serialize};

use super::encoding::{TrialWriter, poisson_with_p0};
use super::{DynamicSpec, OrhanMaTaskOptions, T_DELAY, T_RESPONSE, T_STIMULUS};
use crate::timeline::{Duration, Epoch};
use crate::{TaskError, TaskRng, Timeline};

/// The condition a task runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskVariant {
    /// Fixed 25/100/25-step timeline.
    #[default]
    Basic,
    /// Delay drawn per trial from [`OrhanMaTaskOptions::var_delays`] (steps);
    /// the trial is padded to the longest delay between the real delay and
    /// the response epoch. Padding has zero input, target and mask, and
    /// update flag 0 so the network holds its state.
    VariableDelay,
    /// 50 irrelevant Poisson channels prepended (inputs 0–49) whose rate bump
    /// `A exp(−10 (m_t − φ_k)²)` (spikes per step) sweeps the task's tuning
    /// range over the trial. Not defined for Sine.
    DynamicInput,
}

impl TaskVariant {
    /// Suffix appended to the task name (`""`, `"-vardelay"`, `"-dynamic"`).
    pub fn suffix(self) -> &'static str {
        match self {
            TaskVariant::Basic => "",
            TaskVariant::VariableDelay => "-vardelay",
            TaskVariant::DynamicInput => "-dynamic",
        }
    }
}

/// The timeline (epochs in ms with `dt_ms = 1`, so ms = steps) and the
/// longest delay in steps.
pub(crate) fn timeline(opts: &OrhanMaTaskOptions) -> Result<(Timeline, usize), TaskError> {
    let ms = |s: usize| s as f64;
    match opts.variant {
        TaskVariant::VariableDelay => {
            let max = opts
                .var_delays
                .iter()
                .copied()
                .max()
                .ok_or_else(|| TaskError::invalid("var_delays", "[]", "at least one delay"))?;
            if max == 0 {
                return Err(TaskError::invalid(
                    "var_delays",
                    format!("{:?}", opts.var_delays),
                    "at least one delay > 0",
                ));
            }
            let epochs = vec![
                Epoch {
                    name: "stimulus".to_string(),
                    duration: Duration::Fixed(ms(T_STIMULUS)),
                },
                Epoch {
                    name: "delay".to_string(),
                    duration: Duration::Choice(opts.var_delays.iter().map(|&d| ms(d)).collect()),
                },
                Epoch {
                    name: "response".to_string(),
                    duration: Duration::Fixed(ms(T_RESPONSE)),
                },
            ];
            Ok((Timeline { epochs, dt_ms: 1.0 }, max))
        }
        _ => Ok((
            Timeline::fixed(
                &[
                    ("stimulus", ms(T_STIMULUS)),
                    ("delay", ms(T_DELAY)),
                    ("response", ms(T_RESPONSE)),
                ],
                1.0,
            ),
            T_DELAY,
        )),
    }
}

/// Per-step rates `(λ, e^{−λ})` of the irrelevant channels, `[T][50]`.
///
/// Channel k at step t has rate `A exp(−10 (m_t − φ_k)²)` with
/// `m_t = lo + (hi − lo) t / (T − 1)`.
pub(crate) fn irrelevant_rates(spec: &DynamicSpec, n_steps: usize) -> Vec<Vec<(f64, f64)>> {
    let denom = (n_steps.max(2) - 1) as f64;
    (0..n_steps)
        .map(|t| {
            let m = spec.lo + (spec.hi - spec.lo) * t as f64 / denom;
            spec.centres
                .iter()
                .map(|&phi| {
                    let lambda = spec.amplitude * (-10.0 * (m - phi).powi(2)).exp();
                    (lambda, (-lambda).exp())
                })
                .collect()
        })
        .collect()
}

/// Draw the irrelevant channels (0–49, before the writer's offset) on every
/// step from the table of [`irrelevant_rates`].
pub(crate) fn irrelevant_channels(
    rng: &mut TaskRng,
    rates: &[Vec<(f64, f64)>],
    w: &mut TrialWriter<'_>,
) {
    let offset = w.offset;
    w.offset = 0;
    for (t, row) in rates.iter().enumerate() {
        for (k, &(lambda, p0)) in row.iter().enumerate() {
            let c = poisson_with_p0(rng, lambda, p0);
            if c > 0 {
                w.set_input(t, k, c as f32);
            }
        }
    }
    w.offset = offset;
}
