//! Kim & Sejnowski end to end. At smoke scale: the same call `cargo xtask
//! reproduce kim-sejnowski --scale smoke` makes, then the regression check
//! against `experiments/kim-sejnowski/expected-smoke.toml`, the files the run must
//! write, and a rerun over the finished folder that must not retrain. At
//! quick scale (the default): the published DMS > Go-NoGo ordering of
//! timescales against `expected-quick.toml`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use wm_studies::io::read_toml;
use wm_studies::kim_sejnowski::KimSejnowski;
use wm_studies::kim_sejnowski::config::{KimSejnowskiConfig, TauRegime};
use wm_studies::regress::{Expected, Summary};
use wm_studies::study::{RunContext, Study, Work, find, run};
use wm_tests::experiment_file;

/// The run `cargo xtask reproduce kim-sejnowski --scale <scale>` makes,
/// through the study driver.
fn reproduce(cfg: &KimSejnowskiConfig, scale: &str, config: &Path, out: &Path) -> Summary {
    run::<KimSejnowski>(cfg, &RunContext::new(out, config, scale)).unwrap()
}

/// Modification time of every network's weights file.
fn weight_times(out: &Path) -> BTreeMap<String, SystemTime> {
    std::fs::read_dir(out.join("networks"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = std::fs::metadata(e.path().join("weights.safetensors"))
                .unwrap()
                .modified()
                .unwrap();
            (e.file_name().to_string_lossy().into_owned(), m)
        })
        .collect()
}

