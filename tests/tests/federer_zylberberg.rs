//! Federer & Zylberberg at smoke scale, end to end: the same call `cargo
//! xtask reproduce federer-zylberberg --scale smoke` makes, then the
//! regression check against `experiments/federer-zylberberg/expected-smoke.toml`,
//! the files every experiment must leave behind, and the refusal of bad configs.

use wm_studies::federer_zylberberg::FedererZylberberg;
use wm_studies::federer_zylberberg::config::FedererZylberbergConfig;
use wm_studies::io::read_toml;
use wm_studies::regress::{Expected, Summary};
use wm_studies::study::{RunContext, StudyConfig, run};
use wm_tests::experiment_file;

const STUDY: &str = "federer-zylberberg";

#[test]
fn smoke_reproduction_meets_the_expected_statistics() {
    let config = experiment_file(STUDY, "smoke.toml");
    let cfg: FedererZylberbergConfig = read_toml(&config).unwrap();
    let expected: Expected = read_toml(&experiment_file(STUDY, "expected-smoke.toml")).unwrap();
    assert_eq!(expected.scale, "smoke");
    let out = tempfile::tempdir().unwrap();
    let summary =
        run::<FedererZylberberg>(&cfg, &RunContext::new(out.path(), &config, "smoke")).unwrap();
    if let Err(table) = summary.check(&expected) {
        panic!("federer-zylberberg smoke statistics outside their expected ranges:\n{table}");
    }
    // The summary on disk is the one returned.
    let on_disk: Summary = read_toml(&out.path().join("summary.toml")).unwrap();
    assert_eq!(on_disk.statistics, summary.statistics);
    assert_eq!(on_disk.study, STUDY);
    for file in ["summary.toml", "run.toml", "REPORT.md"] {
        assert!(out.path().join(file).is_file(), "{file} was not written");
    }
    // Fig. 2A: the recorded units' rates of one plastic and one constant network.
    for cond in ["plastic", "constant"] {
        let png = out.path().join(format!("fig2a_{cond}_rates.png"));
        assert!(png.is_file(), "{} was not drawn", png.display());
        let csv =
            std::fs::read_to_string(out.path().join(format!("fig2a/{cond}_rates.csv"))).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        assert_eq!(header.len(), 2 + 10, "time, ŝ and 10 units: {header:?}");
        assert_eq!(csv.lines().count(), 1 + 500);
    }
    let report = std::fs::read_to_string(out.path().join("REPORT.md")).unwrap();
    // Fig. 5 at 1 %: the published 0 is set beside the original code's
    // spread over independent seeds, not counted as wm's largest deviation.
    assert!(
        report.contains("1 % connected: published 0.00000 from only 4 distinct networks"),
        "REPORT.md does not qualify the published Fig. 5 value at 1 %"
    );
    assert!(report.contains("0.076 ± 0.199 (mean ± s.d.; 5 of 30 networks keep ŝ)"));
    assert!(
        !report
            .lines()
            .any(|l| l.starts_with("Largest difference") && l.contains("(1 % connected;")),
        "the published Fig. 5 value at 1 % is counted as wm's largest deviation"
    );
    for exp in &cfg.experiments {
        let dir = out.path().join(&exp.name);
        assert!(
            dir.join("end_ratios.csv").is_file(),
            "{}: no end_ratios.csv",
            exp.name
        );
        let png = out.path().join(format!("{}.png", exp.name));
        assert!(
            std::fs::metadata(&png).is_ok_and(|m| m.len() > 1000),
            "{}: no figure",
            exp.name
        );
        assert!(
            report.contains(&exp.figure),
            "REPORT.md lacks {}",
            exp.figure
        );
        // The published claim is quoted beside the numbers, in the experiment's section.
        assert!(
            report.contains(exp.claim.trim()),
            "REPORT.md lacks the claim of {}",
            exp.name
        );
        assert!(
            report.contains(&format!("## {} — `{}`", exp.figure, exp.name)),
            "REPORT.md lacks the section of {}",
            exp.name
        );
        // curves.csv: a header of time then mean and SEM per curve, one row
        // per ms of the run, every curve starting at exactly 1.
        let text = std::fs::read_to_string(dir.join("curves.csv")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let curves = exp.series_names();
        assert_eq!(header.len(), 1 + 2 * curves.len(), "{}", exp.name);
        assert_eq!(header[0], "time_ms");
        assert_eq!(header[1], format!("{}_mean", curves[0]));
        let first: Vec<f64> = lines
            .next()
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(first[0], 0.0);
        for (c, name) in curves.iter().enumerate() {
            assert_eq!(
                first[1 + 2 * c],
                1.0,
                "{}: {name} does not start at 1",
                exp.name
            );
            assert_eq!(
                first[2 + 2 * c],
                0.0,
                "{}: {name} has SEM at t = 0",
                exp.name
            );
        }
        let duration = exp.duration_ms.unwrap_or(cfg.duration_ms);
        assert_eq!(text.lines().count(), 1 + duration as usize, "{}", exp.name);
        // Every curve has its statistics.
        for name in &curves {
            let key = format!("{}_{name}_ratio_end", exp.name);
            assert!(summary.statistics.contains_key(&key), "missing {key}");
        }
    }
}

#[test]
fn a_config_with_an_unknown_field_is_refused_with_the_file_and_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "seed = 1\n[[experiment]]\nname = 'fig2'\nfigure = 'Fig. 2'\n\
         [[experiment.condition]]\nname = 'plastic'\nrate = { n_unit = 50 }\n",
    )
    .unwrap();
    let err = format!(
        "{:#}",
        read_toml::<FedererZylberbergConfig>(&path).unwrap_err()
    );
    assert!(err.contains("bad.toml") && err.contains("n_unit"), "{err}");
}

