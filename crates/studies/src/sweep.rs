//! Parameter sweeps that scale a study from one machine to a cluster.
//!
//! A sweep folder holds a copy of the experiment (`experiment.toml`), the
//! study's name (`sweep.toml`) and a manifest (`manifest.csv`: one line per
//! grid point with its index, seed, folder name and parameters). Each point
//! is one network, trained in `networks/<name>/` exactly as `cargo xtask
//! reproduce` trains it (so a finished sweep folder can be aggregated by
//! `cargo xtask reproduce <study> --out DIR` without retraining), and its
//! result is written atomically to `points/<index>.toml`. Running a point is
//! idempotent: a point with a result is skipped; a half-done one resumes
//! from its last checkpoint, after stale temporary files of an interrupted
//! write are removed. Any engine that can run `wm sweep run DIR --index I`
//! works; [`slurm_script`] writes a Slurm job array.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::io::{read_toml, write_atomic, write_toml};
use crate::orhan_ma::config::OrhanMaConfig;
use crate::xie::config::XieConfig;

/// Studies whose networks a sweep can run one at a time.
pub const SWEEP_STUDIES: [&str; 2] = ["orhan-ma", "xie"];

/// `sweep.toml`: what the folder is a sweep of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepInfo {
    /// Study name (one of [`SWEEP_STUDIES`]).
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

/// `points/<index>.toml`: one finished point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Point index.
    pub index: usize,
    /// Folder name under `networks/`.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// Wall-clock seconds of this run of the point.
    pub seconds: f64,
    /// The point's measured values (columns of `wm sweep collect`).
    pub values: BTreeMap<String, f64>,
}

/// A study config loaded for a sweep.
enum Study {
    OrhanMa(Box<OrhanMaConfig>),
    Xie(Box<XieConfig>),
}

fn load_study(study: &str, path: &Path) -> Result<Study> {
    Ok(match study {
        "orhan-ma" => {
            let c: OrhanMaConfig = read_toml(path)?;
            c.validate()
                .with_context(|| format!("invalid config {}", path.display()))?;
            Study::OrhanMa(Box::new(c))
        }
        "xie" => {
            let c: XieConfig = read_toml(path)?;
            c.validate()
                .with_context(|| format!("invalid config {}", path.display()))?;
            Study::Xie(Box::new(c))
        }
        other => bail!("study {other:?} cannot be swept; allowed are {SWEEP_STUDIES:?}"),
    })
}

fn manifest_rows(study: &Study) -> Vec<ManifestRow> {
    match study {
        Study::OrhanMa(cfg) => crate::orhan_ma::grid::expand(cfg)
            .into_iter()
            .map(|s| ManifestRow {
                index: s.index,
                seed: s.seed,
                name: s.dir_name(),
                parameters: format!(
                    "task={};condition={};lambda0={};sigma0={};rho={};input_gain={};replicate={}",
                    s.task,
                    s.condition.name(),
                    s.lambda0,
                    s.sigma0,
                    s.rho,
                    s.input_gain,
                    s.replicate
                ),
            })
            .collect(),
        Study::Xie(cfg) => crate::xie::run::network_specs(cfg)
            .into_iter()
            .map(|s| ManifestRow {
                index: s.index,
                seed: s.seed,
                name: s.dir_name(),
                parameters: format!("condition={}", s.condition.name()),
            })
            .collect(),
    }
}

/// The study named by an experiment path `experiments/<study>/<file>.toml`.
pub fn study_of_path(path: &Path) -> Option<String> {
    let name = path.parent()?.file_name()?.to_str()?;
    SWEEP_STUDIES.contains(&name).then(|| name.to_string())
}

