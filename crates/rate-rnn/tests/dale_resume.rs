//! Kim training checkpoints: a run stopped at a checkpoint and resumed ends
//! with bit-for-bit the parameters, optimiser state and evaluations of an
//! uninterrupted run; writing checkpoints changes nothing; a finished run
//! resumes to its outcome without training; a checkpoint of another network
//! is refused and left untouched.

mod common;

use std::path::Path;

use common::short_go_nogo;

use candle_core::{DType, Tensor};
use rand::SeedableRng;
use wm_rate_rnn::RateModel;
use wm_rate_rnn::checkpoint::load_tensors;
use wm_rate_rnn::dale::{DaleConfig, DaleLeaky, TauMode};
use wm_rate_rnn::train::kim::{KimEval, KimTrainConfig, KimTrainOutcome, train_kim};
use wm_tasks::TaskRng;

fn model(tau_mode: TauMode, seed: u64) -> DaleLeaky {
    let cfg = DaleConfig {
        n_units: 24,
        tau_mode,
        ..DaleConfig::default()
    };
    DaleLeaky::new(cfg, DType::F32, &mut TaskRng::seed_from_u64(seed)).unwrap()
}

/// 120 updates, evaluated every 20, never meeting the stopping rule.
fn train_cfg(checkpoint_every: usize) -> KimTrainConfig {
    KimTrainConfig {
        batch_size: 2,
        max_iterations: 120,
        eval_every: 20,
        eval_trials: 8,
        loss_threshold: 0.0,
        checkpoint_every,
        ..KimTrainConfig::default()
    }
}

fn data_rng() -> TaskRng {
    let mut rng = TaskRng::seed_from_u64(2);
    rng.set_stream(1);
    rng
}

/// Every value's bit pattern (exact: f32 → f64 is injective).
fn bits(t: &Tensor) -> (DType, Vec<usize>, Vec<u64>) {
    let v: Vec<f64> = t
        .flatten_all()
        .unwrap()
        .to_dtype(DType::F64)
        .unwrap()
        .to_vec1()
        .unwrap();
    (
        t.dtype(),
        t.dims().to_vec(),
        v.iter().map(|x| x.to_bits()).collect(),
    )
}

fn eval_bits(o: &KimTrainOutcome) -> Vec<(usize, u64, u64)> {
    o.evals
        .iter()
        .map(|e| (e.iteration, e.loss.to_bits(), e.accuracy.to_bits()))
        .collect()
}

fn assert_same_parameters(a: &DaleLeaky, b: &DaleLeaky, what: &str) {
    let (va, vb) = (a.named_vars(), b.named_vars());
    assert_eq!(va.len(), vb.len());
    for ((name, x), (_, y)) in va.iter().zip(&vb) {
        assert_eq!(
            bits(x.as_tensor()),
            bits(y.as_tensor()),
            "{what}: `{name}` differs"
        );
    }
    assert_eq!(a.arrays().unwrap(), b.arrays().unwrap(), "{what}");
}

/// Every tensor of two checkpoint files, byte for byte, and their metadata.
fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (load_tensors(a).unwrap(), load_tensors(b).unwrap());
    let mut names: Vec<&String> = fa.tensors.keys().collect();
    names.sort();
    let mut names_b: Vec<&String> = fb.tensors.keys().collect();
    names_b.sort();
    assert_eq!(names, names_b);
    assert!(names.iter().any(|n| n.starts_with("m.")), "{names:?}");
    for n in names {
        assert_eq!(bits(&fa.tensors[n]), bits(&fb.tensors[n]), "tensor `{n}`");
    }
    assert_eq!(fa.metadata, fb.metadata);
}

