//! Every experiment file shipped under `experiments/` parses with its
//! study's config type, passes validation, and every `expected.toml`
//! (`expected-<scale>.toml`) is a well-formed set of checks for the smoke
//! (that) scale — so a typo in a TOML that
//! no test runs end to end (paper scale, supplementary variants) fails here.

use std::path::Path;

use wm_studies::federer_zylberberg::config::FedererZylberbergConfig;
use wm_studies::io::read_toml;
use wm_studies::kim_sejnowski::config::KimSejnowskiConfig;
use wm_studies::orhan_ma::config::OrhanMaConfig;
use wm_studies::regress::Expected;
use wm_studies::study::StudyConfig;
use wm_studies::xie::config::XieConfig;
use wm_tests::workspace_root;

fn check(study: &str, path: &Path) -> anyhow::Result<()> {
    match study {
        "orhan-ma" => read_toml::<OrhanMaConfig>(path)?.validate(),
        "xie" => read_toml::<XieConfig>(path)?.validate(),
        "kim-sejnowski" => read_toml::<KimSejnowskiConfig>(path)?.validate(),
        "federer-zylberberg" => read_toml::<FedererZylberbergConfig>(path)?.validate(),
        other => anyhow::bail!("unknown study folder {other}"),
    }
}

#[test]
fn every_experiment_file_parses_and_validates() {
    let root = workspace_root().join("experiments");
    let mut seen = 0;
    for study in ["orhan-ma", "xie", "kim-sejnowski", "federer-zylberberg"] {
        let dir = root.join(study);
        for scale in ["smoke", "quick", "paper"] {
            assert!(
                dir.join(format!("{scale}.toml")).is_file(),
                "{study} lacks {scale}.toml"
            );
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(scale) = name
                .strip_prefix("expected")
                .and_then(|r| r.strip_suffix(".toml"))
            {
                // expected-<scale>.toml holds the expectations for <scale>.
                let e: Expected = read_toml(&path).unwrap();
                assert_eq!(e.study, study, "{}", path.display());
                let want = scale
                    .strip_prefix('-')
                    .unwrap_or_else(|| panic!("{}: name it expected-<scale>.toml", path.display()));
                assert_eq!(e.scale, want, "{}", path.display());
                for c in &e.checks {
                    c.validate()
                        .unwrap_or_else(|err| panic!("{}: {err:#}", path.display()));
                }
                assert!(!e.checks.is_empty(), "{} has no checks", path.display());
            } else if let Err(err) = check(study, &path) {
                panic!("{}: {err:#}", path.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 16, "only {seen} experiment files found");
}

/// Every stored results folder (`experiments/<study>/*-results`) meets the
/// expected file of the scale its run record names; this needs no training.
#[test]
fn every_stored_results_folder_meets_its_own_scales_expectations() {
    let experiments = wm_tests::workspace_root().join("experiments");
    let stored = wm_studies::regress::stored_results(&experiments).unwrap();
    assert!(
        stored.finished.len() >= 3,
        "only {} stored folders",
        stored.finished.len()
    );
    // A sweep still running has its plan; its points are checked by the
    // sweep's own checksums when it is aggregated.
    for dir in &stored.in_progress {
        let plan = std::fs::read_to_string(dir.join("sweep.toml")).unwrap();
        assert!(plan.contains("n_points"), "{}: {plan}", dir.display());
    }
    for dir in stored.finished {
        let check = wm_studies::regress::check_folder(&dir, &experiments)
            .unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
        let failed: Vec<_> = check.rows.iter().filter(|r| !r.pass).collect();
        assert!(
            failed.is_empty(),
            "{} against {}:\n{}",
            dir.display(),
            check.expected_path.display(),
            wm_studies::regress::render(&check.rows)
        );
    }
}

/// A results folder whose scale has no expected file is an error, not a
/// silent check against another scale's file.
#[test]
fn regress_refuses_a_scale_without_an_expected_file() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("r");
    std::fs::create_dir_all(&results).unwrap();
    std::fs::write(
        results.join("run.toml"),
        "study = \"orhan-ma\"\nscale = \"no-such-scale\"\nseed = 1\nwm_version = \"0\"\nconfig_path = \"x\"\nconfig = \"\"\n",
    )
    .unwrap();
    std::fs::write(
        results.join("summary.toml"),
        "study = \"orhan-ma\"\nscale = \"no-such-scale\"\n[statistics]\nn_networks = 1\n",
    )
    .unwrap();
    let experiments = wm_tests::workspace_root().join("experiments");
    let err = wm_studies::regress::check_folder(&results, &experiments).unwrap_err();
    assert!(
        format!("{err}").contains("expected-no-such-scale.toml does not exist"),
        "{err}"
    );
    // A summary that disagrees with its run record is refused too.
    std::fs::write(
        results.join("summary.toml"),
        "study = \"orhan-ma\"\nscale = \"smoke\"\n[statistics]\n",
    )
    .unwrap();
    let err = wm_studies::regress::check_folder(&results, &experiments).unwrap_err();
    assert!(format!("{err}").contains("but run.toml is"), "{err}");
}
