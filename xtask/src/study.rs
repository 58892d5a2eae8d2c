//! The published studies and the scales they run at.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use wm_studies::study::{Entry, RunContext};

/// Which studies a command acts on: one registered study (by its name) or
/// `all` of them.
#[derive(Clone, Copy)]
pub enum Selection {
    /// Every registered study, in registry order.
    All,
    /// One study.
    One(&'static dyn Entry),
}

impl Selection {
    /// Parse a study name or `all` (the clap value parser).
    pub fn parse(name: &str) -> Result<Self, String> {
        if name == "all" {
            return Ok(Selection::All);
        }
        wm_studies::study::find(name)
            .map(Selection::One)
            .map_err(|_| {
                format!(
                    "no study {name:?}; choose one of {} or all",
                    wm_studies::study::names().join(", ")
                )
            })
    }

    /// The selected studies.
    pub fn studies(self) -> Vec<&'static dyn Entry> {
        match self {
            Selection::All => wm_studies::STUDIES.to_vec(),
            Selection::One(s) => vec![s],
        }
    }

    /// The study's name, or `all`.
    pub fn name(self) -> &'static str {
        match self {
            Selection::All => "all",
            Selection::One(s) => s.name(),
        }
    }
}

/// How big a reproduction run is. Each scale means the same for every study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// What CI runs: a few minutes per study on 2 cores; checks the pipeline and the signs of effects.
    Smoke,
    /// The default: minutes; enough networks for the effects to be visible.
    Quick,
    /// A pre-registered design that can show each published claim within
    /// ~30 core-hours on one machine; run it as a resumable sweep
    /// (`experiments/<study>/medium.toml`, results in `medium-results/`).
    Medium,
    /// The published numbers of networks and trials; meant for a cluster (see `wm sweep`).
    Paper,
}

impl Scale {
    /// The scale's name, as in `experiments/<study>/<name>.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Smoke => "smoke",
            Scale::Quick => "quick",
            Scale::Medium => "medium",
            Scale::Paper => "paper",
        }
    }
}

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Default results folder of a study.
pub fn default_results_dir(study: &dyn Entry) -> PathBuf {
    workspace_root().join("results").join(study.name())
}

/// `experiments/<study>/<scale>.toml`.
fn default_config(study: &dyn Entry, scale: Scale) -> PathBuf {
    workspace_root()
        .join("experiments")
        .join(study.name())
        .join(format!("{}.toml", scale.name()))
}

/// Run one study (or all) at the given scale, reading
/// `experiments/<study>/<scale>.toml` unless `config` names another file.
pub fn reproduce(
    selection: Selection,
    scale: Scale,
    out: Option<PathBuf>,
    config: Option<PathBuf>,
) -> Result<()> {
    let study = match selection {
        Selection::All => {
            if out.is_some() || config.is_some() {
                bail!(
                    "--out and --config name one study's folder and file; with `all`, each study uses its own"
                );
            }
            for s in selection.studies() {
                reproduce(Selection::One(s), scale, None, None)?;
            }
            return Ok(());
        }
        Selection::One(s) => s,
    };
    let out = out.unwrap_or_else(|| default_results_dir(study));
    // A config file of its own labels the run by its name (REPORT.md's
    // title, summary.toml's `scale`), e.g. "paper-networks", not "quick".
    let label = config
        .as_ref()
        .and_then(|c| c.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| scale.name().to_string());
    let config = config.unwrap_or_else(|| default_config(study, scale));
    let loaded = study.load(&config)?;
    let work = loaded.work();
    let bar = progress_bar(work.total, work.unit);
    let progress = |k: usize| bar.inc(k as u64);
    let ctx = RunContext {
        out: &out,
        config_path: &config,
        scale: &label,
        progress: &progress,
    };
    let result = loaded.run(&ctx);
    bar.finish_and_clear();
    result?;
    append_verdict(&out)?;
    println!(
        "results in {}; compare with `cargo xtask regress {}`",
        out.display(),
        study.name()
    );
    Ok(())
}

/// Append the verdict table (claim | expected | wm | verdict) to the run's
/// REPORT.md when its scale has an expected file; say so when it has none.
fn append_verdict(out: &Path) -> Result<()> {
    let experiments = workspace_root().join("experiments");
    match wm_studies::regress::check_folder(out, &experiments) {
        Ok(check) => {
            let report = out.join("REPORT.md");
            let mut text = std::fs::read_to_string(&report).unwrap_or_default();
            text.push('\n');
            text.push_str(&wm_studies::regress::verdict_markdown(&check));
            Ok(wm_studies::io::write_atomic(&report, text.as_bytes())?)
        }
        Err(e) => {
            println!("no verdict table in REPORT.md: {e:#}");
            Ok(())
        }
    }
}

/// A progress bar on stderr (drawn only on a terminal) with rate and ETA.
pub fn progress_bar(len: usize, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    let template = format!(
        "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}})"
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// `--slurm`: plan the study's networks as a sweep in the output folder and
/// write an sbatch job-array script there that runs them with the `wm` binary.
pub fn plan_slurm(
    selection: Selection,
    scale: Scale,
    out: Option<PathBuf>,
    config: Option<PathBuf>,
) -> Result<()> {
    let study = match selection {
        Selection::One(s) if s.sweepable() => s,
        _ => bail!(
            "--slurm plans the networks of {:?}; {} has none to spread over a cluster",
            wm_studies::sweep::sweep_studies(),
            selection.name()
        ),
    };
    let out = out.unwrap_or_else(|| default_results_dir(study));
    let config = config.unwrap_or_else(|| default_config(study, scale));
    let wm = workspace_root().join("target").join("release").join("wm");
    if !wm.is_file() {
        bail!(
            "{} is missing: build it first with `cargo build --release -p wm-cli`",
            wm.display()
        );
    }
    let rows = wm_studies::sweep::plan(&config, study.name(), scale.name(), &out)?;
    let sweep = wm_studies::sweep::Sweep::open(&out)?;
    let arrays = wm_studies::sweep::slurm_arrays(
        &sweep,
        &wm_studies::sweep::SlurmOptions {
            partition: None,
            time: "24:00:00".into(),
            mem: "4G".into(),
            cpus: 1,
            wm,
            max_array_size: wm_studies::sweep::max_array_size()
                .unwrap_or(wm_studies::sweep::DEFAULT_MAX_ARRAY_SIZE),
            throttle: None,
            retry_failed: false,
        },
    )?;
    std::fs::create_dir_all(out.join("logs"))?;
    let paths = wm_studies::sweep::script_paths(&out.join("array.sbatch"), arrays.len());
    let mut submit = Vec::new();
    for (a, path) in arrays.iter().zip(&paths) {
        wm_studies::io::write_atomic(path, a.script.as_bytes())?;
        submit.push(format!("sbatch {}", path.display()));
    }
    let submit = submit.join(" && ");
    println!(
        "{} networks planned in {}.\nSubmit:   {submit}\nProgress: wm sweep status {}\nThen:     cargo xtask reproduce {} --scale {} --out {}   (aggregates; nothing is retrained)",
        rows.len(),
        out.display(),
        out.display(),
        study.name(),
        scale.name(),
        out.display()
    );
    Ok(())
}
