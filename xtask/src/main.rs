//! `cargo xtask`: runs every published experiment of wm end to end.
//!
//! * `cargo xtask reproduce <study> [--scale smoke|quick|paper] [--out DIR]`
//!   trains, analyses and plots one study (or `all`), writing
//!   `results/<study>/` with `summary.toml`, tables, figures and `REPORT.md`.
//! * `cargo xtask regress <study> [--results DIR]` compares a run's
//!   `summary.toml` with `experiments/<study>/expected-<scale>.toml`.
#![deny(missing_docs)]

mod fuzz;
mod regress;
mod study;
mod timescales;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use study::{Scale, Selection};

/// mimalloc keeps freed pages for reuse; glibc's malloc returns the step's
/// multi-MB buffers to the kernel and page-faults them in again each step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Reproduce the published working-memory studies with wm"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train, analyse and plot one study (or all of them).
    Reproduce {
        /// Which study: orhan-ma, xie, kim-sejnowski, federer-zylberberg or all.
        #[arg(value_parser = Selection::parse)]
        study: Selection,
        /// How big a run: smoke (CI, minutes), quick (default), paper (cluster).
        #[arg(long, value_enum, default_value_t = Scale::Quick)]
        scale: Scale,
        /// Output folder (default `results/<study>`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Use this experiment TOML instead of `experiments/<study>/<scale>.toml`
        /// (e.g. `experiments/orhan-ma/clipped-relu.toml` for a supplementary variant).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Plan the networks as a Slurm job array in the output folder and
        /// print the sbatch command instead of training here (orhan-ma, xie);
        /// rerunning without --slurm afterwards aggregates without retraining.
        #[arg(long)]
        slurm: bool,
    },
    /// Compare a run's summary.toml with the study's expected statistics.
    Regress {
        /// Which study, or `all`.
        #[arg(value_parser = Selection::parse)]
        study: Selection,
        /// Results folder holding summary.toml and run.toml (default
        /// `results/<study>`).
        #[arg(long)]
        results: Option<PathBuf>,
        /// Check every stored results folder, `experiments/<study>/*-results`
        /// (of every study with `all`), each against its own scale's file.
        #[arg(long)]
        stored: bool,
    },
    /// Validate the timescale estimators (default, bias-corrected, intervals,
    /// two timescales) on simulated counts; write REPORT.md and figures.
    TimescalesValidation {
        /// Output folder (default `results/timescales`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Simulated units per design.
        #[arg(long, default_value_t = 200)]
        units: usize,
        /// Seed of the simulations, resamples and surrogates.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Fuzz every parser and config loader with hostile input for a while
    /// (the generators CI runs with fixed seeds, here with fresh ones).
    Fuzz {
        /// How long to fuzz, in minutes.
        #[arg(long, default_value_t = 5.0)]
        minutes: f64,
        /// Seed of the first round (default: from the clock); printed so a
        /// failure can be replayed.
        #[arg(long)]
        seed: Option<u64>,
    },
}

#[allow(unsafe_code)]
fn main() -> ExitCode {
    // candle's CPU matmul sizes its thread count from RAYON_NUM_THREADS on
    // every call. Networks train one per core on an explicit pool, so candle
    // itself must stay single-threaded (see `wm_rate_rnn::linalg`).
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: the first statement of main, before any thread exists.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // Per-iteration training lines are for RUST_LOG=info; by default a
                // progress bar and one line per finished network.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("info,wm_studies::orhan_ma::train=warn")
                }),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Reproduce {
            study,
            scale,
            out,
            config,
            slurm,
        } => {
            if slurm {
                study::plan_slurm(study, scale, out, config)
            } else {
                study::reproduce(study, scale, out, config)
            }
        }
        Command::Regress {
            study,
            results,
            stored,
        } => regress::run(study, results, stored),
        Command::Fuzz { minutes, seed } => fuzz::run(minutes, seed),
        Command::TimescalesValidation { out, units, seed } => timescales::run(out, units, seed),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
