//! # wm — the command line
//!
//! A thin layer over the library crates: argument parsing, config loading,
//! progress bars and file IO. Every computation is a `wm-studies`,
//! `wm-analysis` or `wm-plasticity` function, so `cargo xtask reproduce`, a
//! laptop session and a cluster job run the same code.
//!
//! Exit status: 0 on success; 1 with a one-line reason (naming the file and
//! field) on bad input or a failed run; 2 for a malformed command line.
#![deny(missing_docs)]

mod analyze;
mod convert;
mod input;
mod plot;
mod simulate;
mod sweep;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The one error for a value outside its range, on one line:
/// "name = value is outside the allowed range (allowed)".
pub(crate) fn out_of_range(
    name: &str,
    value: impl std::fmt::Display,
    allowed: &str,
) -> anyhow::Error {
    anyhow::anyhow!("{name} = {value} is outside the allowed range ({allowed})")
}

/// mimalloc keeps freed pages for reuse; glibc's malloc returns the step's
/// multi-MB buffers to the kernel and page-faults them in again each step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// wm: working-memory networks — train, record, simulate, analyze, plot, sweep.
#[derive(Debug, Parser)]
#[command(name = "wm", version, about, long_about = None)]
struct Cli {
    /// Worker threads (rayon); default: every core.
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train one Orhan & Ma network from a run TOML (resumes from DIR's checkpoint).
    #[command(
        after_help = "Example:\n  wm train --config run.toml --out runs/net1\n\n\
        run.toml holds the network (task, condition, lambda0, sigma0, rho, input_gain, seed)\n\
        and an optional [experiment] table with the training settings of\n\
        experiments/orhan-ma/*.toml (n_units, iterations, learning_rate, ...)."
    )]
    Train {
        /// Run TOML.
        #[arg(long)]
        config: PathBuf,
        /// Output folder (checkpoint, train_log.csv, result.toml).
        #[arg(long)]
        out: PathBuf,
        /// Override the network's seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Evaluate a trained network (no training): fractional loss, accuracy, SI.
    #[command(after_help = "Example:\n  wm eval --config run.toml --out runs/net1")]
    Eval {
        /// The run TOML it was trained with.
        #[arg(long)]
        config: PathBuf,
        /// Its folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Record a trained network's test-trial activity to DIR/activity.safetensors.
    #[command(
        after_help = "Example:\n  wm record --config run.toml --out runs/net1\n  wm analyze si runs/net1/activity.safetensors"
    )]
    Record {
        /// The run TOML it was trained with.
        #[arg(long)]
        config: PathBuf,
        /// Its folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Convert a trained rate network to a LIF network (scale search on task accuracy).
    #[command(
        after_help = "Examples:\n  wm convert --arrays net.safetensors --task dms --out lif/\n  wm convert --arrays net.safetensors --task dms --task-options dms.toml --f64 --out lif/\n\n\
        net.safetensors holds tau_ms [N], w_rec [N, N] (post × pre), w_in [N, I], w_out [O, N]."
    )]
    Convert(convert::ConvertArgs),
    /// Simulate the self-organizing memory network (Federer & Zylberberg).
    #[command(
        after_help = "Example:\n  wm simulate somn --duration-ms 3000 --seed 1 --out trace.csv\n  wm simulate somn --params params.toml --out trace.csv"
    )]
    Simulate {
        #[command(subcommand)]
        what: simulate::Simulate,
    },
    /// Analyze recordings: timescales of spike trains, SI of activity.
    #[command(
        after_help = "Examples:\n  wm analyze timescales spikes.csv --stop-ms 1000 --out tau.csv\n  wm analyze timescales spikes.csv --ci 0.95 --bias-correct --two-timescales --out tau.csv\n  wm analyze si activity.safetensors\n  wm analyze si activity.npy\n  wm analyze si counts.npz --tensor counts"
    )]
    Analyze {
        #[command(subcommand)]
        measure: analyze::Measure,
    },
    /// Draw a figure from a CSV table.
    #[command(after_help = "Example:\n  wm plot lines curves.csv --x time_ms --out curves.png")]
    Plot {
        #[command(subcommand)]
        kind: plot::PlotKind,
    },
    /// Parameter sweeps: plan, run (locally or as Slurm array tasks), status, collect.
    #[command(after_help = "From laptop to cluster:\n  \
        wm sweep plan experiments/orhan-ma/paper.toml --out sweeps/om\n  \
        wm sweep run sweeps/om --local --jobs 2          # this machine\n  \
        wm sweep slurm sweeps/om --partition cpu --time 08:00:00 --submit\n  \
        wm sweep status sweeps/om                        # done, pending, running, failed\n  \
        wm sweep collect sweeps/om                       # sweeps/om/points.csv")]
    Sweep {
        #[command(subcommand)]
        action: sweep::SweepAction,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if n == 0 {
            eprintln!("error: {}", out_of_range("--threads", 0, "≥ 1"));
            return ExitCode::FAILURE;
        }
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    // A panic is a bug, but the user still gets one line and exit 1 (never
    // exit 101 with a backtrace): the hook prints the line, the unwind is
    // caught here.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info
            .location()
            .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
        eprintln!(
            "error: internal error (a bug in wm; please report it): {}{at}",
            one_line(&what)
        );
    }));
    match std::panic::catch_unwind(|| run(cli.command)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::FAILURE,
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Train { config, out, seed } => train::train(&config, &out, seed),
        Command::Eval { config, out } => train::eval(&config, &out),
        Command::Record { config, out } => train::record(&config, &out),
        Command::Convert(args) => convert::run(args),
        Command::Simulate { what } => simulate::run(what),
        Command::Analyze { measure } => analyze::run(measure),
        Command::Plot { kind } => plot::run(kind),
        Command::Sweep { action } => sweep::run(action),
    }
}

