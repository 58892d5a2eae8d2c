//! The shape every reproduction has, and the one driver that runs them.
//!
//! A study is an algorithm that does not know where its output goes (as an
//! argmin `Solver` is run by an `Executor`): [`Study::compute`] trains,
//! simulates and measures into a typed outcome; [`Study::statistics`],
//! [`Study::tables`], [`Study::figures`] and [`Study::report`] only read that
//! outcome. [`run`] is the executor: it validates the config, records the
//! provenance, computes, then writes `summary.toml`, the tables, the figures
//! and `REPORT.md` — the same steps in the same order for every study.
//!
//! The registry of studies is [`crate::STUDIES`]; `cargo xtask`, `wm sweep`
//! and the integration tests reach a study through it by name, so adding a
//! study is one module plus one registry line.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;

use crate::io::{Provenance, read_toml, write_atomic, write_toml};
use crate::regress::Summary;
use crate::sweep::ManifestRow;

/// What every study's experiment config provides besides its own fields.
pub trait StudyConfig: DeserializeOwned + Send + Sync {
    /// Check every field; the error names the field, its value and the
    /// allowed range.
    fn validate(&self) -> Result<()>;
    /// The master seed every random draw of the run derives from.
    fn seed(&self) -> u64;
}

/// How much work a run does, for progress bars: `total` units named `unit`
/// (e.g. 2,000,000 "training iterations").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    /// Units of work in the whole run.
    pub total: usize,
    /// What one unit is, plural (`"networks"`).
    pub unit: &'static str,
}

/// Where a run writes, what it records, and whom it tells of progress.
#[derive(Clone, Copy)]
pub struct RunContext<'a> {
    /// The results folder (created if missing).
    pub out: &'a Path,
    /// The experiment TOML the config was read from (recorded verbatim in
    /// `run.toml`).
    pub config_path: &'a Path,
    /// The run's label in `run.toml`, `summary.toml` and REPORT.md: the
    /// scale (`smoke`, `quick`, `medium`, `paper`) or the name of the config
    /// file (`paper-networks`).
    pub scale: &'a str,
    /// Told how many units of [`Work`] were finished, as they finish, from
    /// any thread.
    pub progress: &'a (dyn Fn(usize) + Sync),
}

impl<'a> RunContext<'a> {
    /// A context that reports no progress.
    pub fn new(out: &'a Path, config_path: &'a Path, scale: &'a str) -> Self {
        Self {
            out,
            config_path,
            scale,
            progress: &|_| {},
        }
    }
}

/// One published study reproduced end to end.
pub trait Study {
    /// Kebab-case name: folders `experiments/<NAME>/`, `results/<NAME>/`.
    const NAME: &'static str;
    /// One line naming the paper and what is reproduced.
    const TITLE: &'static str;
    /// The experiment config (`experiments/<NAME>/<scale>.toml`).
    type Config: StudyConfig;
    /// Everything the run computed, typed; the other methods only read it.
    type Outcome;

    /// The run's total work, for progress bars.
    fn work(cfg: &Self::Config) -> Work;
    /// Train, simulate and measure. May write per-network checkpoints under
    /// `ctx.out` (so an interrupted run resumes); writes nothing else.
    fn compute(cfg: &Self::Config, ctx: &RunContext) -> Result<Self::Outcome>;
    /// The named statistics of `summary.toml`, which `regress` checks.
    fn statistics(cfg: &Self::Config, outcome: &Self::Outcome) -> BTreeMap<String, f64>;
    /// Write the run's CSV tables into `out`.
    fn tables(cfg: &Self::Config, outcome: &Self::Outcome, out: &Path) -> Result<()>;
    /// Draw the run's figures into `out`.
    fn figures(cfg: &Self::Config, outcome: &Self::Outcome, out: &Path) -> Result<()>;
    /// REPORT.md's text (the verdict table is appended by `cargo xtask`).
    fn report(cfg: &Self::Config, outcome: &Self::Outcome, summary: &Summary) -> String;

    /// Whether the run's networks can be trained one at a time as sweep
    /// points (`wm sweep`), i.e. whether the two methods below are given.
    const SWEEPABLE: bool = false;
    /// The run's networks as independent sweep points (`wm sweep plan`).
    fn sweep_points(_cfg: &Self::Config) -> Vec<ManifestRow> {
        Vec::new()
    }
    /// Train (or resume) sweep point `index` in `net_dir` and return the
    /// values its point record keeps.
    fn run_sweep_point(
        _cfg: &Self::Config,
        _index: usize,
        _net_dir: &Path,
    ) -> Result<BTreeMap<String, f64>> {
        bail!("{} has no sweep points", Self::NAME)
    }
}

