//! Xie et al. 2022 tasks against the trial timelines of their code
//! (github.com/maiziezhoulab/RNN_workingmemoryaccuracy, `task_and_network/task.py`),
//! step for step. The expected values are written out here in milliseconds
//! (1 step = 20 ms), independently of the task code.

use std::f64::consts::{PI, TAU};

use rand::SeedableRng;
use wm_tasks::xie::{Mode, VariableReadout, decode_ring};
use wm_tasks::{Task, TaskRng, TrialBatch, XieMultitask, XieRule, XieTask, XieTaskOptions};

/// The timelines in ms: (rule, cue on, cue off, fixation input off, response
/// from, mask "post" from, T).
const TABLE: [(XieRule, f64, f64, f64, f64, f64, f64); 7] = [
    (XieRule::Odr, 1000., 1500., 3000., 3000., 3100., 3500.),
    (XieRule::Odr3000, 1000., 1500., 4500., 4500., 4600., 5000.),
    (XieRule::Odrd, 1000., 1500., 3000., 3000., 3100., 3500.),
    (XieRule::Overlap, 1000., 1100., 1100., 1100., 1200., 1600.),
    (XieRule::ZeroGap, 1000., 1100., 1000., 1000., 1100., 1600.),
    (XieRule::Gap, 1100., 1200., 1000., 1100., 1200., 1700.),
    (XieRule::Gap500, 1500., 1600., 1000., 1500., 1600., 2100.),
];

fn step(ms: f64) -> usize {
    (ms / 20.0) as usize
}

fn task(rule: XieRule) -> XieTask {
    XieTask::new(rule, 2, 6, XieTaskOptions::default()).unwrap()
}

fn bump(theta: f64, k: usize, r: usize) -> f64 {
    let pref = TAU * k as f64 / r as f64;
    let d = (theta - pref).rem_euclid(TAU);
    let d = d.min(TAU - d);
    (-d * d / (2.0 * (PI / 8.0) * (PI / 8.0))).exp()
}

/// Check one trial of a batch against the table row, every step and channel.
#[allow(clippy::too_many_arguments)]
fn check_trial(
    b: &TrialBatch,
    k: usize,
    rule: XieRule,
    cue: (usize, usize),
    fix_off: usize,
    resp: usize,
    post: usize,
    mask_end: usize,
    distractor: Option<(usize, usize, f64)>,
) {
    let r = 8;
    let info = &b.trials[k];
    let cue_angle = info.stimuli[0];
    let answer = if rule.is_pro() {
        cue_angle
    } else {
        cue_angle + PI
    };
    assert!((info.stimuli[1] - answer.rem_euclid(TAU)).abs() < 1e-12);
    for s in 0..b.n_steps {
        // Inputs: fixation, ring, rule one-hot (rule index 2 of 6).
        let x = |i: usize| f64::from(b.input[b.input_index(s, k, i)]);
        assert_eq!(
            x(0),
            if s < fix_off { 1.0 } else { 0.0 },
            "{rule:?} fix in, step {s}"
        );
        for j in 0..r {
            let mut want = 0.0;
            if cue.0 <= s && s < cue.1 {
                want += 0.8 * bump(cue_angle, j, r);
            }
            if let Some((on, off, d)) = distractor
                && on <= s
                && s < off
            {
                want += 0.8 * bump(d, j, r);
            }
            assert!(
                (x(1 + j) - want).abs() < 1e-6,
                "{rule:?} ring in {j} step {s}"
            );
        }
        for q in 0..6 {
            assert_eq!(x(1 + r + q), if q == 2 { 1.0 } else { 0.0 });
        }
        // Targets.
        let y = |o: usize| f64::from(b.target[b.output_index(s, k, o)]);
        let m = |o: usize| f64::from(b.mask[b.output_index(s, k, o)]);
        assert!(
            (y(0) - if s < resp { 0.8 } else { 0.05 }).abs() < 1e-6,
            "{rule:?} fix target step {s}"
        );
        for j in 0..r {
            let want = if s < resp {
                0.05
            } else {
                0.05 + 0.8 * bump(answer, j, r)
            };
            assert!(
                (y(1 + j) - want).abs() < 1e-6,
                "{rule:?} ring target {j} step {s}"
            );
        }
        // Mask: the squared cost weights (0, 1, 0, 5, then 0 past mask_end), fixation ×2.
        let w = if s < 5 {
            0.0
        } else if s < resp {
            1.0
        } else if s < post {
            0.0
        } else if s < mask_end {
            5.0
        } else {
            0.0
        };
        assert_eq!(
            m(0),
            (2.0 * w) * (2.0 * w),
            "{rule:?} fixation mask step {s}"
        );
        for j in 1..=r {
            assert_eq!(m(j), w * w, "{rule:?} ring mask step {s}");
        }
    }
}

