//! `cargo xtask regress`: compare a run's `summary.toml` with the expected
//! statistics of the scale it was made at,
//! `experiments/<study>/expected-<scale>.toml`, the scale read from the
//! folder's `run.toml` (the comparison itself lives in `wm_studies::regress`).
//! A missing expected file is an error, never a fallback to another scale.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use wm_studies::regress::{check_folder, render, stored_results};

use crate::study::{Selection, default_results_dir, workspace_root};

/// `cargo xtask regress <study> [--results DIR] [--stored]`.
pub fn run(study: Selection, results: Option<PathBuf>, stored: bool) -> Result<()> {
    let experiments = workspace_root().join("experiments");
    let folders: Vec<PathBuf> = match (stored, results) {
        (true, Some(_)) => {
            bail!("--stored checks the folders under experiments/; it takes no --results")
        }
        (true, None) => {
            let of_study = |p: &PathBuf| {
                matches!(study, Selection::All)
                    || p.parent().is_some_and(|d| d.ends_with(study.name()))
            };
            let stored = stored_results(&experiments)?;
            for p in stored.in_progress.iter().filter(|p| of_study(p)) {
                println!(
                    "{}: a sweep still running (no summary.toml yet); not checked\n",
                    p.display()
                );
            }
            stored.finished.into_iter().filter(of_study).collect()
        }
        (false, Some(dir)) => vec![dir],
        (false, None) => study
            .studies()
            .into_iter()
            .map(default_results_dir)
            .collect(),
    };
    if folders.is_empty() {
        bail!(
            "no stored results folders (experiments/<study>/*-results) for {}",
            study.name()
        );
    }
    let mut failures = Vec::new();
    for dir in &folders {
        if let Err(e) = check_one(dir, &experiments) {
            eprintln!("error: {e:#}");
            failures.push(dir.display().to_string());
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} of {} results folders failed: {}",
            failures.len(),
            folders.len(),
            failures.join(", ")
        );
    }
    Ok(())
}

fn check_one(results: &Path, experiments: &Path) -> Result<()> {
    let check = check_folder(results, experiments)?;
    println!(
        "{}: {} against {} (scale `{}`)",
        check.study,
        results.join("summary.toml").display(),
        check.expected_path.display(),
        check.scale
    );
    print!("{}", render(&check.rows));
    let failed = check.rows.iter().filter(|r| !r.pass).count();
    println!("{} passed, {} failed\n", check.rows.len() - failed, failed);
    if failed > 0 {
        bail!(
            "{failed} of {} statistics of {} are outside their expected range",
            check.rows.len(),
            results.display()
        );
    }
    Ok(())
}