/// `wm sweep plan`: copy the experiment into `dir` and write the manifest.
/// Planning again over the same experiment is a no-op; over a different
/// one it is refused (results would be mixed).
pub fn plan(experiment: &Path, study: &str, scale: &str, dir: &Path) -> Result<Vec<ManifestRow>> {
    let loaded = load_study(study, experiment)?;
    let text = std::fs::read_to_string(experiment)
        .with_context(|| format!("cannot read {}", experiment.display()))?;
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
    let rows = manifest_rows(&loaded);
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
    study: Study,
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
        let manifest = manifest_rows(&study);
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

    /// Whether point `index` has a result.
    pub fn is_done(&self, index: usize) -> bool {
        self.point_path(index).is_file()
    }

    /// Indices without a result.
    pub fn pending(&self) -> Vec<usize> {
        (0..self.manifest.len())
            .filter(|&i| !self.is_done(i))
            .collect()
    }

    /// Run point `index` unless it is done; returns whether it ran.
    pub fn run_point(&self, index: usize) -> Result<bool> {
        let row = self.manifest.get(index).with_context(|| {
            format!(
                "--index {index} is outside the allowed range 0..={} of {}",
                self.manifest.len().saturating_sub(1),
                self.dir.display()
            )
        })?;
        if self.is_done(index) {
            return Ok(false);
        }
        let net_dir = self.dir.join("networks").join(&row.name);
        remove_stale_temporaries(&net_dir)?;
        let clock = std::time::Instant::now();
        let values = match &self.study {
            Study::OrhanMa(cfg) => {
                let spec = crate::orhan_ma::grid::expand(cfg)
                    .into_iter()
                    .nth(index)
                    .context("grid point vanished")?;
                let net = crate::orhan_ma::train::train_network(&spec, cfg, &net_dir, &|_| {})?;
                let r = &net.result;
                BTreeMap::from([
                    ("lambda0".to_string(), r.lambda0),
                    ("sigma0".to_string(), r.sigma0),
                    ("rho".to_string(), r.rho),
                    ("input_gain".to_string(), r.input_gain),
                    ("fractional_loss".to_string(), r.fractional_loss),
                    ("accuracy".to_string(), r.accuracy),
                    ("success".to_string(), f64::from(u8::from(r.success))),
                    ("si".to_string(), r.si),
                    ("diverged".to_string(), f64::from(u8::from(r.diverged))),
                ])
            }
            Study::Xie(cfg) => {
                let spec = crate::xie::run::network_specs(cfg)
                    .into_iter()
                    .nth(index)
                    .context("network vanished")?;
                let net = crate::xie::train::train_network(&spec, cfg, &net_dir)?;
                BTreeMap::from([
                    (
                        "steps".to_string(),
                        net.evals.last().map_or(0.0, |e| e.step as f64),
                    ),
                    ("final_odr_perf".to_string(), net.final_odr_perf()),
                    (
                        "stage_checkpoints".to_string(),
                        net.checkpoints.len() as f64,
                    ),
                ])
            }
        };
        write_toml(
            &self.point_path(index),
            &PointResult {
                index,
                name: row.name.clone(),
                seed: row.seed,
                seconds: clock.elapsed().as_secs_f64(),
                values,
            },
        )?;
        Ok(true)
    }

    /// Every finished point's result, in index order.
    pub fn results(&self) -> Result<Vec<PointResult>> {
        (0..self.manifest.len())
            .filter(|&i| self.is_done(i))
            .map(|i| read_toml(&self.point_path(i)))
            .collect()
    }

    /// `wm sweep collect`: one CSV row per point (all must be done), columns
    /// index, name, seed, seconds, then every value. Refuses while points are
    /// pending or temporary files of interrupted writes remain.
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
        let stale = temporaries(&self.dir)?;
        if let Some(t) = stale.first() {
            bail!(
                "{} temporary files of interrupted writes remain (e.g. {}); rerun their points",
                stale.len(),
                t.display()
            );
        }
        let results = self.results()?;
        let keys: BTreeSet<&String> = results.iter().flat_map(|r| r.values.keys()).collect();
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["index", "name", "seed", "seconds"];
        header.extend(keys.iter().map(|k| k.as_str()));
        w.write_record(&header)?;
        for r in &results {
            let mut rec = vec![
                r.index.to_string(),
                r.name.clone(),
                r.seed.to_string(),
                r.seconds.to_string(),
            ];
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

/// Temporary files (`.<name>.<pid>.tmp`) under `dir`, recursively.
pub fn temporaries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in
            std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?
        {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"))
            {
                out.push(p);
            }
        }
    }
    Ok(out)
}

fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    for t in temporaries(dir)? {
        std::fs::remove_file(&t).with_context(|| format!("cannot remove {}", t.display()))?;
    }
    Ok(())
}

/// Options of the Slurm job-array script.
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
}

/// An sbatch job-array script whose task `i` runs `wm sweep run DIR --index i`.
/// Only the pending points are in the array, so resubmitting after a partial
/// run (or a `scancel`) reruns exactly what is missing.
pub fn slurm_script(sweep: &Sweep, opts: &SlurmOptions) -> Result<String> {
    let pending = sweep.pending();
    if pending.is_empty() {
        bail!(
            "every point of {} is done; nothing to submit",
            sweep.dir.display()
        );
    }
    let dir = std::fs::canonicalize(&sweep.dir)
        .with_context(|| format!("cannot resolve {}", sweep.dir.display()))?;
    let array = compress_ranges(&pending);
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name=wm-{}\n", sweep.info.study));
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
        "exec {} sweep run {} --index \"$SLURM_ARRAY_TASK_ID\" --threads {}\n",
        shell_quote(&opts.wm.display().to_string()),
        shell_quote(&dir.display().to_string()),
        opts.cpus
    ));
    Ok(s)
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
    fn quoting_keeps_paths_with_spaces_whole() {
        assert_eq!(shell_quote("/a/b"), "/a/b");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
    }
}