#[test]
fn fixed_timelines_inputs_targets_and_masks_match_the_spec_table() {
    for (rule, cue_on, cue_off, fix_off, resp, post, t) in TABLE {
        let tk = task(rule);
        assert_eq!(tk.n_steps(), step(t), "{rule:?} T");
        assert_eq!(tk.n_inputs(), 15);
        assert_eq!(tk.n_outputs(), 9);
        let mut rng = TaskRng::seed_from_u64(3);
        for mode in [Mode::Random, Mode::Test { repeats: 2 }] {
            let b = tk.batch_mode(&mut rng, 5, mode);
            assert_eq!(b.n_steps, step(t));
            for k in 0..b.batch_size {
                let distractor =
                    (rule == XieRule::Odrd).then(|| (100, 125, b.trials[k].stimuli[2]));
                check_trial(
                    &b,
                    k,
                    rule,
                    (step(cue_on), step(cue_off)),
                    step(fix_off),
                    step(resp),
                    step(post),
                    step(t),
                    distractor,
                );
            }
        }
    }
}

#[test]
fn analysis_epochs_are_the_notebook_step_ranges() {
    let odr3000 = task(XieRule::Odr3000);
    let tl = odr3000.timeline();
    assert_eq!(tl.epoch_steps("fix1"), Some(0..50));
    assert_eq!(tl.epoch_steps("stim1"), Some(50..75));
    assert_eq!(tl.epoch_steps("delay1"), Some(75..225));
    assert_eq!(tl.epoch_steps("go1"), Some(225..250));
    let odrd = task(XieRule::Odrd);
    let tl = odrd.timeline();
    assert_eq!(tl.epoch_steps("fix1"), Some(0..50));
    assert_eq!(tl.epoch_steps("stim1"), Some(50..75));
    assert_eq!(tl.epoch_steps("delay1"), Some(75..100));
    assert_eq!(tl.epoch_steps("distract1"), Some(100..125));
    assert_eq!(tl.epoch_steps("delay2"), Some(125..150));
    assert_eq!(tl.epoch_steps("go1"), Some(150..175));
    let odr = task(XieRule::Odr);
    assert_eq!(odr.timeline().epoch_steps("delay1"), Some(75..150));
    assert_eq!(odr.n_steps(), 175);
    let var = task(XieRule::OdrVariable);
    assert_eq!(var.n_steps(), 250);
    assert_eq!(var.timeline().epoch_steps("delay1"), Some(75..225));
}

#[test]
fn test_mode_orders_trials_by_location_with_cues_on_the_ring_units() {
    let tk = task(XieRule::Odrd);
    let mut rng = TaskRng::seed_from_u64(0);
    let b = tk.batch_mode(&mut rng, 0, Mode::Test { repeats: 16 });
    assert_eq!(b.batch_size, 128);
    for (k, info) in b.trials.iter().enumerate() {
        let loc = k / 16;
        assert!((info.stimuli[0] - TAU * loc as f64 / 8.0).abs() < 1e-12);
        // Test-mode distractor: cue + 180°.
        let d = (info.stimuli[2] - info.stimuli[0]).rem_euclid(TAU);
        assert!((d - PI).abs() < 1e-12);
    }
}

