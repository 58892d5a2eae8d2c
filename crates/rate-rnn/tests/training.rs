//! Training behaviour: learning a memory task, exact resume, reproducibility,
//! divergence detection and checkpoint errors.

mod common;

use candle_core::DType;
use common::{SignMemory, net};
use rand::SeedableRng;
use std::path::Path;
use wm_rate_rnn::optim::AdamConfig;
use wm_rate_rnn::record::evaluate;

use wm_rate_rnn::train::{TrainConfig, TrainOutcome, load_weights};
use wm_rate_rnn::{RateModel, RateRnnError, Vanilla, VanillaConfig, train};
use wm_tasks::{OutputKind, TaskRng};

fn weights(m: &dyn RateModel) -> Vec<Vec<f32>> {
    m.named_vars()
        .iter()
        .map(|(_, v)| v.as_tensor().flatten_all().unwrap().to_vec1().unwrap())
        .collect()
}

/// These tests' training settings: `iterations` batches of `batch_size`,
/// Adam at `learning_rate`, a log row every `log_every` iterations and a
/// checkpoint every `checkpoint_every` (0: none).
fn config(
    iterations: usize,
    batch_size: usize,
    learning_rate: f64,
    log_every: usize,
    checkpoint_every: usize,
) -> TrainConfig {
    TrainConfig {
        iterations,
        batch_size,
        adam: AdamConfig {
            learning_rate,
            ..Default::default()
        },
        log_every,
        checkpoint_every,
        ..Default::default()
    }
}

/// Train `model` on `task` with batches from data seed `seed`, checkpointing
/// in `dir` when given.
fn fit(
    model: &dyn RateModel,
    task: &SignMemory,
    cfg: &TrainConfig,
    seed: u64,
    dir: Option<&Path>,
) -> wm_rate_rnn::Result<TrainOutcome> {
    train(
        model,
        task,
        cfg,
        &mut TaskRng::seed_from_u64(seed),
        dir,
        &mut |_| {},
    )
}

#[test]
fn a_small_network_learns_to_remember_a_sign_across_a_delay() {
    let task = SignMemory::new(20.0, OutputKind::Sigmoid);
    let model = net(1, 32);
    let cfg = config(300, 32, 3e-3, 100, 0);
    let mut rng = TaskRng::seed_from_u64(11);
    let before = evaluate(&model, &task, &mut TaskRng::seed_from_u64(99), 4, 64)
        .unwrap()
        .accuracy;
    let out = train(&model, &task, &cfg, &mut rng, None, &mut |_| {}).unwrap();
    assert_eq!(out.log.len(), 3);
    assert!(
        out.log[2].loss < out.log[0].loss,
        "loss must fall: {:?}",
        out.log
    );
    let after = evaluate(&model, &task, &mut TaskRng::seed_from_u64(99), 4, 64)
        .unwrap()
        .accuracy;
    assert!(after > 0.95, "accuracy {after} (before training {before})");
}

#[test]
fn resuming_from_a_checkpoint_is_bit_identical_to_an_uninterrupted_run() {
    let task = SignMemory::new(8.0, OutputKind::Sigmoid);
    let cfg = |iterations| config(iterations, 8, 1e-2, 5, 10);
    let straight = net(3, 16);
    let dir_a = tempfile::tempdir().unwrap();
    fit(&straight, &task, &cfg(20), 4, Some(dir_a.path())).unwrap();

    let dir_b = tempfile::tempdir().unwrap();
    let first = net(3, 16);
    fit(&first, &task, &cfg(10), 4, Some(dir_b.path())).unwrap();
    // A new process: a differently initialised model and RNG; the checkpoint must override both.
    let resumed = net(77, 16);
    let out = fit(&resumed, &task, &cfg(20), 12345, Some(dir_b.path())).unwrap();
    assert_eq!(out.resumed_from, Some(10));
    assert_eq!(out.log.len(), 4);
    assert_eq!(
        weights(&straight),
        weights(&resumed),
        "resumed weights differ from the uninterrupted run"
    );

    let loaded = net(5, 16);
    assert_eq!(load_weights(&loaded, dir_a.path()).unwrap(), 20);
    assert_eq!(weights(&loaded), weights(&straight));
}

