//! Every experiment file shipped under `experiments/` parses with its
//! study's config type, passes validation, and every `expected.toml`
//! (`expected-<scale>.toml`) is a well-formed set of checks for the smoke
//! (that) scale — so a typo in a TOML that
//! no test runs end to end (paper scale, supplementary variants) fails here.

use std::path::Path;

use wm_studies::federer_zylberberg::config::FedererZylbergConfig;
use wm_studies::io::read_toml;
use wm_studies::kim_sejnowski::config::KimSejnowskiConfig;
use wm_studies::orhan_ma::config::OrhanMaConfig;
use wm_studies::regress::Expected;
use wm_studies::xie::config::XieConfig;
use wm_tests::workspace_root;

fn check(study: &str, path: &Path) -> anyhow::Result<()> {
    match study {
        "orhan-ma" => read_toml::<OrhanMaConfig>(path)?.validate(),
        "xie" => read_toml::<XieConfig>(path)?.validate(),
        "kim-sejnowski" => read_toml::<KimSejnowskiConfig>(path)?.validate(),
        "federer-zylberberg" => read_toml::<FedererZylbergConfig>(path)?.validate(),
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
                // expected.toml is for smoke, expected-<scale>.toml for <scale>.
                let e: Expected = read_toml(&path).unwrap();
                assert_eq!(e.study, study, "{}", path.display());
                let want = scale.strip_prefix('-').unwrap_or("smoke");
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
