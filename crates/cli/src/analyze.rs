//! `wm analyze`: measures of `wm-analysis` on recordings in files.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use wm_analysis::sequentiality::{SiParams, sequentiality_index};
use wm_analysis::spikes::bin_spike_table;
use wm_analysis::timescale::{TimescaleParams, autocorrelation_timescales};
use wm_studies::io::write_atomic;

use crate::input::{read_activity, read_spike_csv};

/// The measures `wm analyze` computes.
#[derive(Debug, Subcommand)]
pub enum Measure {
    /// Spike-count autocorrelation timescales (Kim & Sejnowski) of every unit
    /// of a spike CSV (`unit,trial,time_ms`).
    Timescales {
        /// Spike CSV.
        spikes: PathBuf,
        /// Window start, ms.
        #[arg(long, default_value_t = 0.0)]
        start_ms: f64,
        /// Window end, ms (default: the last spike, rounded up to a whole bin).
        #[arg(long)]
        stop_ms: Option<f64>,
        /// Bin width, ms.
        #[arg(long, default_value_t = 50.0)]
        bin_ms: f64,
        /// Largest lag, ms (650: the paper; 700: the original code).
        #[arg(long, default_value_t = 650.0)]
        max_lag_ms: f64,
        /// Exclude units firing below this rate, Hz.
        #[arg(long)]
        min_rate_hz: Option<f64>,
        /// Per-unit table (CSV); default: print only the summary.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Sequentiality index (Orhan & Ma) of activity `[trial, time, unit]`:
    /// safetensors (`rates`, as `wm record` writes), `.npy` or `.npz`; float,
    /// integer or bool arrays.
    Si {
        /// Activity file.
        activity: PathBuf,
        /// Array name in a safetensors or `.npz` file (default: `rates`, or
        /// the only array of an `.npz`).
        #[arg(long)]
        tensor: Option<String>,
        /// Per-trial SI (CSV).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Run `wm analyze`.
pub fn run(m: Measure) -> Result<()> {
    match m {
        Measure::Timescales {
            spikes,
            start_ms,
            stop_ms,
            bin_ms,
            max_lag_ms,
            min_rate_hz,
            out,
        } => {
            if !(bin_ms.is_finite() && bin_ms > 0.0) {
                bail!("--bin-ms = {bin_ms} is outside the allowed range (> 0)");
            }
            let table = read_spike_csv(&spikes)?;
            let last = table.time_ms.iter().copied().fold(start_ms, f64::max);
            let stop = stop_ms.unwrap_or_else(|| {
                start_ms + ((last - start_ms) / bin_ms).floor().max(0.0) * bin_ms + bin_ms
            });
            let counts = bin_spike_table(
                &table.unit,
                &table.trial,
                &table.time_ms,
                start_ms,
                stop,
                bin_ms,
                None,
                None,
            )
            .with_context(|| format!("{}: binning the spikes", spikes.display()))?;
            let (n_units, n_trials, _) = counts.dim();
            let params = TimescaleParams {
                bin_ms,
                max_lag_ms,
                min_rate_hz,
                ..TimescaleParams::default()
            };
            let fits = autocorrelation_timescales(counts.view(), &params)
                .with_context(|| format!("{}: timescales", spikes.display()))?;
            let taus: Vec<f64> = fits.iter().filter_map(|f| f.tau_ms).collect();
            println!(
                "{n_units} units × {n_trials} trials × {} bins of {bin_ms} ms: {} fitted, mean τ = {:.1} ms",
                counts.dim().2,
                taus.len(),
                taus.iter().sum::<f64>() / taus.len().max(1) as f64
            );
            if let Some(out) = out {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record([
                    "unit",
                    "tau_ms",
                    "a",
                    "b",
                    "rate_hz",
                    "start_lag_ms",
                    "exclusion",
                ])?;
                for (u, f) in fits.iter().enumerate() {
                    w.write_record([
                        u.to_string(),
                        f.tau_ms.map_or(String::new(), |t| t.to_string()),
                        f.a.to_string(),
                        f.b.to_string(),
                        f.rate_hz.to_string(),
                        f.start_lag_ms.map_or(String::new(), |t| t.to_string()),
                        f.exclusion.map_or(String::new(), |e| format!("{e:?}")),
                    ])?;
                }
                write_atomic(&out, &w.into_inner()?)?;
            }
        }
        Measure::Si {
            activity,
            tensor,
            out,
        } => {
            let a = read_activity(&activity, tensor.as_deref())?;
            let s = sequentiality_index(a.view(), &SiParams::default())
                .with_context(|| format!("{}: sequentiality index", activity.display()))?;
            println!(
                "SI = {:.4} over {} trials ({} NaN, {} infinite)",
                s.si,
                s.per_trial.len(),
                s.n_nan,
                s.n_inf
            );
            if let Some(out) = out {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(["trial", "si"])?;
                for (k, v) in s.per_trial.iter().enumerate() {
                    w.write_record([k.to_string(), v.to_string()])?;
                }
                write_atomic(&out, &w.into_inner()?)?;
            }
        }
    }
    Ok(())
}
