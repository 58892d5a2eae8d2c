//! `wm sweep`: plan, run, slurm, status, collect (see `wm_studies::sweep`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rayon::prelude::*;
use wm_studies::pace::human_duration;
use wm_studies::sweep::{
    DEFAULT_MAX_ARRAY_SIZE, PointRun, SlurmOptions, Sweep, compress_ranges, max_array_size, plan,
    script_paths, slurm_arrays, study_of_path,
};

/// Sweep actions.
#[derive(Debug, Subcommand)]
pub enum SweepAction {
    /// Write the manifest of an experiment's grid into DIR.
    Plan {
        /// Experiment TOML (e.g. experiments/orhan-ma/paper.toml).
        experiment: PathBuf,
        /// Sweep folder.
        #[arg(long)]
        out: PathBuf,
        /// Study (default: the experiment's folder name).
        #[arg(long)]
        study: Option<String>,
        /// Scale label recorded with the results (default: the file stem).
        #[arg(long)]
        scale: Option<String>,
    },
    /// Run one point (`--index I`) or every pending point (`--local`).
    Run {
        /// Sweep folder.
        dir: PathBuf,
        /// Point index (a Slurm array task).
        #[arg(long, conflicts_with = "local")]
        index: Option<usize>,
        /// Run every pending point on this machine.
        #[arg(long)]
        local: bool,
        /// Points run at once with --local.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Run points with a recorded failure again (otherwise they are skipped).
        #[arg(long)]
        retry_failed: bool,
    },
    /// Write sbatch job-array scripts for the points still to run (as many
    /// arrays as the cluster's MaxArraySize needs).
    Slurm {
        /// Sweep folder.
        dir: PathBuf,
        /// Partition.
        #[arg(long)]
        partition: Option<String>,
        /// Time limit per point.
        #[arg(long, default_value = "04:00:00")]
        time: String,
        /// Memory per point.
        #[arg(long, default_value = "4G")]
        mem: String,
        /// CPUs per point.
        #[arg(long, default_value_t = 1)]
        cpus: usize,
        /// At most N tasks of each array run at once (Slurm's `%N`).
        #[arg(long)]
        throttle: Option<usize>,
        /// Array indices must stay below this (default: `scontrol show
        /// config`'s MaxArraySize, else Slurm's default 1001).
        #[arg(long)]
        max_array_size: Option<usize>,
        /// Include points with a recorded failure.
        #[arg(long)]
        retry_failed: bool,
        /// Write the script here (several arrays: FILE's stem numbered
        /// .1, .2, …) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Submit every script with sbatch (scripts go to DIR/array.sbatch
        /// unless --out says otherwise).
        #[arg(long)]
        submit: bool,
    },
    /// How many points are done; which are pending, running or failed.
    Status {
        /// Sweep folder.
        dir: PathBuf,
    },
    /// Gather every point's result into DIR/points.csv (or --out).
    Collect {
        /// Sweep folder.
        dir: PathBuf,
        /// Output CSV.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Run `wm sweep`.
pub fn run(a: SweepAction) -> Result<()> {
    match a {
        SweepAction::Plan {
            experiment,
            out,
            study,
            scale,
        } => {
            let study = match study.or_else(|| study_of_path(&experiment)) {
                Some(s) => s,
                None => bail!(
                    "cannot tell the study of {}: pass --study (allowed: {:?})",
                    experiment.display(),
                    wm_studies::sweep::sweep_studies()
                ),
            };
            let scale = scale.unwrap_or_else(|| {
                experiment
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("custom")
                    .to_string()
            });
            let rows = plan(&experiment, &study, &scale, &out)?;
            println!(
                "{} points of {study} planned in {}; run them with `wm sweep run {} --local` or `wm sweep slurm {}`",
                rows.len(),
                out.display(),
                out.display(),
                out.display()
            );
        }
        SweepAction::Run {
            dir,
            index,
            local,
            jobs,
            retry_failed,
        } => {
            let sweep = Sweep::open(&dir)?;
            if let Some(i) = index {
                match sweep.run_point(i, retry_failed)? {
                    PointRun::Ran => println!("point {i}: done"),
                    PointRun::AlreadyDone => println!("point {i}: already done, skipped"),
                    PointRun::Busy => println!("point {i}: running elsewhere (locked), skipped"),
                    PointRun::SkippedFailed(e) => println!(
                        "point {i}: skipped, it failed before ({}); rerun with --retry-failed",
                        first_line(&e)
                    ),
                    PointRun::Failed(e) => bail!(
                        "point {i} failed (recorded in {}): {e}",
                        sweep.failed_path(i).display()
                    ),
                }
            } else if local {
                if jobs == 0 {
                    return Err(crate::out_of_range("--jobs", 0, "≥ 1"));
                }
                if !retry_failed {
                    let skipped: Vec<usize> = sweep
                        .pending()
                        .into_iter()
                        .filter(|&i| sweep.failure(i).is_some())
                        .collect();
                    if !skipped.is_empty() {
                        println!(
                            "skipping {} points with a recorded failure ({}); rerun them with --retry-failed",
                            skipped.len(),
                            compress_ranges(&skipped)
                        );
                    }
                }
                let todo = sweep.to_run(retry_failed);
                let pool = wm_studies::io::network_pool(jobs)?;
                let bar = indicatif::ProgressBar::new(todo.len() as u64);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} points (ETA {eta})",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                let ran = AtomicUsize::new(0);
                let started = std::time::Instant::now();
                let outcomes: Vec<(usize, PointRun)> = pool.install(|| {
                    todo.par_iter()
                        .map(|&i| -> Result<(usize, PointRun)> {
                            let o = sweep
                                .run_point(i, retry_failed)
                                .with_context(|| format!("point {i}"))?;
                            if o == PointRun::Ran {
                                let k = ran.fetch_add(1, Ordering::Relaxed) + 1;
                                // Without a terminal (a background run
                                // writing to a log) the bar is hidden: one
                                // line per finished point instead.
                                if bar.is_hidden() {
                                    let left = todo.len().saturating_sub(k);
                                    let per_point = started.elapsed().as_secs_f64() / k as f64;
                                    eprintln!(
                                        "finished point {i} ({}): {k} of the {} points of this run; about {} left at its pace",
                                        sweep.manifest[i].name,
                                        todo.len(),
                                        human_duration(per_point * left as f64)
                                    );
                                }
                            }
                            bar.inc(1);
                            Ok((i, o))
                        })
                        .collect::<Result<_>>()
                })?;
                bar.finish_and_clear();
                let busy: Vec<usize> = outcomes
                    .iter()
                    .filter(|(_, o)| *o == PointRun::Busy)
                    .map(|(i, _)| *i)
                    .collect();
                if !busy.is_empty() {
                    println!(
                        "{} points were running elsewhere and were skipped ({})",
                        busy.len(),
                        compress_ranges(&busy)
                    );
                }
                println!(
                    "{} points run; {} of {} done",
                    ran.load(Ordering::Relaxed),
                    sweep.manifest.len() - sweep.pending().len(),
                    sweep.manifest.len()
                );
                let failed: Vec<(usize, String)> = outcomes
                    .into_iter()
                    .filter_map(|(i, o)| match o {
                        PointRun::Failed(e) => Some((i, e)),
                        _ => None,
                    })
                    .collect();
                if let Some((i, e)) = failed.first() {
                    bail!(
                        "{} points failed (first: point {i}: {}); `wm sweep status {}` lists them",
                        failed.len(),
                        first_line(e),
                        dir.display()
                    );
                }
            } else {
                bail!("say which points: --index I (one) or --local (all pending)");
            }
        }
        SweepAction::Slurm {
            dir,
            partition,
            time,
            mem,
            cpus,
            throttle,
            max_array_size: max,
            retry_failed,
            out,
            submit,
        } => {
            if cpus == 0 {
                return Err(crate::out_of_range("--cpus", 0, "≥ 1"));
            }
            if max == Some(0) {
                return Err(crate::out_of_range("--max-array-size", 0, "≥ 1"));
            }
            let sweep = Sweep::open(&dir)?;
            let wm = std::env::current_exe().context("cannot locate the wm executable")?;
            let max = max
                .or_else(max_array_size)
                .unwrap_or(DEFAULT_MAX_ARRAY_SIZE);
            let arrays = slurm_arrays(
                &sweep,
                &SlurmOptions {
                    partition,
                    time,
                    mem,
                    cpus,
                    wm,
                    max_array_size: max,
                    throttle,
                    retry_failed,
                },
            )?;
            std::fs::create_dir_all(dir.join("logs"))?;
            let out = out.or_else(|| submit.then(|| dir.join("array.sbatch")));
            let Some(out) = out else {
                if arrays.len() > 1 {
                    bail!(
                        "{} points need {} job arrays (MaxArraySize = {max}); pass --out FILE or --submit",
                        arrays.iter().map(|a| a.points.len()).sum::<usize>(),
                        arrays.len()
                    );
                }
                print!("{}", arrays[0].script);
                return Ok(());
            };
            let paths = script_paths(&out, arrays.len());
            for (a, p) in arrays.iter().zip(&paths) {
                wm_io::write_atomic(p, a.script.as_bytes())?;
            }
            println!(
                "{} points in {} job array{} (array indices below MaxArraySize = {max}):",
                arrays.iter().map(|a| a.points.len()).sum::<usize>(),
                arrays.len(),
                if arrays.len() == 1 { "" } else { "s" }
            );
            for (a, p) in arrays.iter().zip(&paths) {
                if submit {
                    let o = std::process::Command::new("sbatch")
                        .arg("--parsable")
                        .arg(p)
                        .output()
                        .context("cannot run sbatch")?;
                    if !o.status.success() {
                        bail!(
                            "sbatch {} failed: {}",
                            p.display(),
                            String::from_utf8_lossy(&o.stderr).trim()
                        );
                    }
                    let id = String::from_utf8_lossy(&o.stdout);
                    let id = id.trim().split(';').next().unwrap_or_default();
                    println!(
                        "  submitted job {id}: {} (points {})",
                        p.display(),
                        compress_ranges(&a.points)
                    );
                } else {
                    println!(
                        "  sbatch {}   # points {}",
                        p.display(),
                        compress_ranges(&a.points)
                    );
                }
            }
        }
        SweepAction::Status { dir } => {
            let sweep = Sweep::open(&dir)?;
            let st = sweep.status();
            let n = sweep.manifest.len();
            let ranges = |v: &[usize]| compress_ranges(v);
            let mut line = format!("{}: {} of {n} points done", sweep.info.study, st.done);
            if !st.pending.is_empty() {
                line.push_str(&format!("; pending: {}", ranges(&st.pending)));
            }
            if !st.running.is_empty() {
                line.push_str(&format!("; running (locked): {}", ranges(&st.running)));
            }
            if !st.failed.is_empty() {
                let idx: Vec<usize> = st.failed.iter().map(|(i, _)| *i).collect();
                line.push_str(&format!("; failed: {}", ranges(&idx)));
            }
            println!("{line}");
            if !st.pending.is_empty()
                && let Some(p) = sweep.pace(std::time::SystemTime::now())
            {
                println!(
                    "at the pace of the last {} points (one per {}), the {} pending take about {}",
                    p.points,
                    human_duration(p.seconds_per_point),
                    st.pending.len(),
                    human_duration(p.seconds_left(st.pending.len()))
                );
            }
            if !st.unreadable.is_empty() {
                println!(
                    "unreadable result files (truncated or corrupt; they run again): {}",
                    ranges(&st.unreadable)
                );
            }
            for (i, e) in &st.failed {
                println!(
                    "failed {i} ({}): {}",
                    sweep.manifest[*i].name,
                    first_line(e)
                );
            }
            if !st.failed.is_empty() {
                println!(
                    "rerun failures with `wm sweep run {} --local --retry-failed` (or `wm sweep slurm … --retry-failed`)",
                    dir.display()
                );
            }
        }
        SweepAction::Collect { dir, out } => {
            let sweep = Sweep::open(&dir)?;
            let out = out.unwrap_or_else(|| dir.join("points.csv"));
            let n = sweep.collect(&out)?;
            println!("{n} points in {}", out.display());
        }
    }
    Ok(())
}

/// The first line of a (possibly multi-line) error message.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}
