//! The published studies and the scales they run at.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::ValueEnum;
use serde::{Deserialize, Serialize};
use wm_studies::io::read_toml;
use wm_studies::orhan_ma::config::OrhanMaConfig;

/// A published study that wm reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Study {
    /// Orhan & Ma 2019, Nat. Neurosci.: sequential vs persistent memory in vanilla ReLU RNNs.
    OrhanMa,
    /// Xie, Liu, Constantinidis & Zhou 2022: ODR, distractor and anti-saccade RNNs.
    Xie,
    /// Kim & Sejnowski 2019: Dale's-law rate RNNs converted to LIF; intrinsic timescales.
    KimSejnowski,
    /// Federer & Zylberberg: the self-organizing memory network.
    FedererZylberberg,
    /// Every study in turn.
    All,
}

impl Study {
    /// The kebab-case name used for folders (`results/<name>`, `experiments/<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Study::OrhanMa => "orhan-ma",
            Study::Xie => "xie",
            Study::KimSejnowski => "kim-sejnowski",
            Study::FedererZylberberg => "federer-zylberberg",
            Study::All => "all",
        }
    }

    /// The individual studies, in the order `all` runs them.
    pub const EACH: [Study; 4] = [
        Study::OrhanMa,
        Study::Xie,
        Study::KimSejnowski,
        Study::FedererZylberberg,
    ];
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
pub fn default_results_dir(study: Study) -> PathBuf {
    workspace_root().join("results").join(study.name())
}

/// Run one study (or all) at the given scale, reading
/// `experiments/<study>/<scale>.toml` unless `config` names another file.
pub fn reproduce(
    study: Study,
    scale: Scale,
    out: Option<PathBuf>,
    config: Option<PathBuf>,
) -> Result<()> {
    if study == Study::All {
        if out.is_some() || config.is_some() {
            bail!(
                "--out and --config name one study's folder and file; with `all`, each study uses its own"
            );
        }
        for s in Study::EACH {
            reproduce(s, scale, None, None)?;
        }
        return Ok(());
    }
    let out = out.unwrap_or_else(|| default_results_dir(study));
    // A config file of its own labels the run by its name (REPORT.md's
    // title, summary.toml's `scale`), e.g. "paper-networks", not "quick".
    let label = config
        .as_ref()
        .and_then(|c| c.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| scale.name().to_string());
    let config = config.unwrap_or_else(|| {
        workspace_root()
            .join("experiments")
            .join(study.name())
            .join(format!("{}.toml", scale.name()))
    });
    let scale_label = label.as_str();
    match study {
        Study::OrhanMa => {
            let cfg: OrhanMaConfig = read_toml(&config)?;
            with_progress(
                wm_studies::orhan_ma::run::total_iterations(&cfg),
                "training iterations",
                |p| {
                    wm_studies::orhan_ma::run::run_with_progress(
                        &cfg,
                        scale_label,
                        &config,
                        &out,
                        p,
                    )
                },
            )?;
        }
        Study::KimSejnowski => {
            use wm_studies::kim_sejnowski::KimSejnowski;
            let cfg: wm_studies::kim_sejnowski::config::KimSejnowskiConfig = read_toml(&config)?;
            let work = <KimSejnowski as wm_studies::study::Study>::work(&cfg);
            with_progress(work.total, work.unit, |p| {
                wm_studies::study::run::<KimSejnowski>(
                    &cfg,
                    &wm_studies::study::RunContext {
                        out: &out,
                        config_path: &config,
                        scale: scale_label,
                        progress: p,
                    },
                )
            })?;
        }
        Study::Xie => {
            let cfg: wm_studies::xie::config::XieConfig = read_toml(&config)?;
            wm_studies::xie::run::run(&cfg, scale_label, &config, &out)?;
        }
        Study::FedererZylberberg => {
            let cfg: wm_studies::federer_zylberberg::config::FedererZylbergConfig =
                read_toml(&config)?;
            with_progress(
                wm_studies::federer_zylberberg::run::total_runs(&cfg),
                "network runs",
                |p| {
                    wm_studies::federer_zylberberg::run::run_with_progress(
                        &cfg,
                        scale_label,
                        &config,
                        &out,
                        p,
                    )
                },
            )?;
        }
        _ => bail!(
            "`cargo xtask reproduce {}` is not implemented yet (scale {}); see the open issues",
            study.name(),
            scale.name()
        ),
    }
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
            wm_studies::io::write_atomic(&report, text.as_bytes())
        }
        Err(e) => {
            println!("no verdict table in REPORT.md: {e:#}");
            Ok(())
        }
    }
}

/// Run `job` with a progress bar of `len` `unit`s that it advances through
/// the callback it is given; the bar is cleared when the job ends.
fn with_progress<T>(
    len: usize,
    unit: &str,
    job: impl FnOnce(&(dyn Fn(usize) + Sync)) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let bar = progress_bar(len, unit);
    let out = job(&|k| bar.inc(k as u64));
    bar.finish_and_clear();
    out
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
    study: Study,
    scale: Scale,
    out: Option<PathBuf>,
    config: Option<PathBuf>,
) -> Result<()> {
    if !wm_studies::sweep::SWEEP_STUDIES.contains(&study.name()) {
        bail!(
            "--slurm plans the networks of {:?}; {} has none to spread over a cluster",
            wm_studies::sweep::SWEEP_STUDIES,
            study.name()
        );
    }
    let out = out.unwrap_or_else(|| default_results_dir(study));
    let config = config.unwrap_or_else(|| {
        workspace_root()
            .join("experiments")
            .join(study.name())
            .join(format!("{}.toml", scale.name()))
    });
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
