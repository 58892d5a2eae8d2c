//! `cargo xtask fuzz --minutes N`: the structured fuzz generators of
//! `wm_tests::fuzz` against the release `wm` binary, round after round with
//! fresh seeds, printing cases run and failures.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Cases per round; each round has its own seed and scratch folder.
const ROUND: usize = 500;

/// Build `wm` in release mode and fuzz it for `minutes`.
pub fn run(minutes: f64, seed: Option<u64>) -> Result<()> {
    if !(minutes.is_finite() && minutes > 0.0 && minutes <= 10_000.0) {
        bail!("--minutes = {minutes} is out of range; allowed: (0, 10000]");
    }
    let root = wm_tests::workspace_root();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-p", "wm-cli"])
        .current_dir(&root)
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p wm-cli failed");
    }
    let wm: PathBuf = root.join("target").join("release").join("wm");
    let deadline = Instant::now() + Duration::from_secs_f64(minutes * 60.0);
    let mut seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let (mut cases, mut failures, mut rounds) = (0usize, Vec::new(), 0usize);
    let mut timeouts = Vec::new();
    let mut per_kind = vec![0usize; wm_tests::fuzz::GENERATORS.len()];
    println!(
        "fuzzing {} for {minutes} min from seed {seed}",
        wm.display()
    );
    while Instant::now() < deadline {
        let dir = tempfile::tempdir().context("cannot create a scratch folder")?;
        let report = wm_tests::fuzz::run(&wm, dir.path(), seed, ROUND, Some(deadline));
        cases += report.cases;
        rounds += 1;
        for (k, (_, n)) in report.per_kind.iter().enumerate() {
            per_kind[k] += n;
        }
        timeouts.extend(report.timeouts);
        for f in report.failures {
            eprintln!("FAILURE (seed {seed}): {f}");
            failures.push((seed, f));
        }
        seed = seed.wrapping_add(1);
    }
    println!(
        "{cases} cases in {rounds} rounds; failures: {}; stopped after 10 s (valid but long requests): {}",
        failures.len(),
        timeouts.len()
    );
    for t in timeouts.iter().take(5) {
        println!("  stopped: {t}");
    }
    for (name, n) in wm_tests::fuzz::GENERATORS.iter().zip(&per_kind) {
        println!("  {name:>14}: {n} cases");
    }
    if !failures.is_empty() {
        bail!("{} failing case(s); replay with --seed", failures.len());
    }
    Ok(())
}
