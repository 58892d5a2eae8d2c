//! `wm sweep`: plan, run, slurm, status, collect (see `wm_studies::sweep`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use rayon::prelude::*;
use wm_studies::sweep::{SlurmOptions, Sweep, plan, slurm_script, study_of_path};

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
    },
    /// Print an sbatch job-array script for the pending points.
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
        /// Write the script here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// How many points are done.
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
                    wm_studies::sweep::SWEEP_STUDIES
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
        } => {
            let sweep = Sweep::open(&dir)?;
            if let Some(i) = index {
                let ran = sweep.run_point(i)?;
                println!(
                    "point {i}: {}",
                    if ran { "done" } else { "already done, skipped" }
                );
            } else if local {
                if jobs == 0 {
                    bail!("--jobs = 0 is outside the allowed range (≥ 1)");
                }
                let pending = sweep.pending();
                let pool = wm_studies::io::network_pool(jobs)?;
                let bar = indicatif::ProgressBar::new(pending.len() as u64);
                let done = AtomicUsize::new(0);
                pool.install(|| {
                    pending.par_iter().try_for_each(|&i| -> Result<()> {
                        sweep.run_point(i).with_context(|| format!("point {i}"))?;
                        done.fetch_add(1, Ordering::Relaxed);
                        bar.inc(1);
                        Ok(())
                    })
                })?;
                bar.finish_and_clear();
                println!(
                    "{} points run; {} of {} done",
                    done.load(Ordering::Relaxed),
                    sweep.manifest.len() - sweep.pending().len(),
                    sweep.manifest.len()
                );
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
            out,
        } => {
            if cpus == 0 {
                bail!("--cpus = 0 is outside the allowed range (≥ 1)");
            }
            let sweep = Sweep::open(&dir)?;
            let wm = std::env::current_exe().context("cannot locate the wm executable")?;
            let script = slurm_script(
                &sweep,
                &SlurmOptions {
                    partition,
                    time,
                    mem,
                    cpus,
                    wm,
                },
            )?;
            std::fs::create_dir_all(dir.join("logs"))?;
            match out {
                Some(p) => {
                    wm_studies::io::write_atomic(&p, script.as_bytes())?;
                    println!("submit with: sbatch {}", p.display());
                }
                None => print!("{script}"),
            }
        }
        SweepAction::Status { dir } => {
            let sweep = Sweep::open(&dir)?;
            let pending = sweep.pending();
            println!(
                "{}: {} of {} points done{}",
                sweep.info.study,
                sweep.manifest.len() - pending.len(),
                sweep.manifest.len(),
                if pending.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; pending: {}",
                        wm_studies::sweep::compress_ranges(&pending)
                    )
                }
            );
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
