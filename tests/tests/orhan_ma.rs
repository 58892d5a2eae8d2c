//! Orhan & Ma end to end: at smoke scale, the same call `cargo xtask
//! reproduce orhan-ma --scale smoke` makes, then the regression check
//! against `experiments/orhan-ma/expected-smoke.toml`, then a resume from the
//! finished run that must reproduce the same statistics; at quick scale (the
//! default), the published sign of the σ0 effect against
//! `expected-quick.toml`.

use wm_studies::io::read_toml;
use wm_studies::orhan_ma::OrhanMa;
use wm_studies::orhan_ma::config::OrhanMaConfig;
use wm_studies::regress::{Expected, Summary};
use wm_studies::study::{RunContext, run};
use wm_tests::experiment_file;

#[test]
fn smoke_reproduction_meets_the_expected_statistics_and_reruns_identically() {
    let config = experiment_file("orhan-ma", "smoke.toml");
    let cfg: OrhanMaConfig = read_toml(&config).unwrap();
    let expected: Expected =
        read_toml(&experiment_file("orhan-ma", "expected-smoke.toml")).unwrap();
    assert_eq!(expected.scale, "smoke");
    let out = tempfile::tempdir().unwrap();
    let summary = run::<OrhanMa>(&cfg, &RunContext::new(out.path(), &config, "smoke")).unwrap();
    if let Err(table) = summary.check(&expected) {
        panic!("orhan-ma smoke statistics outside their expected ranges:\n{table}");
    }
    for file in [
        "summary.toml",
        "networks.csv",
        "REPORT.md",
        "run.toml",
        "si_vs_sigma0.png",
        "untrained_si_grid.png",
    ] {
        assert!(out.path().join(file).is_file(), "{file} was not written");
    }
    // One task: the report says where the task ordering is measured instead,
    // and the folder it names is in the repository.
    let report = std::fs::read_to_string(out.path().join("REPORT.md")).unwrap();
    assert!(
        report.contains("One task at this scale, so no ordering."),
        "{report}"
    );
    assert!(
        wm_tests::workspace_root()
            .join("experiments/orhan-ma/medium-results/REPORT.md")
            .is_file()
    );
    // Running again over the finished folder resumes every network from its
    // checkpoint and must give the same numbers.
    let again = run::<OrhanMa>(&cfg, &RunContext::new(out.path(), &config, "smoke")).unwrap();
    for (k, v) in &summary.statistics {
        let w = again.statistics[k];
        assert!(
            v.to_bits() == w.to_bits() || (v.is_nan() && w.is_nan()),
            "{k}: {v} then {w}"
        );
    }
}

/// The quick reproduction (the default scale, 5–6 min on 2 cores) against
/// `experiments/orhan-ma/expected-quick.toml`: SI increases with σ0 and
/// decreases with ρ.
#[test]
fn quick_reproduction_shows_si_rising_with_sigma0_and_falling_with_rho() {
    let config = experiment_file("orhan-ma", "quick.toml");
    let cfg: OrhanMaConfig = read_toml(&config).unwrap();
    let expected: Expected =
        read_toml(&experiment_file("orhan-ma", "expected-quick.toml")).unwrap();
    assert_eq!(expected.scale, "quick");
    let out = tempfile::tempdir().unwrap();
    let summary = run::<OrhanMa>(&cfg, &RunContext::new(out.path(), &config, "quick")).unwrap();
    if let Err(table) = summary.check(&expected) {
        panic!("orhan-ma quick statistics outside their expected ranges:\n{table}");
    }
}

#[test]
fn a_config_with_an_unknown_field_is_refused_with_the_file_and_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "seed = 1\nn_unit = 20\n").unwrap();
    let err = format!("{:#}", read_toml::<OrhanMaConfig>(&path).unwrap_err());
    assert!(err.contains("bad.toml") && err.contains("n_unit"), "{err}");
}

#[test]
fn an_out_of_range_value_is_refused_naming_the_field_and_range() {
    let cfg = OrhanMaConfig {
        sigma0: vec![0.1, -0.2],
        ..Default::default()
    };
    let err = cfg.validate().unwrap_err().to_string();
    assert!(
        err.contains("sigma0") && err.contains("-0.2") && err.contains("allowed range"),
        "{err}"
    );
}

#[test]
fn an_exploding_grid_point_is_recorded_as_a_diverged_network_not_an_error() {
    use wm_studies::orhan_ma::config::Condition;
    use wm_studies::orhan_ma::grid::NetworkSpec;
    use wm_studies::orhan_ma::train::train_network;
    // λ0 + σ0 ≈ 2: ReLU activity grows ~2^150 over the trial and overflows f32.
    let cfg = OrhanMaConfig {
        n_units: 20,
        iterations: 20,
        batch_size: 5,
        test_batches: 1,
        record_trials: 5,
        ..Default::default()
    };
    let spec = NetworkSpec {
        index: 0,
        task: "COMP".into(),
        condition: Condition::Basic,
        lambda0: 1.5,
        sigma0: 2.5,
        rho: 0.0,
        input_gain: 1.0,
        replicate: 0,
        seed: 1,
    };
    let dir = tempfile::tempdir().unwrap();
    let net = train_network(&spec, &cfg, dir.path(), &|_| {}).unwrap();
    assert!(net.result.diverged, "{:?}", net.result);
    assert!(!net.result.success && net.result.si.is_nan());
    assert!(dir.path().join("result.toml").is_file());
}

/// The stored medium grid (`experiments/orhan-ma/medium-results`, 216
/// trained networks) re-aggregates from its committed networks, with nothing
/// retrained, to exactly the committed `summary.toml`: the stored numbers
/// are what the committed weights and the current analysis code give.
#[test]
fn the_stored_medium_grid_reaggregates_to_its_committed_summary() {
    let config = experiment_file("orhan-ma", "medium.toml");
    let cfg: OrhanMaConfig = read_toml(&config).unwrap();
    let stored = wm_tests::workspace_root().join("experiments/orhan-ma/medium-results");
    let out = tempfile::tempdir().unwrap();
    let mut copied = 0;
    for entry in std::fs::read_dir(stored.join("networks")).unwrap() {
        let from = entry.unwrap().path();
        let to = out.path().join("networks").join(from.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        // A network missing its final weights would be trained again
        // (hours): refuse instead.
        for file in [
            "weights.safetensors",
            "run.toml",
            "result.toml",
            "train_log.csv",
        ] {
            std::fs::copy(from.join(file), to.join(file))
                .unwrap_or_else(|e| panic!("{}: {e}", from.join(file).display()));
        }
        copied += 1;
    }
    assert_eq!(copied, 216);
    let summary = run::<OrhanMa>(&cfg, &RunContext::new(out.path(), &config, "medium")).unwrap();
    let committed: Summary = read_toml(&stored.join("summary.toml")).unwrap();
    assert_eq!(
        summary.statistics.keys().collect::<Vec<_>>(),
        committed.statistics.keys().collect::<Vec<_>>()
    );
    for (k, v) in &committed.statistics {
        let w = summary.statistics[k];
        assert!(
            v.to_bits() == w.to_bits() || (v.is_nan() && w.is_nan()),
            "{k}: committed {v}, re-aggregated {w}"
        );
    }
}