#[test]
fn an_out_of_range_value_is_refused_naming_the_field_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("range.toml");
    std::fs::write(
        &path,
        "[[experiment]]\nname = 'fig5'\nfigure = 'Fig. 5'\n\
         [[experiment.condition]]\nname = 'p_2'\nrate = { connectivity = 2.0 }\n",
    )
    .unwrap();
    let cfg: FedererZylberbergConfig = read_toml(&path).unwrap();
    let err = cfg.validate().unwrap_err().to_string();
    assert!(
        err.contains("connectivity") && err.contains("[0, 1]") && err.contains("p_2"),
        "{err}"
    );
    // `run` refuses it before simulating or writing anything.
    let out = dir.path().join("out");
    let err = format!(
        "{:#}",
        run::<FedererZylberberg>(&cfg, &RunContext::new(&out, &path, "smoke")).unwrap_err()
    );
    assert!(err.contains("connectivity"), "{err}");
    assert!(!out.join("summary.toml").exists());
}

#[test]
fn every_scale_runs_every_experiment_and_the_paper_scale_uses_the_published_sizes() {
    let load = |scale: &str| -> FedererZylberbergConfig {
        let path = experiment_file(STUDY, &format!("{scale}.toml"));
        let cfg: FedererZylberbergConfig = read_toml(&path).unwrap();
        cfg.validate().unwrap();
        cfg
    };
    let names = |cfg: &FedererZylberbergConfig| -> Vec<String> {
        cfg.experiments.iter().map(|e| e.name.clone()).collect()
    };
    let (smoke, quick, paper) = (load("smoke"), load("quick"), load("paper"));
    let large = load("paper-large-n");
    // Smoke exercises every experiment (and so every kind and code path) of
    // the paper scale, whose 10,000-neuron networks have a file of their own.
    let mut full = names(&paper);
    full.extend(names(&large));
    assert_eq!(names(&smoke), full);
    assert_eq!(names(&quick), full);
    assert_eq!(names(&large), ["large_n"]);
    for name in [
        "fig2", "fig2a", "fig2d", "fig3a", "fig3b", "fig4", "fig5", "fig6", "fig7", "fig8c",
        "figa2", "figa3a", "figa3b", "figa4", "large_n",
    ] {
        assert!(
            full.iter().any(|n| n == name),
            "paper.toml and paper-large-n.toml lack {name}"
        );
    }
    // The published sizes: 10 networks, 3-s runs and sessions, N = 10,000.
    assert_eq!(paper.networks, 10);
    assert_eq!(paper.duration_ms, 3000.0);
    let exp = |cfg: &FedererZylberbergConfig, name: &str| {
        cfg.experiments
            .iter()
            .find(|e| e.name == name)
            .unwrap()
            .clone()
    };
    assert_eq!((large.networks, large.duration_ms), (10, 3000.0));
    let big = exp(&large, "large_n");
    assert_eq!(big.n_networks(&large), 3);
    assert!(big.conditions.iter().all(|c| c.rate.n_units == 10_000));
    assert_eq!(exp(&paper, "fig6").session(&paper), 3000.0);
    let sessions: Vec<usize> = exp(&paper, "fig6")
        .conditions
        .iter()
        .map(|c| c.pretrain_sessions)
        .collect();
    assert_eq!(sessions, [0, 1, 5, 10]);
    let alphas: Vec<f64> = exp(&paper, "fig3b")
        .conditions
        .iter()
        .map(|c| c.rate.update_noise)
        .collect();
    assert_eq!(alphas.len(), 12);
    assert_eq!((alphas[0], alphas[10], alphas[11]), (0.0, 1.0, 10.0));
    let a2 = exp(&paper, "figa2");
    assert!(
        a2.conditions
            .iter()
            .all(|c| c.rate.eta == 1e-6 && c.pretrain_sessions == 5)
    );
}
