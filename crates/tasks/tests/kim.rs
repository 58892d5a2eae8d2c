//! Kim & Sejnowski's DMS and Go-NoGo: timelines and targets against the
//! paper's and the code's stated timings (`rate/main.py` of
//! github.com/rkim35/spikeRNN).

use rand::SeedableRng;
use wm_tasks::kim::{DmsOptions, GoNoGoOptions, GoNoGoVariant, KimDms, KimGoNoGo};
use wm_tasks::{Task, TaskRng};

#[test]
fn paper_dms_timeline_is_1s_fixation_250ms_stimuli_750ms_delay() {
    let t = KimDms::new(DmsOptions::paper()).unwrap();
    // 1000 + 250 + 750 + 250 + 50 + 500 + 150 ms in 5-ms steps.
    assert_eq!(t.n_steps(), 590);
    assert_eq!(t.epoch("stimulus_1"), 200..250);
    assert_eq!(t.epoch("delay"), 250..400);
    assert_eq!(t.epoch("stimulus_2"), 400..450);
    assert_eq!(t.epoch("target"), 460..560);
}

#[test]
fn code_dms_matches_the_repository_steps() {
    // The original `xor` task: s1 on [50, 100), s2 on [110, 160), target on [170, 270), T = 300.
    let t = KimDms::new(DmsOptions::code_short_delay()).unwrap();
    assert_eq!(t.n_steps(), 300);
    assert_eq!(t.epoch("stimulus_1"), 50..100);
    assert_eq!(t.epoch("stimulus_2"), 110..160);
    assert_eq!(t.epoch("target"), 170..270);
    // Scored from step 200 to the end, as the code.
    assert_eq!(t.score_window(), 200..300);
    let b = t.batch_with(&[(1.0, 1.0), (1.0, -1.0), (-1.0, -1.0), (-1.0, 1.0)]);
    let expected_target = [1.0f32, -1.0, 1.0, -1.0];
    for (k, &want) in expected_target.iter().enumerate() {
        let (s1, s2) = (b.trials[k].stimuli[0] as f32, b.trials[k].stimuli[1] as f32);
        for step in 0..300 {
            let u0 = b.input[b.input_index(step, k, 0)];
            let u1 = b.input[b.input_index(step, k, 1)];
            assert_eq!(u0, if (50..100).contains(&step) { s1 } else { 0.0 });
            assert_eq!(u1, if (110..160).contains(&step) { s2 } else { 0.0 });
            let z = b.target[b.output_index(step, k, 0)];
            assert_eq!(
                z,
                if (170..270).contains(&step) {
                    want
                } else {
                    0.0
                }
            );
            assert_eq!(b.mask[b.output_index(step, k, 0)], 1.0);
        }
    }
}

#[test]
fn dms_scoring_uses_the_plus_minus_07_rule() {
    let t = KimDms::new(DmsOptions::code_short_delay()).unwrap();
    let b = t.batch_with(&[(1.0, 1.0), (1.0, -1.0)]);
    // Perfect output = target: both correct.
    assert_eq!(t.score(&b, &b.target).accuracy, Some(1.0));
    // 0.69 peak for "same" and −0.69 for "different": both wrong.
    let out: Vec<f32> = b.target.iter().map(|z| z * 0.69).collect();
    assert_eq!(t.score(&b, &out).accuracy, Some(0.0));
    // Output flipped: both wrong.
    let out: Vec<f32> = b.target.iter().map(|z| -z).collect();
    assert_eq!(t.score(&b, &out).accuracy, Some(0.0));
}

#[test]
fn dms_trials_are_balanced_and_seeded() {
    let t = KimDms::new(DmsOptions::default()).unwrap();
    let a = t.batch(&mut TaskRng::seed_from_u64(3), 400);
    let b = t.batch(&mut TaskRng::seed_from_u64(3), 400);
    assert_eq!(a, b);
    let same = a.trials.iter().filter(|t| t.condition == Some(1)).count();
    assert!((150..250).contains(&same), "{same} same of 400");
}

