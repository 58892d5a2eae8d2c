//! Parameter sweeps that scale a study from one machine to a cluster.
//!
//! A sweep folder holds a copy of the experiment (`experiment.toml`), the
//! study's name (`sweep.toml`) and a manifest (`manifest.csv`: one line per
//! grid point with its index, seed, folder name and parameters). Each point
//! is one network, trained in `networks/<name>/` exactly as `cargo xtask
//! reproduce` trains it (so a finished sweep folder can be aggregated by
//! `cargo xtask reproduce <study> --out DIR` without retraining), and its
//! result is written durably to `points/<index>.toml`.
//!
//! Running a point cannot be fooled by a kill, a crash or a second runner:
//!
//! * a point is done only when its result file is whole (a CRC32 line) and
//!   names the manifest's index, folder and seed; a truncated or garbled one
//!   is run again and rewritten;
//! * one runner per point: `points/<index>.lock` is held (an advisory lock
//!   the operating system drops when the runner dies) while the point runs,
//!   and a runner that finds it held skips the point;
//! * temporaries of interrupted writes are removed only by the holder of
//!   the lock of the point they belong to, so a runner never deletes
//!   another's file in the middle of its write;
//! * a half-done point resumes from its last good checkpoint;
//! * a point whose run fails records its error in
//!   `points/<index>.failed.toml`; runners skip it until asked to retry.
//!
//! Any engine that can run `wm sweep run DIR --index I` works;
//! [`slurm_arrays`] writes Slurm job arrays that fit the cluster's
//! `MaxArraySize`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::io::{read_toml, write_atomic, write_toml};
use crate::study::Loaded;

/// The registered studies whose networks a sweep can run one at a time.
pub fn sweep_studies() -> Vec<&'static str> {
    crate::STUDIES
        .iter()
        .filter(|s| s.sweepable())
        .map(|s| s.name())
        .collect()
}

/// `sweep.toml`: what the folder is a sweep of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepInfo {
    /// Study name (one of [`sweep_studies`]).
    pub study: String,
    /// Scale label recorded with the results.
    pub scale: String,
    /// Number of points.
    pub n_points: usize,
    /// wm version that planned the sweep.
    pub wm_version: String,
}

/// One line of `manifest.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRow {
    /// Point index, 0-based (the Slurm array index).
    pub index: usize,
    /// The network's seed.
    pub seed: u64,
    /// Folder name under `networks/`.
    pub name: String,
    /// Parameters as `key=value` pairs separated by `;`.
    pub parameters: String,
}

/// `points/<index>.toml`: one finished point. The file starts with a
/// `checksum` line (CRC32 of the rest); a point counts as done only when the
/// checksum matches and the index, name and seed agree with the manifest.
/// Nothing that depends on the clock is in it, so a sweep run twice (or
/// killed and resumed) writes the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Point index.
    pub index: usize,
    /// Folder name under `networks/`.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// The point's measured values (columns of `wm sweep collect`).
    pub values: BTreeMap<String, f64>,
}

/// `points/<index>.failed.toml`: a point whose run ended in an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedPoint {
    /// Point index.
    pub index: usize,
    /// Folder name under `networks/`.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// The error, with its causes.
    pub error: String,
}

/// The text of a point file: a checksum line, then the result as TOML.
pub fn point_text(r: &PointResult) -> Result<String> {
    let body = toml::to_string_pretty(r).context("cannot serialize a point result")?;
    Ok(format!(
        "checksum = \"{:08x}\"\n{body}",
        crc32fast::hash(body.as_bytes())
    ))
}

/// Parse a point file's text, checking its checksum; the error says why it
/// is not a whole point file.
pub fn parse_point(text: &str) -> std::result::Result<PointResult, String> {
    let (first, body) = text.split_once('\n').ok_or("no checksum line")?;
    let stored = first
        .strip_prefix("checksum = \"")
        .and_then(|r| r.strip_suffix('"'))
        .ok_or("no checksum line")?;
    let actual = format!("{:08x}", crc32fast::hash(body.as_bytes()));
    if stored != actual {
        return Err(format!(
            "checksum mismatch (stored {stored}, contents {actual})"
        ));
    }
    toml::from_str(body).map_err(|e| e.to_string())
}

