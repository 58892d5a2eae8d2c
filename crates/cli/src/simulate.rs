//! `wm simulate`: run the self-organizing memory network.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use wm_plasticity::rate::{RateParams, simulate};
use wm_studies::io::read_toml;

/// What `wm simulate` runs.
#[derive(Debug, Subcommand)]
pub enum Simulate {
    /// The rate network with the three-factor rule (Federer & Zylberberg);
    /// writes ŝ(t)/ŝ(0) per read-out as CSV.
    Somn {
        /// Parameters (the fields of `wm_plasticity::rate::RateParams`; default: the paper's).
        #[arg(long)]
        params: Option<PathBuf>,
        /// Simulated time, ms.
        #[arg(long, default_value_t = 3000.0)]
        duration_ms: f64,
        /// Network seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output CSV (time_ms, ratio_0, …).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Run `wm simulate`.
pub fn run(s: Simulate) -> Result<()> {
    match s {
        Simulate::Somn {
            params,
            duration_ms,
            seed,
            out,
        } => {
            if !(duration_ms.is_finite() && duration_ms > 0.0) {
                return Err(crate::out_of_range("--duration-ms", duration_ms, "> 0"));
            }
            let p: RateParams = match &params {
                Some(path) => read_toml(path)?,
                None => RateParams::default(),
            };
            let trace = simulate(&p, seed, duration_ms).with_context(|| {
                format!(
                    "invalid parameters{}",
                    params
                        .as_ref()
                        .map_or(String::new(), |p| format!(" in {}", p.display()))
                )
            })?;
            let mut w = csv::Writer::from_writer(Vec::new());
            let k = trace.s_hat.len();
            let mut header = vec!["time_ms".to_string()];
            header.extend((0..k).map(|i| format!("ratio_{i}")));
            w.write_record(&header)?;
            let ratios: Vec<Vec<f64>> = (0..k).map(|i| trace.ratio(i)).collect();
            for (m, t) in trace.times_ms().iter().enumerate() {
                let mut rec = vec![t.to_string()];
                rec.extend(ratios.iter().map(|r| r[m].to_string()));
                w.write_record(&rec)?;
            }
            wm_io::write_atomic(&out, &w.into_inner()?)?;
            println!(
                "ŝ(end)/ŝ(0) = {:.4} after {duration_ms} ms; trace in {}",
                ratios[0].last().copied().unwrap_or(f64::NAN),
                out.display()
            );
        }
    }
    Ok(())
}
