//! COMP — `ComparisonTask` of the original `generators.py`
//! (github.com/eminorhan/recurrent-memory).

use rand::Rng;

use super::encoding::{N_PER_LOCATION, Population, TrialWriter};
use super::observer::comp_posterior;
use super::{DynamicSpec, Generator, Readout, TrialLayout};
use crate::{TaskRng, TrialInfo};

/// Tuning width σ, in degrees.
pub(crate) const SIGMA: f64 = 10.0;
/// Tuning-centre range, in degrees.
pub(crate) const RANGE: (f64, f64) = (-50.0, 50.0);
/// Stimuli are drawn from `U[−STIM_HALF_RANGE, STIM_HALF_RANGE)`, in degrees.
pub(crate) const STIM_HALF_RANGE: f64 = 40.0;

/// `s₁, s₂ ~ U[−40, 40)` degrees, independent; s₁ in the stimulus epoch,
/// s₂ in the response epoch (`g/T_r · f`, no spontaneous term), Gaussian
/// tuning σ = 10° on centres −50…50°. Target: `C = 1[s₁ > s₂]`.
#[derive(Debug)]
pub(crate) struct Comparison {
    pop: Population,
}

impl Comparison {
    pub(crate) fn new() -> Self {
        Self {
            pop: Population::gaussian(RANGE.0, RANGE.1, SIGMA),
        }
    }
}

impl Generator for Comparison {
    fn name(&self) -> &'static str {
        "COMP"
    }
    fn n_inputs(&self) -> usize {
        N_PER_LOCATION
    }
    fn readout(&self) -> Readout {
        Readout::BINARY
    }
    fn dynamic(&self) -> Option<DynamicSpec> {
        Some(DynamicSpec::over(&self.pop, RANGE, 0.1))
    }

    fn trial(&self, rng: &mut TaskRng, layout: &TrialLayout, w: &mut TrialWriter<'_>) -> TrialInfo {
        let s1 = 2.0 * STIM_HALF_RANGE * rng.random::<f64>() - STIM_HALF_RANGE;
        let s2 = 2.0 * STIM_HALF_RANGE * rng.random::<f64>() - STIM_HALF_RANGE;
        let c = s1 > s2;
        let r1 = self.pop.rates(s1, layout.gain, layout.stimulus.len());
        let c1 = w.poisson_epoch(rng, layout.stimulus.clone(), 0, &r1);
        w.spontaneous(
            rng,
            layout.delay.clone(),
            0,
            N_PER_LOCATION,
            layout.delay_rate,
        );
        let r2 = self.pop.rates(s2, layout.gain, layout.response.len());
        let c2 = w.poisson_epoch(rng, layout.response.clone(), 0, &r2);
        w.fill_target(layout.n_steps, 0, f32::from(u8::from(c)));
        TrialInfo {
            stimuli: vec![s1, s2],
            condition: Some(u8::from(c)),
            ideal: vec![comp_posterior(&c1, &c2, &self.pop.centres, SIGMA)],
            ..TrialInfo::default()
        }
    }
}