/// What [`Sweep::run_point`] did with a point.
#[derive(Debug, Clone, PartialEq)]
pub enum PointRun {
    /// The point ran and its result is written.
    Ran,
    /// The point already had a verified result.
    AlreadyDone,
    /// Another runner holds the point's lock (it is running elsewhere).
    Busy,
    /// The point has a recorded failure and failures are not retried.
    SkippedFailed(String),
    /// The point's run failed; the error is recorded in `points/<index>.failed.toml`.
    Failed(String),
}

/// The state of a sweep's points (`wm sweep status`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepStatus {
    /// Points with a verified result.
    pub done: usize,
    /// Points without a result and without a recorded failure.
    pub pending: Vec<usize>,
    /// Points with a recorded failure (and no result), with the error.
    pub failed: Vec<(usize, String)>,
    /// Points whose lock another runner holds now.
    pub running: Vec<usize>,
    /// Points whose result file exists but is truncated or does not verify
    /// (they count as pending and are rewritten when run).
    pub unreadable: Vec<usize>,
}

/// A held lock on one point (`points/<index>.lock`), released on drop.
pub struct PointLock {
    _file: std::fs::File,
}

/// Try to take the exclusive lock at `path` (created if missing); `None`
/// if another runner holds it. A few short retries ride out a momentary
/// probe by `wm sweep status`.
fn try_lock(path: &Path) -> Result<Option<PointLock>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open the lock {}", path.display()))?;
    for _ in 0..10 {
        match file.try_lock() {
            Ok(()) => return Ok(Some(PointLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
    }
    Ok(None)
}

/// Remove temporaries of interrupted writes of the sweep's own files (the
/// manifest, `points.csv`, …: those directly in `dir`). Only with
/// `sweep.lock` held.
fn remove_root_temporaries(dir: &Path, _lock: &PointLock) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let p = entry?.path();
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(wm_io::is_temporary)
        {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    Ok(())
}

/// Whether another runner holds the lock at `path` now (a shared probe,
/// released at once).
fn is_locked(path: &Path) -> bool {
    std::fs::File::open(path)
        .is_ok_and(|f| matches!(f.try_lock_shared(), Err(std::fs::TryLockError::WouldBlock)))
}

/// The study `study`'s config at `path`, read and validated, if the study
/// can be swept.
fn load_study(study: &str, path: &Path) -> Result<Box<dyn Loaded>> {
    let entry = crate::study::find(study)?;
    if !entry.sweepable() {
        bail!(
            "study {study:?} cannot be swept; allowed are {:?}",
            sweep_studies()
        );
    }
    entry.load(path)
}

/// The study named by an experiment path `experiments/<study>/<file>.toml`.
pub fn study_of_path(path: &Path) -> Option<String> {
    let name = path.parent()?.file_name()?.to_str()?;
    sweep_studies().contains(&name).then(|| name.to_string())
}

/// `wm sweep plan`: copy the experiment into `dir` and write the manifest.
/// Planning again over the same experiment is a no-op; over a different
/// one it is refused (results would be mixed).
pub fn plan(experiment: &Path, study: &str, scale: &str, dir: &Path) -> Result<Vec<ManifestRow>> {
    let loaded = load_study(study, experiment)?;
    let text = std::fs::read_to_string(experiment)
        .with_context(|| format!("cannot read {}", experiment.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let Some(lock) = try_lock(&dir.join("sweep.lock"))? else {
        bail!(
            "another `wm sweep` is planning or collecting {}",
            dir.display()
        );
    };
    remove_root_temporaries(dir, &lock)?;
    let copy = dir.join("experiment.toml");
    if copy.exists() {
        let old = std::fs::read_to_string(&copy)?;
        if old != text {
            bail!(
                "{} already holds a sweep of a different experiment; choose another folder",
                dir.display()
            );
        }
    }
    let rows = loaded.sweep_points();
    write_atomic(&copy, text.as_bytes())?;
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &rows {
        w.serialize(r)?;
    }
    write_atomic(&dir.join("manifest.csv"), &w.into_inner()?)?;
    write_toml(
        &dir.join("sweep.toml"),
        &SweepInfo {
            study: study.into(),
            scale: scale.into(),
            n_points: rows.len(),
            wm_version: env!("CARGO_PKG_VERSION").into(),
        },
    )?;
    Ok(rows)
}

/// The sweep in `dir`: its info, manifest and config.
pub struct Sweep {
    /// The folder.
    pub dir: PathBuf,
    /// `sweep.toml`.
    pub info: SweepInfo,
    /// `manifest.csv`.
    pub manifest: Vec<ManifestRow>,
    study: Box<dyn Loaded>,
}

impl Sweep {
    /// Open a planned sweep folder.
    pub fn open(dir: &Path) -> Result<Self> {
        let info: SweepInfo = read_toml(&dir.join("sweep.toml")).with_context(|| {
            format!(
                "{} is not a planned sweep (run `wm sweep plan`)",
                dir.display()
            )
        })?;
        let study = load_study(&info.study, &dir.join("experiment.toml"))?;
        let manifest = study.sweep_points();
        if manifest.len() != info.n_points {
            bail!(
                "{}: the manifest has {} points but sweep.toml says {}",
                dir.display(),
                manifest.len(),
                info.n_points
            );
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            info,
            manifest,
            study,
        })
    }

    /// Path of point `index`'s result.
    pub fn point_path(&self, index: usize) -> PathBuf {
        self.dir.join("points").join(format!("{index:05}.toml"))
    }

    /// Path of point `index`'s failure record.
    pub fn failed_path(&self, index: usize) -> PathBuf {
        self.dir
            .join("points")
            .join(format!("{index:05}.failed.toml"))
    }

    /// Path of point `index`'s lock.
    pub fn lock_path(&self, index: usize) -> PathBuf {
        self.dir.join("points").join(format!("{index:05}.lock"))
    }

    /// Point `index`'s result if its file is whole (checksum) and agrees
    /// with the manifest (index, name, seed); else why not (`Ok(None)`: no file).
    fn verified_point(&self, index: usize) -> Option<std::result::Result<PointResult, String>> {
        let row = self.manifest.get(index)?;
        let text = match std::fs::read_to_string(self.point_path(index)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(e.to_string())),
        };
        Some(parse_point(&text).and_then(|r| {
            if r.index == row.index && r.name == row.name && r.seed == row.seed {
                Ok(r)
            } else {
                Err(format!(
                    "holds point {} ({}, seed {}), the manifest says {} ({}, seed {})",
                    r.index, r.name, r.seed, row.index, row.name, row.seed
                ))
            }
        }))
    }

    /// Whether point `index` has a verified result.
    pub fn is_done(&self, index: usize) -> bool {
        matches!(self.verified_point(index), Some(Ok(_)))
    }

    /// Point `index`'s recorded failure (the error), if any.
    pub fn failure(&self, index: usize) -> Option<String> {
        read_toml::<FailedPoint>(&self.failed_path(index))
            .ok()
            .map(|f| f.error)
    }

    /// How fast points have been finishing lately (see [`crate::pace`]):
    /// from the write times of the finished points' result files.
    pub fn pace(&self, now: std::time::SystemTime) -> Option<crate::pace::Pace> {
        let times: Vec<std::time::SystemTime> = (0..self.manifest.len())
            .filter(|&i| self.is_done(i))
            .filter_map(|i| std::fs::metadata(self.point_path(i)).ok()?.modified().ok())
            .collect();
        crate::pace::pace_of(&times, now)
    }

    /// Indices without a verified result (failed ones included).
    pub fn pending(&self) -> Vec<usize> {
        (0..self.manifest.len())
            .filter(|&i| !self.is_done(i))
            .collect()
    }

    /// Indices a runner should take: without a result, and without a
    /// recorded failure unless `retry_failed`.
    pub fn to_run(&self, retry_failed: bool) -> Vec<usize> {
        (0..self.manifest.len())
            .filter(|&i| !self.is_done(i) && (retry_failed || self.failure(i).is_none()))
            .collect()
    }

    /// Done, pending, failed, running and unreadable points.
    pub fn status(&self) -> SweepStatus {
        let mut st = SweepStatus::default();
        for i in 0..self.manifest.len() {
            match self.verified_point(i) {
                Some(Ok(_)) => {
                    st.done += 1;
                    continue;
                }
                Some(Err(_)) => st.unreadable.push(i),
                None => {}
            }
            if is_locked(&self.lock_path(i)) {
                st.running.push(i);
            }
            match self.failure(i) {
                Some(e) => st.failed.push((i, e)),
                None => st.pending.push(i),
            }
        }
        st
    }

    /// Remove the temporaries of interrupted writes that belong to point
    /// `index` (its network folder, its files in `points/`). Only call with
    /// the point's lock held: then nobody else is writing them.
    fn remove_point_temporaries(&self, index: usize, _lock: &PointLock) -> Result<()> {
        let row = &self.manifest[index];
        let mut stale = wm_io::temporaries(&self.dir.join("networks").join(&row.name))?;
        let prefix = format!("{index:05}.");
        let points = self.dir.join("points");
        if points.is_dir() {
            for entry in std::fs::read_dir(&points)
                .with_context(|| format!("cannot list {}", points.display()))?
            {
                let p = entry?.path();
                if p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(wm_io::temporary_target)
                    .is_some_and(|t| t.starts_with(&prefix))
                {
                    stale.push(p);
                }
            }
        }
        for t in stale {
            tracing::debug!(file = %t.display(), "removing the temporary of an interrupted write");
            std::fs::remove_file(&t).with_context(|| format!("cannot remove {}", t.display()))?;
        }
        Ok(())
    }

    /// Run point `index` unless it is done, another runner holds it, or it
    /// has a recorded failure (unless `retry_failed`). The point's lock is
    /// held while it runs. An error of the point's own run is recorded in
    /// `points/<index>.failed.toml` and returned as [`PointRun::Failed`];
    /// `Err` is for the sweep itself (an index outside the manifest, a
    /// folder that cannot be written).
    pub fn run_point(&self, index: usize, retry_failed: bool) -> Result<PointRun> {
        let row = self.manifest.get(index).with_context(|| {
            format!(
                "--index {index} is outside the allowed range 0..={} of {}",
                self.manifest.len().saturating_sub(1),
                self.dir.display()
            )
        })?;
        if self.is_done(index) {
            return Ok(PointRun::AlreadyDone);
        }
        std::fs::create_dir_all(self.dir.join("points"))
            .with_context(|| format!("cannot create {}", self.dir.join("points").display()))?;
        let Some(lock) = try_lock(&self.lock_path(index))? else {
            return Ok(PointRun::Busy);
        };
        // Another runner may have finished it between the check and the lock.
        match self.verified_point(index) {
            Some(Ok(_)) => return Ok(PointRun::AlreadyDone),
            Some(Err(why)) => tracing::warn!(
                file = %self.point_path(index).display(),
                "unreadable point result ({why}); running the point again"
            ),
            None => {}
        }
        if !retry_failed && let Some(e) = self.failure(index) {
            return Ok(PointRun::SkippedFailed(e));
        }
        self.remove_point_temporaries(index, &lock)?;
        let net_dir = self.dir.join("networks").join(&row.name);
        match self.point_values(index, &net_dir) {
            Ok(values) => {
                let result = PointResult {
                    index,
                    name: row.name.clone(),
                    seed: row.seed,
                    values,
                };
                write_atomic(&self.point_path(index), point_text(&result)?.as_bytes())?;
                let failed = self.failed_path(index);
                if failed.exists() {
                    std::fs::remove_file(&failed)
                        .with_context(|| format!("cannot remove {}", failed.display()))?;
                }
                Ok(PointRun::Ran)
            }
            Err(e) => {
                let error = format!("{e:#}");
                write_toml(
                    &self.failed_path(index),
                    &FailedPoint {
                        index,
                        name: row.name.clone(),
                        seed: row.seed,
                        error: error.clone(),
                    },
                )?;
                Ok(PointRun::Failed(error))
            }
        }
    }

    /// Train (or resume) and measure point `index` in `net_dir`.
    fn point_values(&self, index: usize, net_dir: &Path) -> Result<BTreeMap<String, f64>> {
        self.study.run_sweep_point(index, net_dir)
    }

    /// Every finished point's result, in index order.
    pub fn results(&self) -> Result<Vec<PointResult>> {
        Ok((0..self.manifest.len())
            .filter_map(|i| self.verified_point(i).and_then(|r| r.ok()))
            .collect())
    }

    /// `wm sweep collect`: one CSV row per point (all must be done), columns
    /// index, name, seed, then every value. Refuses while points are
    /// pending. Temporaries of interrupted writes are removed first, each
    /// under the lock of the point it belongs to (the sweep's own files
    /// under `sweep.lock`); one whose owner is busy makes it refuse.
    pub fn collect(&self, out: &Path) -> Result<usize> {
        let pending = self.pending();
        if !pending.is_empty() {
            bail!(
                "{} of {} points are not done yet (first: {}); run them before collecting",
                pending.len(),
                self.manifest.len(),
                pending[0]
            );
        }
        for i in 0..self.manifest.len() {
            match try_lock(&self.lock_path(i))? {
                Some(lock) => self.remove_point_temporaries(i, &lock)?,
                None => {
                    bail!("point {i} is being written by another runner; collect when it is done")
                }
            }
        }
        let Some(sweep_lock) = try_lock(&self.dir.join("sweep.lock"))? else {
            bail!(
                "another `wm sweep` is planning or collecting {}",
                self.dir.display()
            );
        };
        remove_root_temporaries(&self.dir, &sweep_lock)?;
        let stale = wm_io::temporaries(&self.dir)?;
        if let Some(t) = stale.first() {
            bail!(
                "{} temporary files of interrupted writes remain outside the points' folders (e.g. {})",
                stale.len(),
                t.display()
            );
        }
        let results = self.results()?;
        let keys: BTreeSet<&String> = results.iter().flat_map(|r| r.values.keys()).collect();
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["index", "name", "seed"];
        header.extend(keys.iter().map(|k| k.as_str()));
        w.write_record(&header)?;
        for r in &results {
            let mut rec = vec![r.index.to_string(), r.name.clone(), r.seed.to_string()];
            rec.extend(
                keys.iter()
                    .map(|k| r.values.get(*k).map_or(String::new(), f64::to_string)),
            );
            w.write_record(&rec)?;
        }
        write_atomic(out, &w.into_inner()?)?;
        Ok(results.len())
    }
}

/// Slurm's default `MaxArraySize`: array indices must be below it.
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// Options of the Slurm job-array scripts.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// `--partition` (none: the cluster's default).
    pub partition: Option<String>,
    /// `--time` limit per point, e.g. `04:00:00`.
    pub time: String,
    /// `--mem` per point, e.g. `4G`.
    pub mem: String,
    /// `--cpus-per-task`.
    pub cpus: usize,
    /// The `wm` executable the jobs run (absolute path).
    pub wm: PathBuf,
    /// The cluster's `MaxArraySize` (≥ 1): every array index is below it
    /// ([`max_array_size`] reads it; [`DEFAULT_MAX_ARRAY_SIZE`] otherwise).
    pub max_array_size: usize,
    /// At most this many tasks of one array run at once (Slurm's `%N`).
    pub throttle: Option<usize>,
    /// Include points with a recorded failure and run them again.
    pub retry_failed: bool,
}

/// One sbatch job array: its task `i` runs point `offset + i`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmArray {
    /// Point index of array task 0.
    pub offset: usize,
    /// The points this array runs (absolute indices, ascending).
    pub points: Vec<usize>,
    /// The `--array` value: task indices (relative to `offset`), with `%N`.
    pub array: String,
    /// The sbatch script.
    pub script: String,
}

