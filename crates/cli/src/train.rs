//! `wm train`, `wm eval`, `wm record`: one Orhan & Ma network from a run TOML.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use wm_studies::io::{read_toml, write_toml};
use wm_studies::orhan_ma::aggregate::NetworkResult;
use wm_studies::orhan_ma::config::{Condition, OrhanMaConfig, TASKS};
use wm_studies::orhan_ma::grid::NetworkSpec;
use wm_studies::orhan_ma::train::train_network;

/// A run TOML: one network and, optionally, the experiment settings it is
/// trained with (the fields of `experiments/orhan-ma/*.toml`; grid lists
/// there are ignored).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Task name (DE-1, DE-2, CD, GDE, 2AFC, COMP).
    pub task: String,
    /// Condition (basic, hebbian, tethered, dynamic-input, variable-delay, sequential).
    #[serde(default = "basic")]
    pub condition: Condition,
    /// Initial self-coupling λ0 (≥ 0).
    pub lambda0: f64,
    /// Initial off-diagonal coupling σ0 (≥ 0).
    pub sigma0: f64,
    /// Weight decay ρ (≥ 0).
    #[serde(default)]
    pub rho: f64,
    /// Input gain g (> 0).
    #[serde(default = "one")]
    pub input_gain: f64,
    /// The network's seed.
    #[serde(default)]
    pub seed: u64,
    /// Training settings (defaults: the quick scale's).
    #[serde(default)]
    pub experiment: OrhanMaConfig,
}

fn basic() -> Condition {
    Condition::Basic
}

fn one() -> f64 {
    1.0
}

impl RunConfig {
    /// Read and check `path`; errors name the file and the field.
    pub fn load(path: &Path, seed: Option<u64>) -> Result<Self> {
        let mut c: RunConfig = read_toml(path)?;
        if let Some(s) = seed {
            c.seed = s;
        }
        c.check_ranges()
            .with_context(|| path.display().to_string())?;
        c.experiment
            .validate()
            .with_context(|| format!("{}: [experiment]", path.display()))?;
        Ok(c)
    }

    /// The run's own fields (task name and grid coordinates) in range.
    fn check_ranges(&self) -> Result<()> {
        if !TASKS.contains(&self.task.as_str()) {
            return Err(crate::out_of_range(
                "`task`",
                format!("{:?}", self.task),
                &format!("one of {TASKS:?}"),
            ));
        }
        for (f, v) in [
            ("`lambda0`", self.lambda0),
            ("`sigma0`", self.sigma0),
            ("`rho`", self.rho),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(crate::out_of_range(f, v, "finite, ≥ 0"));
            }
        }
        if !(self.input_gain.is_finite() && self.input_gain > 0.0) {
            return Err(crate::out_of_range(
                "`input_gain`",
                self.input_gain,
                "finite, > 0",
            ));
        }
        Ok(())
    }

    /// The grid point this run trains.
    pub fn spec(&self) -> NetworkSpec {
        NetworkSpec {
            index: 0,
            task: self.task.clone(),
            condition: self.condition,
            lambda0: self.lambda0,
            sigma0: self.sigma0,
            rho: self.rho,
            input_gain: self.input_gain,
            replicate: 0,
            seed: self.seed,
        }
    }
}

fn run_network(
    config: &Path,
    out: &Path,
    seed: Option<u64>,
    save_activity: bool,
) -> Result<NetworkResult> {
    let mut run = RunConfig::load(config, seed)?;
    run.experiment.save_activity = save_activity;
    let total = run.experiment.iterations as u64;
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} iterations ({per_sec}, ETA {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let net = train_network(&run.spec(), &run.experiment, out, &|k| bar.inc(k as u64))?;
    bar.finish_and_clear();
    write_toml(&out.join("result.toml"), &net.result)?;
    Ok(net.result)
}

fn print(r: &NetworkResult) {
    println!(
        "{} λ0={} σ0={} ρ={}: fractional loss {:.4}, accuracy {:.3}, success {}, SI {:.3}",
        r.task, r.lambda0, r.sigma0, r.rho, r.fractional_loss, r.accuracy, r.success, r.si
    );
}

/// `wm train`.
pub fn train(config: &Path, out: &Path, seed: Option<u64>) -> Result<()> {
    let r = run_network(config, out, seed, false)?;
    print(&r);
    println!("checkpoint and result.toml in {}", out.display());
    Ok(())
}

/// `wm eval`: requires a finished training in `out`.
pub fn eval(config: &Path, out: &Path) -> Result<()> {
    anyhow::ensure!(
        out.join("weights.safetensors").is_file(),
        "{} holds no trained network (run `wm train --config {} --out {}` first)",
        out.display(),
        config.display(),
        out.display()
    );
    print(&run_network(config, out, None, false)?);
    Ok(())
}

/// `wm record`: test-trial activity to `out/activity.safetensors`.
pub fn record(config: &Path, out: &Path) -> Result<()> {
    anyhow::ensure!(
        out.join("weights.safetensors").is_file(),
        "{} holds no trained network (run `wm train` first)",
        out.display()
    );
    run_network(config, out, None, true)?;
    println!(
        "activity [trial, time, unit] in {}",
        out.join("activity.safetensors").display()
    );
    Ok(())
}