/// An error message on one line: parsers (TOML, CSV) draw multi-line source
/// excerpts; keep their text lines and the quoted source line, drop the
/// gutter and caret lines.
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter_map(|l| {
            if l.is_empty() {
                None
            } else if l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" | ") {
                l.split_once(" | ")
                    .map(|(_, src)| format!("`{}`", src.trim()))
            } else if l.contains('|') {
                None
            } else {
                Some(l.to_string())
            }
        })
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    /// Every `wm …` line of every `--help` text (after-help examples), cut
    /// before shell operators and comments.
    fn help_examples(cmd: &clap::Command, out: &mut Vec<String>) {
        for text in [cmd.get_after_help(), cmd.get_after_long_help()]
            .into_iter()
            .flatten()
        {
            for line in text.to_string().lines() {
                let line = line.trim();
                if let Some(rest) = line.strip_prefix("wm ") {
                    let end = [" #", " >", " &&", " |"]
                        .iter()
                        .filter_map(|op| rest.find(op))
                        .min()
                        .unwrap_or(rest.len());
                    out.push(format!("wm {}", &rest[..end]));
                }
            }
        }
        for sub in cmd.get_subcommands() {
            help_examples(sub, out);
        }
    }

    #[test]
    fn every_help_example_parses() {
        let mut examples = Vec::new();
        help_examples(&super::Cli::command(), &mut examples);
        assert!(
            examples.len() >= 10,
            "only {} examples found",
            examples.len()
        );
        for ex in &examples {
            if let Err(e) = super::Cli::try_parse_from(ex.split_whitespace()) {
                panic!("help example `{ex}` does not parse: {e}");
            }
        }
    }

    #[test]
    fn toml_excerpts_collapse_to_one_line() {
        let msg = "invalid config a.toml: TOML parse error at line 4, column 1\n  |\n4 | x = 1\n  | ^\nunknown field `x`\n";
        assert_eq!(
            super::one_line(msg),
            "invalid config a.toml: TOML parse error at line 4, column 1: `x = 1`: unknown field `x`"
        );
    }
}