#[test]
fn a_run_resumed_from_a_checkpoint_ends_bit_identical_to_an_uninterrupted_one() {
    for mode in [TauMode::Trained, TauMode::Fixed] {
        let dir = tempfile::tempdir().unwrap();
        let (ckpt_a, ckpt_b) = (
            dir.path().join("a.safetensors"),
            dir.path().join("b.safetensors"),
        );
        let task = short_go_nogo();

        // Uninterrupted, checkpointing every 40 updates. When the evaluation
        // at 60 is reported, the file holds update 40's state: copying it
        // then is the disk a kill at update 60 would leave.
        let a = model(mode, 1);
        let mut copied = false;
        let out_a = train_kim(
            &a,
            &task,
            &train_cfg(40),
            &mut data_rng(),
            Some(&ckpt_a),
            &mut |e: &KimEval| {
                if e.iteration == 60 {
                    std::fs::copy(&ckpt_a, &ckpt_b).unwrap();
                    copied = true;
                }
            },
        )
        .unwrap();
        assert!(copied);
        assert_eq!((out_a.iterations, out_a.converged), (120, false));
        assert_eq!(out_a.evals.len(), 6);
        let f = load_tensors(&ckpt_b).unwrap();
        assert_eq!(f.meta::<usize>(&ckpt_b, "iteration").unwrap(), 40);

        // Everything dropped; a fresh model and RNG resume from update 40
        // (with another checkpoint interval, which must not matter).
        let b = model(mode, 1);
        assert!(
            b.w_rec().unwrap() != a.w_rec().unwrap(),
            "training moved the weights"
        );
        let mut reported = Vec::new();
        let out_b = train_kim(
            &b,
            &task,
            &train_cfg(30),
            &mut data_rng(),
            Some(&ckpt_b),
            &mut |e: &KimEval| reported.push(e.iteration),
        )
        .unwrap();
        assert_eq!(reported, [60, 80, 100, 120], "resumed at update 40");
        assert_eq!(out_b.iterations, out_a.iterations);
        assert_eq!(out_b.converged, out_a.converged);
        assert_eq!(
            eval_bits(&out_b),
            eval_bits(&out_a),
            "{mode:?}: evaluations"
        );
        assert_same_parameters(&a, &b, "resumed");
        assert_same_files(&ckpt_a, &ckpt_b);

        // Writing checkpoints changes nothing: a run without any matches.
        let c = model(mode, 1);
        let out_c = train_kim(
            &c,
            &task,
            &train_cfg(40),
            &mut data_rng(),
            None,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            eval_bits(&out_c),
            eval_bits(&out_a),
            "{mode:?}: evaluations"
        );
        assert_same_parameters(&a, &c, "without checkpoints");
    }
}

#[test]
fn a_checkpoint_of_a_met_stopping_rule_returns_its_outcome_without_training() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt.safetensors");
    let task = short_go_nogo();
    // Met at the first evaluation (update 20).
    let cfg = KimTrainConfig {
        loss_threshold: 1e9,
        accuracy_threshold: -1.0,
        ..train_cfg(500)
    };
    let a = model(TauMode::Trained, 5);
    let out_a = train_kim(&a, &task, &cfg, &mut data_rng(), Some(&ckpt), &mut |_| {}).unwrap();
    assert_eq!((out_a.iterations, out_a.converged), (20, true));
    let b = model(TauMode::Trained, 5);
    let mut calls = 0;
    let out_b = train_kim(&b, &task, &cfg, &mut data_rng(), Some(&ckpt), &mut |_| {
        calls += 1
    })
    .unwrap();
    assert_eq!(calls, 0, "nothing was trained or evaluated again");
    assert_eq!((out_b.iterations, out_b.converged), (20, true));
    assert_eq!(eval_bits(&out_b), eval_bits(&out_a));
    assert_same_parameters(&a, &b, "finished");
}

#[test]
fn a_checkpoint_of_another_network_is_refused_in_one_line_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt.safetensors");
    let task = short_go_nogo();
    let short = KimTrainConfig {
        max_iterations: 20,
        ..train_cfg(500)
    };
    train_kim(
        &model(TauMode::Trained, 1),
        &task,
        &short,
        &mut data_rng(),
        Some(&ckpt),
        &mut |_| {},
    )
    .unwrap();
    let before = std::fs::read(&ckpt).unwrap();
    let other_rng = || {
        let mut r = data_rng();
        r.set_stream(7);
        r
    };
    let cases: Vec<(&str, DaleLeaky, KimTrainConfig, TaskRng)> = vec![
        (
            "init fingerprint",
            model(TauMode::Trained, 9),
            short.clone(),
            data_rng(),
        ),
        (
            "dale config",
            model(TauMode::Fixed, 1),
            short.clone(),
            data_rng(),
        ),
        (
            "kim train config",
            model(TauMode::Trained, 1),
            KimTrainConfig {
                learning_rate: 0.02,
                ..short.clone()
            },
            data_rng(),
        ),
        (
            "data rng stream",
            model(TauMode::Trained, 1),
            short.clone(),
            other_rng(),
        ),
    ];
    for (what, m, cfg, mut rng) in cases {
        let err = train_kim(&m, &task, &cfg, &mut rng, Some(&ckpt), &mut |_| {})
            .err()
            .unwrap_or_else(|| panic!("{what}: resumed a checkpoint of another network"))
            .to_string();
        assert!(
            err.contains("ckpt.safetensors")
                && err.contains("different network")
                && err.contains(what),
            "{what}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(
            std::fs::read(&ckpt).unwrap(),
            before,
            "{what}: file changed"
        );
    }
    // Only the checkpoint interval differs: the same network, resumed (it is
    // finished, so nothing is trained).
    let mut calls = 0;
    let out = train_kim(
        &model(TauMode::Trained, 1),
        &task,
        &KimTrainConfig {
            checkpoint_every: 7,
            ..short
        },
        &mut data_rng(),
        Some(&ckpt),
        &mut |_| calls += 1,
    )
    .unwrap();
    assert_eq!((out.iterations, calls), (20, 0));
}
