//! `wm convert`: a trained rate network → a LIF network (Kim, Li & Sejnowski
//! 2019): grid search of the scaling factor s on LIF task accuracy, then
//! spike trains and a raster of a few trials at the best s.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use rand::SeedableRng;
use wm_spiking::{LifParams, RateArrays, ScaleSearch, SimOptions, search_scale};
use wm_studies::io::{read_toml, write_toml};
use wm_tasks::kim::{DmsOptions, GoNoGoOptions, KimDms, KimGoNoGo};
use wm_tasks::{Task, TaskRng};

/// The task a converted network is scored on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertTask {
    /// Delayed match-to-sample (the paper's timeline).
    Dms,
    /// Go-NoGo (±1 targets).
    GoNogo,
}

/// Arguments of `wm convert`.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// Rate network arrays (safetensors with `tau_ms` [N], `w_rec` [N, N]
    /// post × pre, `w_in` [N, I], `w_out` [O, N]).
    #[arg(long)]
    arrays: PathBuf,
    /// Task to score the LIF network on.
    #[arg(long, value_enum)]
    task: ConvertTask,
    /// Candidate scaling factors (default 20, 25, …, 75).
    #[arg(long, value_delimiter = ',')]
    scales: Option<Vec<f64>>,
    /// LIF trials per candidate.
    #[arg(long, default_value_t = 100)]
    trials: usize,
    /// Trials recorded at the best scale (spikes.csv, raster.png).
    #[arg(long, default_value_t = 4)]
    record_trials: usize,
    /// Seed of trial types and noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The task's timeline and scoring as a TOML file of its options (the
    /// fields of `DmsOptions` or `GoNoGoOptions`; missing fields keep their
    /// defaults), so a network is converted on the timeline it was trained
    /// on. Default: DMS as the paper states it (750-ms delay), Go-NoGo as
    /// coded.
    #[arg(long)]
    task_options: Option<PathBuf>,
    /// Simulate the LIF networks in float64 instead of float32 (the
    /// original MATLAB code's precision; slower, and changes the accuracy
    /// of marginal scaling factors).
    #[arg(long)]
    f64: bool,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

/// The task to score on, with the options of `path` when given.
fn task_of(task: ConvertTask, path: Option<&Path>) -> Result<Box<dyn Task>> {
    Ok(match (task, path) {
        (ConvertTask::Dms, None) => Box::new(KimDms::new(DmsOptions::default())?),
        (ConvertTask::Dms, Some(p)) => {
            let opts: DmsOptions = read_toml(p)?;
            Box::new(KimDms::new(opts).with_context(|| p.display().to_string())?)
        }
        (ConvertTask::GoNogo, None) => {
            Box::new(KimGoNoGo::new(GoNoGoOptions::default())?.lif_scoring())
        }
        (ConvertTask::GoNogo, Some(p)) => {
            let opts: GoNoGoOptions = read_toml(p)?;
            Box::new(
                KimGoNoGo::new(opts)
                    .with_context(|| p.display().to_string())?
                    .lif_scoring(),
            )
        }
    })
}

/// Run `wm convert`.
pub fn run(a: ConvertArgs) -> Result<()> {
    if !(1..=100_000).contains(&a.trials) {
        return Err(crate::out_of_range("--trials", a.trials, "1 ..= 100000"));
    }
    if a.record_trials > 10_000 {
        return Err(crate::out_of_range(
            "--record-trials",
            a.record_trials,
            "0 ..= 10000",
        ));
    }
    if a.scales.as_ref().is_some_and(|s| s.len() > 1000) {
        bail!("--scales: at most 1000 candidates");
    }
    let arrays = RateArrays::from_safetensors(&a.arrays)?;
    let task = task_of(a.task, a.task_options.as_deref())?;
    if task.n_inputs() != arrays.n_inputs || task.n_outputs() != arrays.n_outputs {
        bail!(
            "{}: the network has {} inputs and {} outputs; the {:?} task needs {} and {}",
            a.arrays.display(),
            arrays.n_inputs,
            arrays.n_outputs,
            a.task,
            task.n_inputs(),
            task.n_outputs()
        );
    }
    let mut search = ScaleSearch {
        trials: a.trials,
        ..ScaleSearch::default()
    };
    if let Some(s) = a.scales {
        if s.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(crate::out_of_range(
                "--scales",
                format!("{s:?}"),
                "each finite, > 0",
            ));
        }
        search.scales = s;
    }
    let params = LifParams::default();
    let result = if a.f64 {
        search_scale::<f64>(&arrays, &params, task.as_ref(), &search, a.seed)?
    } else {
        search_scale::<f32>(&arrays, &params, task.as_ref(), &search, a.seed)?
    };
    for (s, acc) in result.scales.iter().zip(&result.accuracies) {
        println!("s = {s:>5}: LIF accuracy {acc:.3}");
    }
    println!(
        "best s = {} (accuracy {:.3})",
        result.best_scale, result.best_accuracy
    );
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    write_toml(&a.out.join("conversion.toml"), &result)?;
    if a.record_trials > 0 {
        let mut rng = TaskRng::seed_from_u64(a.seed);
        let batch = task.batch(&mut rng, a.record_trials);
        let options = SimOptions {
            seed: a.seed,
            steps_per_input: (task.timeline().dt_ms / params.dt_ms).round() as usize,
            record_spikes: true,
            readout: true,
        };
        let spikes = if a.f64 {
            let net = arrays.to_lif::<f64>(result.best_scale, &params)?;
            net.simulate(&batch.input, batch.n_steps, batch.batch_size, &options)?
                .spikes
        } else {
            let net = arrays.to_lif::<f32>(result.best_scale, &params)?;
            net.simulate(&batch.input, batch.n_steps, batch.batch_size, &options)?
                .spikes
        };
        spikes.write_csv(&a.out.join("spikes.csv"))?;
        let trial = wm_plot::Raster {
            spikes: spikes.trial_spikes_ms(0),
            duration_ms: spikes.duration_ms(),
            n_units: spikes.n_units,
        };
        wm_plot::raster(
            &a.out.join("raster.png"),
            &format!(
                "LIF network at s = {} (trial 0, {} spikes)",
                result.best_scale,
                trial.spikes.len()
            ),
            &trial,
        )?;
    }
    println!(
        "conversion.toml, spikes.csv and raster.png in {}",
        a.out.display()
    );
    Ok(())
}