#[test]
fn training_distractor_offset_is_a_nonzero_multiple_of_45_degrees_shared_by_the_batch() {
    let tk = task(XieRule::Odrd);
    let mut rng = TaskRng::seed_from_u64(11);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..60 {
        let b = tk.batch(&mut rng, 8);
        let offs: Vec<f64> = b
            .trials
            .iter()
            .map(|t| (t.stimuli[2] - t.stimuli[0]).rem_euclid(TAU))
            .collect();
        let k = (offs[0] / (PI / 4.0)).round();
        assert!((offs[0] - k * PI / 4.0).abs() < 1e-9 && (1.0..=7.0).contains(&k));
        for o in &offs {
            assert!((o - offs[0]).abs() < 1e-9, "one offset per minibatch");
        }
        seen.insert(k as i64);
    }
    assert_eq!(seen.len(), 7, "every k in 1..=7 drawn: {seen:?}");
}

#[test]
fn variable_delay_draws_from_the_grid_masks_500_ms_and_reads_where_configured() {
    let tk = task(XieRule::OdrVariable);
    let mut rng = TaskRng::seed_from_u64(5);
    let b = tk.batch(&mut rng, 200);
    let mut delays = std::collections::BTreeSet::new();
    for (k, info) in b.trials.iter().enumerate() {
        let d = info.delay_steps.unwrap();
        assert_eq!(d % 5, 0, "delays are multiples of 100 ms");
        assert!(d <= 150);
        delays.insert(d);
        let off = 75 + d;
        check_trial(
            &b,
            k,
            XieRule::OdrVariable,
            (50, 75),
            off,
            off,
            off + 5,
            off + 25,
            None,
        );
        assert_eq!(tk.readout_step_of(info), 249);
    }
    assert!(
        delays.len() > 25,
        "most of the 31 delays appear: {}",
        delays.len()
    );
    let opts = XieTaskOptions {
        variable_readout: VariableReadout::LastMaskedStep,
        ..Default::default()
    };
    let tk2 = XieTask::new(XieRule::OdrVariable, 2, 6, opts).unwrap();
    for info in &b.trials {
        assert_eq!(
            tk2.readout_step_of(info),
            75 + info.delay_steps.unwrap() + 24
        );
    }
    // Test mode: the 3000-ms delay.
    let t = tk.batch_mode(&mut rng, 0, Mode::Test { repeats: 1 });
    assert!(t.trials.iter().all(|i| i.delay_steps == Some(150)));
}

#[test]
fn population_vector_decoding_recovers_a_planted_direction_exactly() {
    for r in [8usize, 360] {
        for theta in [0.0, 0.3, 1.0, 2.5, PI, 4.0, 6.2] {
            // Cosine tuning with a baseline: Σ_k (c + a cos(θk − θ)) e^{iθk} = (aR/2) e^{iθ}.
            let ring: Vec<f64> = (0..r)
                .map(|k| 0.05 + 0.7 * (TAU * k as f64 / r as f64 - theta).cos())
                .collect();
            let got = decode_ring(&ring);
            let err = (got - theta).rem_euclid(TAU);
            assert!(err.min(TAU - err) < 1e-12, "R={r} θ={theta}: {got}");
        }
    }
    // A target bump centred on a unit decodes to that unit's direction.
    for k in 0..8 {
        let th = TAU * k as f64 / 8.0;
        let ring: Vec<f64> = (0..8).map(|j| 0.05 + 0.8 * bump(th, j, 8)).collect();
        let got = decode_ring(&ring);
        let err = (got - th).rem_euclid(TAU);
        assert!(err.min(TAU - err) < 1e-12);
    }
    assert!(
        decode_ring(&[0.3; 8]).is_nan(),
        "a flat ring has no direction"
    );
}