/// Run study `S` with `cfg` into `ctx.out`: validate, record `run.toml`,
/// compute, then write `summary.toml`, the tables, the figures and
/// `REPORT.md`. Returns the summary.
pub fn run<S: Study>(cfg: &S::Config, ctx: &RunContext) -> Result<Summary> {
    cfg.validate()
        .with_context(|| format!("invalid config {}", ctx.config_path.display()))?;
    std::fs::create_dir_all(ctx.out)
        .with_context(|| format!("cannot create {}", ctx.out.display()))?;
    write_toml(
        &ctx.out.join("run.toml"),
        &Provenance::new(S::NAME, ctx.scale, cfg.seed(), ctx.config_path)?,
    )?;
    let outcome = S::compute(cfg, ctx)?;
    let summary = Summary {
        study: S::NAME.into(),
        scale: ctx.scale.into(),
        statistics: S::statistics(cfg, &outcome),
    };
    write_toml(&ctx.out.join("summary.toml"), &summary)?;
    S::tables(cfg, &outcome, ctx.out)?;
    S::figures(cfg, &outcome, ctx.out)?;
    let report = S::report(cfg, &outcome, &summary);
    write_atomic(&ctx.out.join("REPORT.md"), report.as_bytes())?;
    tracing::info!(
        out = %ctx.out.display(),
        "{} done: run.toml, summary.toml, tables, figures and REPORT.md written",
        S::NAME
    );
    Ok(summary)
}

/// A registered study, reached by name without knowing its types.
pub trait Entry: Sync {
    /// [`Study::NAME`].
    fn name(&self) -> &'static str;
    /// [`Study::TITLE`].
    fn title(&self) -> &'static str;
    /// [`Study::SWEEPABLE`].
    fn sweepable(&self) -> bool;
    /// Read and validate an experiment config of this study.
    fn load(&self, config: &Path) -> Result<Box<dyn Loaded>>;
}

/// A study with its config read and validated.
pub trait Loaded: Send + Sync {
    /// [`Study::work`].
    fn work(&self) -> Work;
    /// [`run`].
    fn run(&self, ctx: &RunContext) -> Result<Summary>;
    /// [`Study::sweep_points`].
    fn sweep_points(&self) -> Vec<ManifestRow>;
    /// [`Study::run_sweep_point`].
    fn run_sweep_point(&self, index: usize, net_dir: &Path) -> Result<BTreeMap<String, f64>>;
}

/// The registry entry of study `S` (see [`crate::STUDIES`]).
pub struct Registered<S>(PhantomData<fn() -> S>);

impl<S> Registered<S> {
    /// The entry of `S`.
    pub const ENTRY: Self = Self(PhantomData);
}

impl<S: Study + 'static> Entry for Registered<S> {
    fn name(&self) -> &'static str {
        S::NAME
    }

    fn title(&self) -> &'static str {
        S::TITLE
    }

    fn sweepable(&self) -> bool {
        S::SWEEPABLE
    }

    fn load(&self, config: &Path) -> Result<Box<dyn Loaded>> {
        let cfg: S::Config = read_toml(config)?;
        cfg.validate()
            .with_context(|| format!("invalid config {}", config.display()))?;
        Ok(Box::new(LoadedStudy::<S> {
            cfg,
            _study: PhantomData,
        }))
    }
}

struct LoadedStudy<S: Study> {
    cfg: S::Config,
    _study: PhantomData<fn() -> S>,
}

impl<S: Study + 'static> Loaded for LoadedStudy<S> {
    fn work(&self) -> Work {
        S::work(&self.cfg)
    }

    fn run(&self, ctx: &RunContext) -> Result<Summary> {
        run::<S>(&self.cfg, ctx)
    }

    fn sweep_points(&self) -> Vec<ManifestRow> {
        S::sweep_points(&self.cfg)
    }

    fn run_sweep_point(&self, index: usize, net_dir: &Path) -> Result<BTreeMap<String, f64>> {
        S::run_sweep_point(&self.cfg, index, net_dir)
    }
}

/// The registered study called `name`, or an error listing the names.
pub fn find(name: &str) -> Result<&'static dyn Entry> {
    crate::STUDIES
        .iter()
        .copied()
        .find(|s| s.name() == name)
        .with_context(|| format!("no study {name:?}; the studies are {:?}", names()))
}

/// The names of the registered studies, in registry order.
pub fn names() -> Vec<&'static str> {
    crate::STUDIES.iter().map(|s| s.name()).collect()
}