#[test]
fn go_nogo_signed_and_code_variants() {
    let t = KimGoNoGo::new(GoNoGoOptions::default()).unwrap();
    assert_eq!(t.n_steps(), 200);
    assert_eq!(t.epoch("cue"), 50..75);
    let b = t.batch_with(&[true, false]);
    for step in 0..200 {
        let cue = (50..75).contains(&step);
        assert_eq!(
            b.input[b.input_index(step, 0, 0)],
            if cue { 1.0 } else { 0.0 }
        );
        assert_eq!(
            b.input[b.input_index(step, 1, 0)],
            if cue { -1.0 } else { 0.0 }
        );
        let resp = step >= 75;
        assert_eq!(
            b.target[b.output_index(step, 0, 0)],
            if resp { 1.0 } else { 0.0 }
        );
        assert_eq!(
            b.target[b.output_index(step, 1, 0)],
            if resp { -1.0 } else { 0.0 }
        );
    }
    assert_eq!(t.score(&b, &b.target).accuracy, Some(1.0));

    let code = KimGoNoGo::new(GoNoGoOptions {
        variant: GoNoGoVariant::CodeZeroOne,
        ..GoNoGoOptions::default()
    })
    .unwrap();
    let b = code.batch_with(&[true, false]);
    for step in 0..200 {
        assert_eq!(b.input[b.input_index(step, 1, 0)], 0.0);
        assert_eq!(b.target[b.output_index(step, 1, 0)], 0.0);
        assert_eq!(
            b.target[b.output_index(step, 0, 0)],
            if step >= 75 { 1.0 } else { 0.0 }
        );
    }
    // NoGo with |o| = 0.35 somewhere in the response is wrong (needs max |o| < 0.3).
    let mut out = b.target.clone();
    out[b.output_index(120, 1, 0)] = -0.35;
    assert_eq!(code.score(&b, &out).accuracy, Some(0.5));
    out[b.output_index(120, 1, 0)] = -0.25;
    assert_eq!(code.score(&b, &out).accuracy, Some(1.0));

    // The code's LIF rule: window from sample 10,000 of 0.05 ms
    // = 500 ms = rate step 100, and NoGo correct if max o < 0.3 (no |·|).
    let lif = code.lif_scoring();
    let mut out = b.target.clone();
    out[b.output_index(120, 1, 0)] = -0.9; // NoGo: rate wrong, LIF right
    assert_eq!(code.score(&b, &out).accuracy, Some(0.5));
    assert_eq!(lif.score(&b, &out).accuracy, Some(1.0));
    let mut out = b.target.clone();
    out[b.output_index(90, 1, 0)] = 0.5; // NoGo excursion before 500 ms: only the rate rule sees it
    assert_eq!(code.score(&b, &out).accuracy, Some(0.5));
    assert_eq!(lif.score(&b, &out).accuracy, Some(1.0));
    out[b.output_index(100, 1, 0)] = 0.5; // … and at 500 ms both do
    assert_eq!(lif.score(&b, &out).accuracy, Some(0.5));
    // A Go answer that is over 0.7 only before 500 ms passes the rate rule alone.
    let mut out = vec![0.0f32; b.target.len()];
    for step in 75..100 {
        out[b.output_index(step, 0, 0)] = 1.0;
    }
    assert_eq!(code.score(&b, &out).accuracy, Some(1.0));
    assert_eq!(lif.score(&b, &out).accuracy, Some(0.5));
    // Same trials either way.
    assert_eq!(lif.batch_with(&[true, false]).input, b.input);
}

#[test]
fn bad_options_are_refused_with_the_field_named() {
    let err = KimDms::new(DmsOptions {
        stimulus_ms: 0.0,
        ..DmsOptions::paper()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("stimulus_ms"), "{err}");
    let err = KimGoNoGo::new(GoNoGoOptions {
        cue_ms: -1.0,
        ..GoNoGoOptions::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("cue_ms"), "{err}");
}