#[test]
fn a_truncated_newest_checkpoint_falls_back_to_the_previous_one_bit_identically() {
    use wm_rate_rnn::checkpoint::{WEIGHTS, WEIGHTS_PREVIOUS};
    let task = SignMemory::new(8.0, OutputKind::Sigmoid);
    let cfg = |iterations| config(iterations, 8, 1e-2, 5, 5);
    let run = |model: &Vanilla, iterations, dir: &Path| {
        fit(model, &task, &cfg(iterations), 4, Some(dir)).unwrap()
    };
    let straight = net(3, 16);
    let dir_a = tempfile::tempdir().unwrap();
    run(&straight, 20, dir_a.path());

    // Killed after the checkpoint of iteration 15: 15 is the newest, 10 the previous.
    let truncate = |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
    };
    let dir_b = tempfile::tempdir().unwrap();
    run(&net(3, 16), 15, dir_b.path());
    truncate(&dir_b.path().join(WEIGHTS));
    let resumed = net(77, 16);
    let out = run(&resumed, 20, dir_b.path());
    assert_eq!(out.resumed_from, Some(10), "the previous checkpoint");
    assert_eq!(
        out.log.len(),
        4,
        "the log is trimmed to the checkpoint and refilled"
    );
    assert_eq!(weights(&straight), weights(&resumed));
    assert_eq!(load_weights(&net(5, 16), dir_b.path()).unwrap(), 20);

    // Both checkpoints unusable (one truncated, one with a flipped byte):
    // the network trains again from its initial state, to the same weights.
    let dir_c = tempfile::tempdir().unwrap();
    run(&net(3, 16), 15, dir_c.path());
    truncate(&dir_c.path().join(WEIGHTS));
    let prev = dir_c.path().join(WEIGHTS_PREVIOUS);
    let mut bytes = std::fs::read(&prev).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x10;
    std::fs::write(&prev, &bytes).unwrap();
    let restarted = net(3, 16);
    let out = run(&restarted, 20, dir_c.path());
    assert_eq!(out.resumed_from, None, "nothing usable to resume from");
    assert_eq!(weights(&straight), weights(&restarted));
    assert!(out.train_seconds > 0.0);
}

#[test]
fn the_same_seeds_give_the_same_network_and_different_seeds_do_not() {
    let task = SignMemory::new(5.0, OutputKind::Linear);
    let cfg = config(5, 4, AdamConfig::default().learning_rate, 5, 0);
    let run = |init, data| {
        let m = net(init, 8);
        fit(&m, &task, &cfg, data, None).unwrap();
        weights(&m)
    };
    assert_eq!(run(1, 2), run(1, 2));
    assert_ne!(run(1, 2), run(1, 3));
    assert_ne!(run(1, 2), run(2, 2));
}

#[test]
fn a_diverging_run_stops_with_a_clear_error() {
    let task = SignMemory::new(30.0, OutputKind::Sigmoid);
    let cfg = config(50, 4, 1e6, 10, 0);
    let err = fit(&net(1, 8), &task, &cfg, 0, None).unwrap_err();
    assert!(matches!(err, RateRnnError::Diverged { .. }), "{err}");
    assert!(err.to_string().contains("not finite"), "{err}");
}

#[test]
fn bad_configs_and_checkpoints_are_named_in_the_error() {
    let cfg = VanillaConfig {
        n_units: 0,
        ..Default::default()
    };
    let err = Vanilla::new(
        cfg,
        DType::F32,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(0),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("n_units") && err.contains("≥ 1"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("weights.safetensors"), b"not a checkpoint").unwrap();
    let err = load_weights(&net(0, 8), dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("weights.safetensors"), "{err}");

    // A checkpoint of a different size is refused, naming the parameter.
    let task = SignMemory::new(3.0, OutputKind::Sigmoid);
    let small = config(1, 2, AdamConfig::default().learning_rate, 1, 0);
    let d2 = tempfile::tempdir().unwrap();
    fit(&net(0, 8), &task, &small, 0, Some(d2.path())).unwrap();
    let err = load_weights(&net(0, 9), d2.path()).unwrap_err().to_string();
    assert!(err.contains("w_in") && err.contains("shape"), "{err}");
}

#[test]
fn sequential_training_carries_parameters_and_adam_state_into_the_second_task() {
    let first = SignMemory::new(6.0, OutputKind::Sigmoid);
    let second = SignMemory::new(9.0, OutputKind::Sigmoid);
    let cfg = |iterations| config(iterations, 8, 1e-2, 5, 0);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let m = net(4, 12);
    fit(&m, &first, &cfg(10), 1, Some(a.path())).unwrap();
    let after_first = weights(&m);
    wm_rate_rnn::train_after(
        &m,
        &second,
        &cfg(10),
        &mut TaskRng::seed_from_u64(2),
        b.path(),
        a.path(),
        &mut |_| {},
    )
    .unwrap();
    // Independent reference: one uninterrupted Adam run over both phases.
    let reference = net(4, 12);
    let vars = reference.named_vars();
    let mut adam = wm_rate_rnn::Adam::new(
        vars,
        AdamConfig {
            learning_rate: 1e-2,
            ..Default::default()
        },
    )
    .unwrap();
    let obj = wm_rate_rnn::loss::Objective::default();
    for (task, seed) in [(&first, 1u64), (&second, 2)] {
        let mut rng = TaskRng::seed_from_u64(seed);
        for _ in 0..10 {
            let batch = wm_tasks::Task::batch(task, &mut rng, 8);
            let (loss, _, _) =
                wm_rate_rnn::train::objective(&reference, task, &batch, &obj, Some(&mut rng))
                    .unwrap();
            adam.step(&loss.backward().unwrap()).unwrap();
        }
        if seed == 1 {
            assert_eq!(weights(&reference), after_first);
        }
    }
    assert_eq!(
        weights(&reference),
        weights(&m),
        "phase two must continue phase one's Adam state"
    );
    // A fresh Adam in phase two would differ.
    let fresh = net(4, 12);
    fit(&fresh, &first, &cfg(10), 1, None).unwrap();
    fit(&fresh, &second, &cfg(10), 2, None).unwrap();
    assert_ne!(weights(&fresh), weights(&m));
}