#[test]
fn smoke_reproduction_meets_the_expected_statistics_and_reruns_without_retraining() {
    let config = experiment_file("kim-sejnowski", "smoke.toml");
    let cfg: KimSejnowskiConfig = read_toml(&config).unwrap();
    let expected: Expected =
        read_toml(&experiment_file("kim-sejnowski", "expected-smoke.toml")).unwrap();
    assert_eq!(expected.scale, "smoke");
    let out = tempfile::tempdir().unwrap();
    let summary = reproduce(&cfg, "smoke", &config, out.path());
    if let Err(table) = summary.check(&expected) {
        panic!("kim-sejnowski smoke statistics outside their expected ranges:\n{table}");
    }
    for file in [
        "summary.toml",
        "run.toml",
        "REPORT.md",
        "networks.csv",
        "timescales.csv",
        "example_spikes.csv",
        "example_spikes.safetensors",
        "example_raster.png",
        "timescale_histogram_dms_optimized.png",
        "timescale_histogram_gonogo_optimized.png",
        "network_timescales_optimized.png",
        "discriminability_long_minus_short.png",
        "training.csv",
        "training_dms_optimized.png",
        "training_gonogo_fixed.png",
        "tau_syn_dms.png",
    ] {
        let p = out.path().join(file);
        assert!(
            p.is_file() && std::fs::metadata(&p).unwrap().len() > 0,
            "{file} was not written"
        );
    }

    // networks.csv: one row per network with the documented columns, and
    // timescales.csv: one row per unit of every network.
    let text = std::fs::read_to_string(out.path().join("networks.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    for col in [
        "task",
        "tau_mode",
        "seed",
        "rate_accuracy",
        "best_scale",
        "lif_accuracy",
        "included",
        "mean_timescale_ms",
        "n_units_fitted",
    ] {
        assert!(header.split(',').any(|c| c == col), "no column {col}");
    }
    assert_eq!(lines.count(), 8);
    let units = std::fs::read_to_string(out.path().join("timescales.csv")).unwrap();
    assert_eq!(units.lines().count(), 1 + 8 * cfg.n_units);
    // Every accepted unit timescale is within the paper's inclusion range.
    let mut ul = units.lines();
    let cols: Vec<&str> = ul.next().unwrap().split(',').collect();
    let k = cols.iter().position(|&c| c == "timescale_ms").unwrap();
    let mut fitted = 0;
    for line in ul {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), cols.len(), "{line}");
        if !f[k].is_empty() {
            let t: f64 = f[k].parse().unwrap();
            assert!(t > 0.0 && t <= 500.0, "timescale {t} ms out of (0, 500]");
            fitted += 1;
        }
    }
    assert!(fitted > 0);
    let report = std::fs::read_to_string(out.path().join("REPORT.md")).unwrap();
    assert!(report.contains("## Training\n\n| task | τ^s |"), "{report}");
    // training.csv: the evaluations of every network while it trained; the
    // mean τ^s of a fixed network is exactly tau_fixed_ms, an optimized
    // one's lies strictly inside (tau_min_ms, tau_max_ms), and evaluations
    // come every train.eval_every updates.
    let training = std::fs::read_to_string(out.path().join("training.csv")).unwrap();
    let mut tl = training.lines();
    assert_eq!(
        tl.next().unwrap(),
        "network,iteration,loss,accuracy,mean_tau_syn_ms"
    );
    let mut rows = 0;
    for line in tl {
        let f: Vec<&str> = line.split(',').collect();
        let iteration: usize = f[1].parse().unwrap();
        assert_eq!(iteration % cfg.train.eval_every, 0, "{line}");
        let tau: f64 = f[4].parse().unwrap();
        if f[0].contains("-fixed-") {
            assert_eq!(tau, cfg.tau_fixed_ms, "{line}");
        } else {
            assert!(tau > cfg.tau_min_ms && tau < cfg.tau_max_ms, "{line}");
        }
        rows += 1;
    }
    assert!(rows >= 8, "{rows} evaluations for 8 networks");

    // The spike CSV has the documented header and spikes within the trial.
    let spikes = std::fs::read_to_string(out.path().join("example_spikes.csv")).unwrap();
    let mut sl = spikes.lines();
    assert_eq!(sl.next().unwrap(), "trial,unit,time_ms");
    for line in sl.take(1000) {
        let f: Vec<&str> = line.split(',').collect();
        let t: f64 = f[2].parse().unwrap();
        assert!(t > 0.0 && t <= cfg.timescale.duration_ms + 1e-9, "{line}");
        assert!(f[1].parse::<usize>().unwrap() < cfg.n_units);
    }

    // A rerun over the finished folder loads every network: no weights file
    // is rewritten and the statistics are the same.
    let before = weight_times(out.path());
    assert_eq!(before.len(), 8);
    let again = reproduce(&cfg, "smoke", &config, out.path());
    assert_eq!(weight_times(out.path()), before, "a network was retrained");
    for (k, v) in &summary.statistics {
        let w = again.statistics[k];
        assert!(
            v.to_bits() == w.to_bits() || (v.is_nan() && w.is_nan()),
            "{k}: {v} then {w}"
        );
    }

    // Redoing one network's analysis from its saved weights (LIF
    // simulations are seeded) reproduces its row exactly.
    let net = out.path().join("networks").join("dms-optimized-r000");
    let row = std::fs::read_to_string(net.join("result.toml")).unwrap();
    std::fs::remove_file(net.join("result.toml")).unwrap();
    let third = reproduce(&cfg, "smoke", &config, out.path());
    assert_eq!(weight_times(out.path()), before, "a network was retrained");
    let redone = std::fs::read_to_string(net.join("result.toml")).unwrap();
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.contains("seconds"))
            .map(String::from)
            .collect()
    };
    assert_eq!(strip(&row), strip(&redone));
    assert_eq!(
        summary.statistics["mean_timescale_dms_optimized_ms"].to_bits(),
        third.statistics["mean_timescale_dms_optimized_ms"].to_bits()
    );
}

#[test]
fn a_config_with_an_unknown_field_is_refused_with_the_file_and_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "seed = 1\nnetworks_per_conditon = 2\n").unwrap();
    let err = format!("{:#}", read_toml::<KimSejnowskiConfig>(&path).unwrap_err());
    assert!(
        err.contains("bad.toml") && err.contains("networks_per_conditon"),
        "{err}"
    );
    std::fs::write(&path, "[timescale]\nmax_lags = 3\n").unwrap();
    let err = format!("{:#}", read_toml::<KimSejnowskiConfig>(&path).unwrap_err());
    assert!(err.contains("max_lags"), "{err}");
}