/// `MaxArraySize` from `scontrol show config`, or `None` when `scontrol`
/// is missing, fails or does not say.
pub fn max_array_size() -> Option<usize> {
    let out = std::process::Command::new("scontrol")
        .args(["show", "config"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_max_array_size(&String::from_utf8_lossy(&out.stdout))
}

/// The `MaxArraySize = N` line of `scontrol show config`'s output.
pub fn parse_max_array_size(config: &str) -> Option<usize> {
    config.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "MaxArraySize")
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

/// sbatch job-array scripts for the points still to run, as many arrays
/// as needed for every array index to stay below `opts.max_array_size`:
/// points are grouped by blocks `[k·M, (k+1)·M)` of the cluster's
/// `MaxArraySize` M, and the script of block k runs point `k·M + i` in
/// task `i`. Only points without a result (and, unless
/// `opts.retry_failed`, without a recorded failure) are in the arrays, so
/// resubmitting after a partial run (or a `scancel`) reruns exactly what
/// is missing.
pub fn slurm_arrays(sweep: &Sweep, opts: &SlurmOptions) -> Result<Vec<SlurmArray>> {
    if opts.max_array_size == 0 {
        bail!("MaxArraySize = 0: this cluster does not allow job arrays");
    }
    if opts.throttle == Some(0) {
        bail!("--throttle = 0 is outside the allowed range (≥ 1)");
    }
    let todo = sweep.to_run(opts.retry_failed);
    if todo.is_empty() {
        bail!(
            "no point of {} is left to run{}; nothing to submit",
            sweep.dir.display(),
            if opts.retry_failed {
                ""
            } else {
                " (recorded failures are rerun with --retry-failed)"
            }
        );
    }
    let dir = std::fs::canonicalize(&sweep.dir)
        .with_context(|| format!("cannot resolve {}", sweep.dir.display()))?;
    let mut blocks: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &p in &todo {
        blocks
            .entry(p / opts.max_array_size * opts.max_array_size)
            .or_default()
            .push(p);
    }
    let n = blocks.len();
    Ok(blocks
        .into_iter()
        .enumerate()
        .map(|(k, (offset, points))| {
            let relative: Vec<usize> = points.iter().map(|p| p - offset).collect();
            let mut array = compress_ranges(&relative);
            if let Some(t) = opts.throttle {
                array.push_str(&format!("%{t}"));
            }
            let mut s = String::from("#!/bin/bash\n");
            let part = if n > 1 {
                format!("-{}of{n}", k + 1)
            } else {
                String::new()
            };
            s.push_str(&format!("#SBATCH --job-name=wm-{}{part}\n", sweep.info.study));
            s.push_str(&format!("#SBATCH --array={array}\n"));
            if let Some(p) = &opts.partition {
                s.push_str(&format!("#SBATCH --partition={p}\n"));
            }
            s.push_str(&format!("#SBATCH --time={}\n", opts.time));
            s.push_str(&format!("#SBATCH --mem={}\n", opts.mem));
            s.push_str(&format!("#SBATCH --cpus-per-task={}\n", opts.cpus));
            s.push_str(&format!(
                "#SBATCH --output={}/logs/%A_%a.out\n",
                dir.display()
            ));
            s.push_str("set -euo pipefail\n");
            s.push_str(&format!(
                "# Task i runs point {offset} + i (every array index stays below MaxArraySize = {}).\n",
                opts.max_array_size
            ));
            s.push_str(&format!("offset={offset}\n"));
            s.push_str(&format!(
                "exec {} --threads {} sweep run {} --index \"$((offset + SLURM_ARRAY_TASK_ID))\"{}\n",
                shell_quote(&opts.wm.display().to_string()),
                opts.cpus,
                shell_quote(&dir.display().to_string()),
                if opts.retry_failed { " --retry-failed" } else { "" }
            ));
            SlurmArray {
                offset,
                points,
                array,
                script: s,
            }
        })
        .collect())
}

/// Where the scripts of `n` arrays go when the user asked for `out`: `out`
/// itself for one array; `<stem>.1<ext>`, `<stem>.2<ext>`, … for several.
pub fn script_paths(out: &Path, n: usize) -> Vec<PathBuf> {
    if n == 1 {
        return vec![out.to_path_buf()];
    }
    let stem = out
        .file_stem()
        .map_or_else(|| "array".into(), |s| s.to_string_lossy().into_owned());
    let ext = out
        .extension()
        .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
    (1..=n)
        .map(|k| out.with_file_name(format!("{stem}.{k}{ext}")))
        .collect()
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `[0, 1, 2, 5, 7, 8]` → `"0-2,5,7-8"` (Slurm's array syntax).
pub fn compress_ranges(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            end += 1;
            i += 1;
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_ranges_are_compressed_as_slurm_expects() {
        assert_eq!(compress_ranges(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(compress_ranges(&[3]), "3");
        assert_eq!(compress_ranges(&[]), "");
    }

    #[test]
    fn the_study_is_read_from_the_experiment_path() {
        assert_eq!(
            study_of_path(Path::new("experiments/orhan-ma/quick.toml")).as_deref(),
            Some("orhan-ma")
        );
        assert_eq!(study_of_path(Path::new("elsewhere/quick.toml")), None);
    }

    #[test]
    fn max_array_size_is_read_from_scontrol_output() {
        let out = "Configuration data as of 2026-01-01\nMailProg                = /bin/mail\nMaxArraySize            = 3\nMaxJobCount             = 10000\n";
        assert_eq!(parse_max_array_size(out), Some(3));
        assert_eq!(parse_max_array_size("MaxJobCount = 10\n"), None);
    }

    #[test]
    fn several_scripts_are_numbered_beside_the_requested_one() {
        let p = Path::new("/x/om.sbatch");
        assert_eq!(script_paths(p, 1), [PathBuf::from("/x/om.sbatch")]);
        assert_eq!(
            script_paths(p, 3),
            ["/x/om.1.sbatch", "/x/om.2.sbatch", "/x/om.3.sbatch"].map(PathBuf::from)
        );
    }

    #[test]
    fn point_files_verify_their_checksum() {
        let r = PointResult {
            index: 3,
            name: "0003-2AFC-basic".into(),
            seed: 42,
            values: BTreeMap::from([("si".to_string(), 1.25), ("x".to_string(), f64::NAN)]),
        };
        let text = point_text(&r).unwrap();
        let back = parse_point(&text).unwrap();
        assert_eq!((back.index, &back.name, back.seed), (3, &r.name, 42));
        assert_eq!(back.values["si"], 1.25);
        assert!(back.values["x"].is_nan());
        assert!(parse_point(&text[..text.len() - 3]).is_err(), "truncated");
        assert!(
            parse_point(&text.replace("1.25", "1.35")).is_err(),
            "altered"
        );
        assert!(parse_point("garbage").is_err());
        assert!(parse_point("").is_err());
    }

    #[test]
    fn quoting_keeps_paths_with_spaces_whole() {
        assert_eq!(shell_quote("/a/b"), "/a/b");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
