//! CD — `ChangeDetectionTask` of the original `generators.py`
//! (github.com/eminorhan/recurrent-memory).

use rand::Rng;
use std::f64::consts::PI;

use super::delayed_estimation::stimulus_rates;
use super::encoding::{N_PER_LOCATION, Population, TrialWriter};
use super::observer::{CdObserver, cd_posterior};
use super::{DynamicSpec, Generator, KAPPA, Readout, TrialLayout};
use crate::{TaskRng, TrialInfo};

/// Orientations `s_ℓ ~ U[0, π)` (rad) in the stimulus epoch, shown again in
/// the response epoch (`g/T_r · f`, no spontaneous term) except that on change
/// trials (C = 1) one location, uniform among `n_loc`, shows a fresh `s′ ~ U[0, π)`.
/// Target: C. [`TrialInfo::stimuli`] is `[s_1 … s_n, s′_1 … s′_n]`.
#[derive(Debug)]
pub(crate) struct ChangeDetection {
    n_loc: usize,
    observer: CdObserver,
    pop: Population,
}

impl ChangeDetection {
    pub(crate) fn new(n_loc: usize, observer: CdObserver) -> Self {
        Self {
            n_loc,
            observer,
            pop: Population::orientation(KAPPA),
        }
    }
}

impl Generator for ChangeDetection {
    fn name(&self) -> &'static str {
        if self.n_loc == 1 { "CD" } else { "CD-2" }
    }
    fn n_inputs(&self) -> usize {
        N_PER_LOCATION * self.n_loc
    }
    fn readout(&self) -> Readout {
        Readout::BINARY
    }
    fn dynamic(&self) -> Option<DynamicSpec> {
        Some(DynamicSpec::over(&self.pop, (0.0, PI), 0.1))
    }

    fn trial(&self, rng: &mut TaskRng, layout: &TrialLayout, w: &mut TrialWriter<'_>) -> TrialInfo {
        let first: Vec<f64> = (0..self.n_loc).map(|_| rng.random::<f64>() * PI).collect();
        let change = rng.random::<bool>();
        let mut second = first.clone();
        if change {
            let loc = rng.random_range(0..self.n_loc);
            second[loc] = rng.random::<f64>() * PI;
        }
        let n_in = self.n_inputs();
        let r1 = stimulus_rates(&self.pop, &first, layout.gain, layout.stimulus.len());
        let c1 = w.poisson_epoch(rng, layout.stimulus.clone(), 0, &r1);
        w.spontaneous(rng, layout.delay.clone(), 0, n_in, layout.delay_rate);
        let r2 = stimulus_rates(&self.pop, &second, layout.gain, layout.response.len());
        let c2 = w.poisson_epoch(rng, layout.response.clone(), 0, &r2);
        let split = |c: &[f64]| -> Vec<Vec<f64>> {
            c.chunks(N_PER_LOCATION).map(<[f64]>::to_vec).collect()
        };
        let (c1, c2) = (split(&c1), split(&c2));
        let p = |which| cd_posterior(&c1, &c2, &self.pop.centres, KAPPA, which);
        let other = match self.observer {
            CdObserver::Coded => CdObserver::Corrected,
            CdObserver::Corrected => CdObserver::Coded,
        };
        w.fill_target(layout.n_steps, 0, f32::from(u8::from(change)));
        TrialInfo {
            stimuli: first.into_iter().chain(second).collect(),
            condition: Some(u8::from(change)),
            ideal: vec![p(self.observer)],
            ideal_alternative: vec![p(other)],
            ..TrialInfo::default()
        }
    }
}
