//! `wm analyze`: measures of `wm-analysis` on recordings in files.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use wm_analysis::sequentiality::{SiParams, sequentiality_index};
use wm_analysis::spikes::bin_spike_table;
use wm_analysis::timescale::{
    PooledTimescale, TimescaleModel, TimescaleParams, UncertaintyOptions,
    autocorrelation_timescales, seeded_rng, timescales_with_uncertainty,
};

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
        /// Bootstrap confidence intervals over trials at this level (0 < level
        /// < 1), per unit and for the population mean: of the corrected τ with
        /// --bias-correct, else of the default τ.
        #[arg(long)]
        ci: Option<f64>,
        /// Bootstrap resamples of trials for --ci (20 to 100000).
        #[arg(long, default_value_t = 200)]
        resamples: usize,
        /// Bias-correct τ by simulation from a fitted Ornstein–Uhlenbeck-rate
        /// Poisson model (after Zeraati et al. 2022), column tau_corrected_ms.
        #[arg(long)]
        bias_correct: bool,
        /// Fit two timescales beside one and choose by BIC (columns tau1_ms,
        /// tau2_ms, model).
        #[arg(long)]
        two_timescales: bool,
        /// Seed of the bootstrap and the surrogates.
        #[arg(long, default_value_t = 0)]
        seed: u64,
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
            ci,
            resamples,
            bias_correct,
            two_timescales,
            seed,
        } => {
            if !(bin_ms.is_finite() && bin_ms > 0.0) {
                return Err(crate::out_of_range("--bin-ms", bin_ms, "> 0"));
            }
            if let Some(level) = ci
                && !(level > 0.0 && level < 1.0)
            {
                return Err(crate::out_of_range("--ci", level, "0 < level < 1"));
            }
            if !(20..=100_000).contains(&resamples) {
                return Err(crate::out_of_range(
                    "--resamples",
                    resamples,
                    "20 ..= 100000",
                ));
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
            let extended = ci.is_some() || bias_correct || two_timescales;
            let (fits, more) = if extended {
                let opts = UncertaintyOptions {
                    ci_level: ci,
                    resamples,
                    bias_correct,
                    two_timescales,
                    ..UncertaintyOptions::default()
                };
                let r = timescales_with_uncertainty(
                    counts.view(),
                    &params,
                    &opts,
                    &mut seeded_rng(seed),
                )
                .with_context(|| format!("{}: timescales", spikes.display()))?;
                let fits = r.units.iter().map(|u| u.base.clone()).collect();
                (fits, Some(r))
            } else {
                let fits = autocorrelation_timescales(counts.view(), &params)
                    .with_context(|| format!("{}: timescales", spikes.display()))?;
                (fits, None)
            };
            let taus: Vec<f64> = fits.iter().filter_map(|f| f.tau_ms).collect();
            let mean = if taus.is_empty() {
                "no mean τ".to_string()
            } else {
                format!(
                    "mean τ = {:.1} ms",
                    taus.iter().sum::<f64>() / taus.len() as f64
                )
            };
            println!(
                "{n_units} units × {n_trials} trials × {} bins of {bin_ms} ms: {} fitted, {mean}",
                counts.dim().2,
                taus.len(),
            );
            if let Some(r) = &more {
                let p = &r.population;
                let what = if bias_correct { "corrected" } else { "default" };
                let interval = match (ci, p.ci_low_ms, p.ci_high_ms) {
                    (Some(level), Some(lo), Some(hi)) => {
                        format!(", {:.0} % CI {lo:.1}–{hi:.1} ms", level * 100.0)
                    }
                    _ => String::new(),
                };
                if p.n_units == 0 {
                    println!("{what} τ: no unit");
                } else {
                    println!(
                        "{what} τ: {} units, mean {:.1} ms{interval}",
                        p.n_units, p.mean_tau_ms
                    );
                }
                println!("{}", pooled_line(&p.pooled, ci));
                if two_timescales {
                    let n_two = r.units.iter().filter(|u| u.chose_two()).count();
                    println!("two timescales chosen (BIC) for {n_two} of {n_units} units");
                }
            }
            if let Some(out) = out {
                let mut w = csv::Writer::from_writer(Vec::new());
                let mut header = vec![
                    "unit",
                    "tau_ms",
                    "a",
                    "b",
                    "rate_hz",
                    "start_lag_ms",
                    "exclusion",
                ];
                if more.is_some() {
                    header.extend([
                        "tau_ci_low_ms",
                        "tau_ci_high_ms",
                        "tau_corrected_ms",
                        "tau1_ms",
                        "tau2_ms",
                        "model",
                    ]);
                }
                w.write_record(&header)?;
                let opt = |v: Option<f64>| v.map_or(String::new(), |t| t.to_string());
                for (u, f) in fits.iter().enumerate() {
                    let mut row = vec![
                        u.to_string(),
                        opt(f.tau_ms),
                        f.a.to_string(),
                        f.b.to_string(),
                        f.rate_hz.to_string(),
                        opt(f.start_lag_ms),
                        f.exclusion.map_or(String::new(), |e| format!("{e:?}")),
                    ];
                    if let Some(r) = &more {
                        let x = &r.units[u];
                        let two = x.two.as_ref();
                        let fit2 = two.and_then(|t| t.fit);
                        row.extend([
                            opt(x.tau_ci_low_ms),
                            opt(x.tau_ci_high_ms),
                            opt(x.tau_corrected_ms),
                            opt(fit2.map(|f| f.tau1_ms)),
                            opt(fit2.map(|f| f.tau2_ms)),
                            x.model_name().into(),
                        ]);
                    }
                    w.write_record(&row)?;
                }
                wm_io::write_atomic(&out, &w.into_inner()?)?;
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
                wm_io::write_atomic(&out, &w.into_inner()?)?;
            }
        }
    }
    Ok(())
}

/// The line of the τ fitted to the units' mean autocorrelation, with its
/// interval when one was asked for.
fn pooled_line(p: &PooledTimescale, ci: Option<f64>) -> String {
    let Some(tau) = p.tau_ms else {
        return match p.n_units {
            0 => "pooled τ: no unit with a finite autocorrelation".to_string(),
            n => format!("pooled τ: no decay in the mean autocorrelation of {n} units"),
        };
    };
    let interval = match (ci, p.ci_low_ms, p.ci_high_ms) {
        (Some(level), Some(lo), Some(hi)) => {
            format!(", {:.0} % CI {lo:.1}–{hi:.1} ms", level * 100.0)
        }
        _ => String::new(),
    };
    let two = match p
        .two
        .as_ref()
        .and_then(|t| t.fit.filter(|_| t.model == TimescaleModel::Two))
    {
        Some(f) => format!(
            "; two timescales chosen (BIC): {:.1} and {:.1} ms",
            f.tau1_ms, f.tau2_ms
        ),
        None if p.two.is_some() => "; one timescale chosen (BIC)".to_string(),
        None => String::new(),
    };
    format!(
        "pooled τ (mean autocorrelation of {} units): {tau:.1} ms{interval}{two}",
        p.n_units
    )
}
