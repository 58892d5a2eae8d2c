//! Xie et al. 2022 at smoke scale, end to end: the same call `cargo xtask
//! reproduce xie --scale smoke` makes, the regression check against
//! `experiments/xie/expected.toml`, then a rerun over the finished folder
//! that must reload every network instead of retraining and give the same
//! statistics.

use wm_studies::io::read_toml;
use wm_studies::regress::Expected;
use wm_studies::xie::config::XieConfig;
use wm_studies::xie::run::run;
use wm_tests::experiment_file;

#[test]
fn smoke_reproduction_meets_the_expected_statistics_and_reruns_identically() {
    let config = experiment_file("xie", "smoke.toml");
    let cfg: XieConfig = read_toml(&config).unwrap();
    let expected: Expected = read_toml(&experiment_file("xie", "expected.toml")).unwrap();
    assert_eq!(expected.scale, "smoke");
    let out = tempfile::tempdir().unwrap();
    let summary = run(&cfg, "smoke", &config, out.path()).unwrap();
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
    ] {
        assert!(out.path().join(file).is_file(), "{file} was not written");
    }
    let again = run(&cfg, "smoke", &config, out.path()).unwrap();
    for (k, v) in &summary.statistics {
        let w = again.statistics[k];
        assert!(
            v.to_bits() == w.to_bits() || (v.is_nan() && w.is_nan()),
            "{k}: {v} then {w}"
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
