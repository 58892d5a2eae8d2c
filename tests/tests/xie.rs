//! Xie et al. 2022 end to end: at smoke scale, the same call `cargo xtask
//! reproduce xie --scale smoke` makes, the regression check against
//! `experiments/xie/expected-smoke.toml`, then a rerun over the finished folder
//! that must reload every network instead of retraining and give the same
//! statistics; at quick scale, the analyses of two stored quick-trained
//! networks against `experiments/xie/expected-quick.toml` and, bit for bit,
//! the stored `experiments/xie/quick-results/summary.toml`.

use std::path::Path;

use wm_studies::io::read_toml;
use wm_studies::regress::{Expected, Summary};
use wm_studies::study::{RunContext, run};
use wm_studies::xie::Xie;
use wm_studies::xie::config::XieConfig;
use wm_tests::experiment_file;

#[test]
fn smoke_reproduction_meets_the_expected_statistics_and_reruns_identically() {
    let config = experiment_file("xie", "smoke.toml");
    let cfg: XieConfig = read_toml(&config).unwrap();
    let expected: Expected = read_toml(&experiment_file("xie", "expected-smoke.toml")).unwrap();
    assert_eq!(expected.scale, "smoke");
    let out = tempfile::tempdir().unwrap();
    let summary = run::<Xie>(&cfg, &RunContext::new(out.path(), &config, "smoke")).unwrap();
    if let Err(table) = summary.check(&expected) {
        panic!("xie smoke statistics outside their expected ranges:\n{table}");
    }
    for file in [
        "summary.toml",
        "networks.csv",
        "checkpoints.csv",
        "REPORT.md",
        "run.toml",
        "psth_fixed.png",
        "endpoints_fixed.png",
        "fano_fixed.png",
        "rate_behaviour_r_fixed.png",
        "w_rec_sorted_fixed.png",
        "activity_sorted_fixed.png",
        "activity_sorted_variable.png",
    ] {
        assert!(out.path().join(file).is_file(), "{file} was not written");
    }
    let again = run::<Xie>(&cfg, &RunContext::new(out.path(), &config, "smoke")).unwrap();
    for (k, v) in &summary.statistics {
        let w = again.statistics[k];
        assert!(
            v.to_bits() == w.to_bits() || (v.is_nan() && w.is_nan()),
            "{k}: {v} then {w}"
        );
    }
}

/// Copy the folder tree `from` into `to` (created).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The quick-scale regression: `cargo xtask reproduce xie` with quick.toml
/// over the two networks a quick run trained (stored in
/// `experiments/xie/quick-networks/`, see its README). Training them takes
/// ~16 min on 2 cores, past the CI budget, so the pipeline reloads them as
/// it does any finished network; every analysis then runs as in a fresh
/// quick run and the statistics must meet `expected-quick.toml`.
#[test]
fn quick_networks_reanalysed_meet_the_expected_quick_statistics() {
    let config = experiment_file("xie", "quick.toml");
    let cfg: XieConfig = read_toml(&config).unwrap();
    let expected: Expected = read_toml(&experiment_file("xie", "expected-quick.toml")).unwrap();
    assert_eq!(expected.scale, "quick");
    let stored = experiment_file("xie", "quick-networks");
    let out = tempfile::tempdir().unwrap();
    copy_tree(&stored, &out.path().join("networks"));
    let summary = run::<Xie>(&cfg, &RunContext::new(out.path(), &config, "quick")).unwrap();
    for net in ["000-fixed", "001-variable"] {
        let log = |root: &Path| std::fs::read_to_string(root.join(net).join("evals.csv")).unwrap();
        assert_eq!(
            log(&stored),
            log(&out.path().join("networks")),
            "{net} was trained further: quick.toml no longer matches the stored networks"
        );
    }
    if let Err(table) = summary.check(&expected) {
        panic!("xie quick statistics outside their expected ranges:\n{table}");
    }
    // The stored quick results (experiments/xie/quick-results) are exactly
    // what these networks and the current analysis code give.
    let committed: Summary =
        read_toml(&experiment_file("xie", "quick-results/summary.toml")).unwrap();
    assert_eq!(
        summary.statistics.keys().collect::<Vec<_>>(),
        committed.statistics.keys().collect::<Vec<_>>(),
        "quick-results/summary.toml is out of date: regenerate it (its README)"
    );
    for (k, v) in &committed.statistics {
        let w = summary.statistics[k];
        assert!(
            v.to_bits() == w.to_bits() || (v.is_nan() && w.is_nan()),
            "{k}: committed {v}, re-analysed {w}"
        );
    }
}

#[test]
fn bad_xie_configs_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "seed = 1\nn_unit = 20\n").unwrap();
    let err = format!("{:#}", read_toml::<XieConfig>(&path).unwrap_err());
    assert!(err.contains("bad.toml") && err.contains("n_unit"), "{err}");
    let cfg = XieConfig {
        stage_bounds: [0.65, 0.35, 0.95],
        ..Default::default()
    };
    let err = cfg.validate().unwrap_err().to_string();
    assert!(
        err.contains("stage_bounds") && err.contains("allowed range"),
        "{err}"
    );
    let cfg = XieConfig {
        rules: vec!["odr9000".into()],
        ..Default::default()
    };
    let err = format!("{:#}", cfg.validate().unwrap_err());
    assert!(err.contains("odr9000"), "{err}");
}