#[test]
fn out_of_range_values_are_refused_naming_the_field_and_range() {
    let cases: Vec<(KimSejnowskiConfig, &str)> = vec![
        (
            KimSejnowskiConfig {
                lif_accuracy_threshold: 1.5,
                ..Default::default()
            },
            "lif_accuracy_threshold",
        ),
        (
            KimSejnowskiConfig {
                tau_max_ms: 10.0,
                ..Default::default()
            },
            "tau_max_ms",
        ),
        (
            KimSejnowskiConfig {
                networks_per_condition: 0,
                ..Default::default()
            },
            "networks_per_condition",
        ),
        (
            KimSejnowskiConfig {
                tau_regimes: vec![],
                ..Default::default()
            },
            "tau_regimes",
        ),
    ];
    for (cfg, field) in cases {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    let mut cfg = KimSejnowskiConfig::default();
    cfg.timescale.duration_ms = 300.0;
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("timescale.duration_ms"), "{err}");
    let mut cfg = KimSejnowskiConfig::default();
    cfg.discriminability.step_ms = 7.0;
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("discriminability.step_ms"), "{err}");
    // The defaults and every shipped scale are valid.
    KimSejnowskiConfig::default().validate().unwrap();
    for scale in ["smoke", "quick", "paper"] {
        let cfg: KimSejnowskiConfig =
            read_toml(&experiment_file("kim-sejnowski", &format!("{scale}.toml"))).unwrap();
        cfg.validate().unwrap();
        assert!(cfg.tau_regimes.contains(&TauRegime::Optimized));
    }
}

/// The quick reproduction (the default scale, ~3.5 min on 2 cores) against
/// `experiments/kim-sejnowski/expected-quick.toml`: DMS networks have longer
/// network-mean timescales than Go-NoGo networks under both τ^s regimes, and
/// every kept network performs the task as a LIF network.
#[test]
fn quick_reproduction_has_longer_timescales_for_dms_than_go_nogo() {
    let config = experiment_file("kim-sejnowski", "quick.toml");
    let cfg: KimSejnowskiConfig = read_toml(&config).unwrap();
    let expected: Expected =
        read_toml(&experiment_file("kim-sejnowski", "expected-quick.toml")).unwrap();
    assert_eq!(expected.scale, "quick");
    let out = tempfile::tempdir().unwrap();
    let summary = reproduce(&cfg, "quick", &config, out.path());
    if let Err(table) = summary.check(&expected) {
        panic!("kim-sejnowski quick statistics outside their expected ranges:\n{table}");
    }
}

#[test]
fn the_registry_reaches_the_study_by_name_and_counts_its_networks() {
    let entry = find("kim-sejnowski").unwrap();
    assert_eq!(entry.name(), KimSejnowski::NAME);
    let config = experiment_file("kim-sejnowski", "smoke.toml");
    let cfg: KimSejnowskiConfig = read_toml(&config).unwrap();
    // tasks × τ regimes × replicates, one unit of work per network.
    let networks = cfg.tasks.len() * cfg.tau_regimes.len() * cfg.networks_per_condition;
    assert_eq!(networks, 8);
    let work = Work {
        total: networks,
        unit: "networks",
    };
    assert_eq!(KimSejnowski::work(&cfg), work);
    assert_eq!(entry.load(&config).unwrap().work(), work);
    // Loading through the registry validates the config.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "lif_accuracy_threshold = 1.5\n").unwrap();
    let err = format!("{:#}", entry.load(&bad).err().unwrap());
    assert!(
        err.contains("bad.toml") && err.contains("lif_accuracy_threshold"),
        "{err}"
    );
}
