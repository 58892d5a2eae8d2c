//! Sine — `SineTask` of the original `generators.py` (github.com/eminorhan/recurrent-memory),
//! a timing control with no stimulus memory.

use rand_distr::{Distribution, Normal};
use std::f64::consts::PI;

use super::encoding::{N_PER_LOCATION, TrialWriter};
use super::{DynamicSpec, Generator, Readout, TrialLayout};
use crate::{TaskRng, TrialInfo};

/// Standard deviation of the delay-epoch Gaussian input (input units).
pub(crate) const NOISE_SD: f64 = 0.1;
/// Fraction of a half period the target covers over the response epoch.
pub(crate) const ALPHA: f64 = 0.25;

/// Input: zero except i.i.d. `N(0, 0.1²)` on 50 channels during the delay.
/// Target: 0 before the response epoch, then `sin(α jπ/(T_r − 1))` at
/// response step j (α = 0.25: from 0 up to sin(π/4)). Identical on every trial.
#[derive(Debug)]
pub(crate) struct Sine;

impl Sine {
    pub(crate) fn new() -> Self {
        Sine
    }
}

impl Generator for Sine {
    fn name(&self) -> &'static str {
        "Sine"
    }
    fn n_inputs(&self) -> usize {
        N_PER_LOCATION
    }
    fn readout(&self) -> Readout {
        Readout::SINE
    }
    fn dynamic(&self) -> Option<DynamicSpec> {
        None
    }

    fn trial(&self, rng: &mut TaskRng, layout: &TrialLayout, w: &mut TrialWriter<'_>) -> TrialInfo {
        let normal = Normal::new(0.0, NOISE_SD).expect("valid normal");
        for t in layout.delay.clone() {
            for k in 0..N_PER_LOCATION {
                w.set_input(t, k, normal.sample(rng) as f32);
            }
        }
        let last = (layout.response.len().max(2) - 1) as f64;
        for (j, t) in layout.response.clone().enumerate() {
            w.set_target(t, 0, (ALPHA * j as f64 * PI / last).sin() as f32);
        }
        TrialInfo::default()
    }
}
