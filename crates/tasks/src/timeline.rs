//! Trial timelines: named epochs with durations in ms, turned into steps by dt.

use serde::{Deserialize, Serialize};

/// How long an epoch lasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duration {
    /// A fixed duration in ms.
    Fixed(f64),
    /// One of several durations (ms), drawn uniformly per trial.
    Choice(Vec<f64>),
    /// Uniform on `[lo, hi]` ms, rounded to whole steps.
    Uniform(f64, f64),
}

impl Duration {
    /// The longest this epoch can last, in ms (sets the padded trial length).
    pub fn max_ms(&self) -> f64 {
        match self {
            Duration::Fixed(d) => *d,
            Duration::Choice(v) => v.iter().copied().fold(0.0, f64::max),
            Duration::Uniform(_, hi) => *hi,
        }
    }
}

/// One named period of a trial (fixation, stimulus, delay, response, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Epoch {
    /// Epoch name, e.g. `"stimulus"`.
    pub name: String,
    /// Its duration.
    pub duration: Duration,
}

/// An ordered list of epochs plus the step length `dt_ms` that turns ms into steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The epochs, in order.
    pub epochs: Vec<Epoch>,
    /// Length of one model time step, in ms.
    pub dt_ms: f64,
}

impl Timeline {
    /// A timeline of fixed-length epochs given as `(name, ms)` pairs.
    pub fn fixed(epochs: &[(&str, f64)], dt_ms: f64) -> Self {
        Self {
            epochs: epochs
                .iter()
                .map(|(n, d)| Epoch {
                    name: (*n).to_string(),
                    duration: Duration::Fixed(*d),
                })
                .collect(),
            dt_ms,
        }
    }

    /// Convert a duration in ms to whole steps (rounded to nearest).
    pub fn steps(&self, ms: f64) -> usize {
        (ms / self.dt_ms).round() as usize
    }

    /// Total number of steps of the longest possible trial.
    pub fn n_steps(&self) -> usize {
        self.epochs
            .iter()
            .map(|e| self.steps(e.duration.max_ms()))
            .sum()
    }

    /// Step range `[start, end)` of the named epoch when every epoch takes its
    /// longest duration, or `None` if there is no such epoch.
    pub fn epoch_steps(&self, name: &str) -> Option<std::ops::Range<usize>> {
        let mut start = 0;
        for e in &self.epochs {
            let len = self.steps(e.duration.max_ms());
            if e.name == name {
                return Some(start..start + len);
            }
            start += len;
        }
        None
    }
}
