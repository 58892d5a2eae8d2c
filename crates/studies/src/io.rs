//! Durable file writes and the provenance record kept beside every result.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The one durable, atomic write (a temporary in the same folder, synced,
/// renamed over the path, the folder synced): readers never see a
/// half-written file.
pub use wm_io::write_atomic;

/// Write a network folder's run record `run` (its `run.toml`), refusing a
/// folder whose record differs: resuming a checkpoint is only safe for the
/// same network, trained the same way.
pub fn write_run_record(dir: &Path, run: &str) -> Result<()> {
    let run_path = dir.join("run.toml");
    if let Ok(previous) = std::fs::read_to_string(&run_path)
        && previous != run
    {
        anyhow::bail!(
            "{} describes a different network than this config asks for; \
             resume only with the same config, or write to a fresh --out folder",
            run_path.display()
        );
    }
    Ok(write_atomic(&run_path, run.as_bytes())?)
}

/// Serialize `value` as pretty TOML and write it atomically.
pub fn write_toml<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = toml::to_string_pretty(value)
        .with_context(|| format!("cannot serialize {}", path.display()))?;
    write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// Read and parse a TOML file, naming the file (and TOML's line/field) on error.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
}

/// Write rows as CSV with a header, atomically.
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)
            .with_context(|| format!("cannot serialize a row of {}", path.display()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("csv buffer: {e}"))?;
    write_atomic(path, &bytes)?;
    Ok(())
}

/// Where a result came from: written as `run.toml` beside every result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Provenance {
    /// Study name.
    pub study: String,
    /// Scale the run used (`smoke`, `quick`, `paper`).
    pub scale: String,
    /// Master seed; every network's seed is derived from it (see [`derive_seed`]).
    pub seed: u64,
    /// wm version that produced the result.
    pub wm_version: String,
    /// `git rev-parse HEAD` of the source tree, when known.
    pub git_commit: Option<String>,
    /// Path of the config file the run read: relative to the source tree
    /// when the file is inside it (so records do not name the machine's
    /// folders), else as given.
    pub config_path: String,
    /// The config's full text, verbatim.
    pub config: String,
}

impl Provenance {
    /// Record the config at `config_path` (read verbatim) with its seed and scale.
    pub fn new(study: &str, scale: &str, seed: u64, config_path: &Path) -> Result<Self> {
        let config = std::fs::read_to_string(config_path)
            .with_context(|| format!("cannot read {}", config_path.display()))?;
        Ok(Self {
            study: study.into(),
            scale: scale.into(),
            seed,
            wm_version: env!("CARGO_PKG_VERSION").into(),
            git_commit: git_commit(),
            config_path: recorded_path(config_path),
            config,
        })
    }
}

/// `path` relative to the source tree when it lies inside it, else as given.
fn recorded_path(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match (root.canonicalize(), path.canonicalize()) {
        (Ok(root), Ok(full)) => full.strip_prefix(&root).map_or_else(
            |_| path.display().to_string(),
            |rel| rel.display().to_string(),
        ),
        _ => path.display().to_string(),
    }
}

/// The source tree's commit, if this is a git checkout and git is installed.
pub fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Seed of the `index`-th network of a run with master seed `master`.
///
/// Each index gets its own ChaCha8 stream, so seeds do not depend on how many
/// networks run or in what order, and two indices never share a stream.
pub fn derive_seed(master: u64, index: u64) -> u64 {
    use rand::{RngCore, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(master);
    rng.set_stream(index);
    rng.next_u64()
}

/// The thread pool that trains networks: `threads` workers, one network per
/// core (candle runs single-threaded inside each), with 16-MiB stacks for
/// the deep call chains of backpropagation through time.
pub fn network_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(16 << 20)
        .build()
        .context("cannot start the worker threads")
}

/// `work` on every item on `pool`, in parallel, the results in the items'
/// order; `finished(result, k, total)` runs as the `k`-th of `total` results
/// lands (for progress lines), whichever item it is.
pub fn par_map_counted<S: Sync, R: Send>(
    pool: &rayon::ThreadPool,
    items: &[S],
    work: impl Fn(&S) -> Result<R> + Sync,
    finished: impl Fn(&R, usize, usize) + Sync,
) -> Result<Vec<R>> {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let done = AtomicUsize::new(0);
    let total = items.len();
    pool.install(|| {
        items
            .par_iter()
            .map(|s| {
                let r = work(s)?;
                finished(&r, done.fetch_add(1, Ordering::Relaxed) + 1, total);
                Ok(r)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_are_stable_and_distinct() {
        let a: Vec<u64> = (0..100).map(|i| derive_seed(7, i)).collect();
        let b: Vec<u64> = (0..100).map(|i| derive_seed(7, i)).collect();
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 100);
        assert_ne!(derive_seed(7, 0), derive_seed(8, 0));
    }

    #[test]
    fn config_paths_inside_the_source_tree_are_recorded_relative_to_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let inside = root.join("experiments/orhan-ma/smoke.toml");
        let p = Provenance::new("orhan-ma", "smoke", 1, &inside).unwrap();
        assert_eq!(p.config_path, "experiments/orhan-ma/smoke.toml");
        assert_eq!(p.config, std::fs::read_to_string(&inside).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("c.toml");
        std::fs::write(&outside, "seed = 1\n").unwrap();
        let p = Provenance::new("orhan-ma", "c", 1, &outside).unwrap();
        assert_eq!(p.config_path, outside.display().to_string());
    }

    #[test]
    fn a_run_record_is_kept_and_a_different_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_run_record(dir.path(), "seed = 1\n").unwrap();
        write_run_record(dir.path(), "seed = 1\n").unwrap();
        let err = write_run_record(dir.path(), "seed = 2\n").unwrap_err();
        assert!(err.to_string().contains("run.toml"), "{err}");
        let kept = std::fs::read_to_string(dir.path().join("run.toml")).unwrap();
        assert_eq!(kept, "seed = 1\n");
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.toml");
        write_atomic(&p, b"a = 1\n").unwrap();
        write_atomic(&p, b"a = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a = 2\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
