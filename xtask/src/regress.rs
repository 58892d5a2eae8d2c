//! `cargo xtask regress`: compare a run's `summary.toml` with the study's
//! expected statistics for the run's scale, `experiments/<study>/expected-<scale>.toml`
//! where the study has one (Orhan & Ma, Kim & Sejnowski and Xie at `quick`), else
//! `experiments/<study>/expected.toml` (the comparison itself lives in
//! `wm_studies::regress`).

use std::path::PathBuf;

use anyhow::{Result, bail};
use wm_studies::io::read_toml;
use wm_studies::regress::{Expected, Summary, compare, render};

use crate::study::{Study, default_results_dir, workspace_root};

/// `cargo xtask regress <study> [--results DIR]`.
pub fn run(study: Study, results: Option<PathBuf>) -> Result<()> {
    if study == Study::All {
        for s in Study::EACH {
            run(s, None)?;
        }
        return Ok(());
    }
    let results = results.unwrap_or_else(|| default_results_dir(study));
    let summary: Summary = read_toml(&results.join("summary.toml"))?;
    let dir = workspace_root().join("experiments").join(study.name());
    let for_scale = dir.join(format!("expected-{}.toml", summary.scale));
    let expected_path = if for_scale.is_file() {
        for_scale
    } else {
        dir.join("expected.toml")
    };
    let expected: Expected = read_toml(&expected_path)?;
    let rows = compare(&expected, &summary)?;
    println!(
        "{}: {} against {} (expectations for scale `{}`)",
        expected.study,
        results.join("summary.toml").display(),
        expected_path.display(),
        expected.scale
    );
    print!("{}", render(&rows));
    let failed = rows.iter().filter(|r| !r.pass).count();
    println!("{} passed, {} failed", rows.len() - failed, failed);
    if failed > 0 {
        bail!(
            "{failed} of {} statistics of {} are outside their expected range",
            rows.len(),
            study.name()
        );
    }
    Ok(())
}