#[test]
fn the_target_scores_correct_and_a_held_fixation_or_wrong_direction_does_not() {
    let mut rng = TaskRng::seed_from_u64(9);
    for rule in [
        XieRule::Odr3000,
        XieRule::Overlap,
        XieRule::Gap500,
        XieRule::OdrVariable,
    ] {
        let tk = task(rule);
        let b = tk.batch(&mut rng, 32);
        let s = tk.score(&b, &b.target);
        assert_eq!(s.accuracy, Some(1.0), "{rule:?}: the target itself");
        // Keep fixating (0.8) at the last step: every trial is an error.
        let mut held = b.target.clone();
        for k in 0..b.batch_size {
            held[b.output_index(b.n_steps - 1, k, 0)] = 0.8;
        }
        assert_eq!(
            tk.score(&b, &held).accuracy,
            Some(0.0),
            "{rule:?}: held fixation"
        );
        // Rotate the response by 45° (> 36°): every trial is an error; by 22.5°, none.
        for (shift, want) in [(PI / 4.0, 0.0), (PI / 8.0, 1.0)] {
            let mut out = b.target.clone();
            for (k, info) in b.trials.iter().enumerate() {
                let t = b.n_steps - 1;
                for j in 0..8 {
                    out[b.output_index(t, k, 1 + j)] = (0.05
                        + 0.7 * (TAU * j as f64 / 8.0 - info.stimuli[1] - shift).cos())
                        as f32;
                }
            }
            assert_eq!(
                tk.score(&b, &out).accuracy,
                Some(want),
                "{rule:?} shift {shift}"
            );
        }
    }
}

#[test]
fn multitask_draws_each_rule_uniformly_and_reproducibly() {
    let mt = XieMultitask::new(&XieRule::ruleset_fixed(), &XieTaskOptions::default()).unwrap();
    assert_eq!(mt.n_inputs(), 15);
    assert_eq!(mt.n_steps(), 250);
    let mut rng = TaskRng::seed_from_u64(1);
    let mut counts = [0usize; 6];
    for _ in 0..600 {
        let b = mt.batch(&mut rng, 2);
        let c = b.trials[0].condition.unwrap() as usize;
        assert!(
            b.trials.iter().all(|t| t.condition == Some(c as u8)),
            "one rule per batch"
        );
        assert_eq!(b.n_steps, mt.tasks()[c].n_steps());
        counts[c] += 1;
    }
    // Binomial(600, 1/6): mean 100, s.d. 9.1; ±4.5 s.d.
    assert!(
        counts.iter().all(|&c| (59..=141).contains(&c)),
        "{counts:?}"
    );
    let a = mt.batch(&mut TaskRng::seed_from_u64(4), 3);
    let b = mt.batch(&mut TaskRng::seed_from_u64(4), 3);
    assert_eq!(a, b);
    assert!(XieMultitask::new(&[XieRule::Odr, XieRule::Odr], &XieTaskOptions::default()).is_err());
}

/// The recorded delay is the time from cue offset to response onset (dt =
/// 20 ms): 1.5 s for ODR, none for the anti-saccade variants whose
/// response opens before the cue ends (zero gap: cue 1000–1100 ms,
/// response 1000 ms; gap 500: cue 1500–1600 ms, response 1500 ms).
#[test]
fn the_recorded_delay_is_zero_when_the_response_opens_during_the_cue() {
    for (rule, delay) in [
        (XieRule::Odr, 75),
        (XieRule::ZeroGap, 0),
        (XieRule::Gap, 0),
        (XieRule::Gap500, 0),
    ] {
        let b = task(rule).batch(&mut TaskRng::seed_from_u64(3), 4);
        for info in &b.trials {
            assert_eq!(info.delay_steps, Some(delay), "{rule:?}");
        }
    }
}
