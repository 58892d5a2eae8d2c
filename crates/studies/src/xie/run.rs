//! `cargo xtask reproduce xie`: train the networks of each condition (one
//! per core), record the analysed ODR rule's test trials at every stage
//! checkpoint, and write `summary.toml`, `networks.csv`, `checkpoints.csv`,
//! the figures and `REPORT.md`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use rand::SeedableRng;
use rayon::prelude::*;
use serde::Serialize;
use wm_analysis::stats::{mean_sem, ttest_student};
use wm_plot::{Axes, ColorScale, Heatmap, Line, heatmap, histogram, line_plot};
use wm_rate_rnn::Noise;
use wm_tasks::xie::{Mode, score_trials};
use wm_tasks::{TaskRng, XieMultitask, XieTask};

use crate::io::{Provenance, derive_seed, write_atomic, write_csv, write_toml};
use crate::regress::Summary;
use crate::xie::config::{Condition, HeatmapSort, XieConfig};
use crate::xie::measures::{
    BehaviourAnalysis, CheckpointAnalysis, Epochs, Rates, analyse_checkpoint, argmax,
    behaviour_analysis, endpoints, trials_at,
};
use crate::xie::train::{
    NetworkSpec, Stage, TrainedNetwork, load_checkpoint, new_model, record, task_options,
    train_network,
};

/// Bins of the endpoint histograms over 0–180° (Xie et al. 2022, Fig. 2).
const ENDPOINT_BINS: usize = 30;

/// One row of `networks.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkRow {
    /// Index in the run.
    pub index: usize,
    /// Condition.
    pub condition: String,
    /// Seed.
    pub seed: u64,
    /// Training steps done.
    pub steps: usize,
    /// Final evaluation's analysed-ODR performance.
    pub final_odr_perf: f64,
    /// Lowest final performance over the trained tasks.
    pub final_min_perf: f64,
    /// Stage checkpoints kept: mid-trained, mature, fully trained.
    pub n_mid: usize,
    /// See `n_mid`.
    pub n_mature: usize,
    /// See `n_mid`.
    pub n_full: usize,
    /// Delay units at the single analysed checkpoint.
    pub delay_units: usize,
    /// Step of the single analysed checkpoint (first fully trained, else the best).
    pub analysed_step: usize,
    /// Mean per-unit rate–behaviour r there.
    pub rate_behaviour_r: f64,
    /// Training seconds in this process.
    pub train_seconds: f64,
}

/// One row of `checkpoints.csv`.
#[derive(Debug, Clone, Serialize)]
struct CheckpointRow {
    network: usize,
    condition: String,
    step: usize,
    stage: String,
    eval_perf: f64,
    test_accuracy: f64,
    delay_units: usize,
}

/// Everything one network contributes.
struct NetworkAnalysis {
    row: NetworkRow,
    stages: Vec<(Stage, StagePart)>,
    behaviour: Option<BehaviourPair>,
    checkpoints: Vec<CheckpointRow>,
    weights: Option<SortedWeights>,
    activity: Option<ActivityMap>,
}

/// The activity heat map (Xie et al. 2022, Fig. 4): each unit's mean rate
/// over the correct trials with the cue at 90°, `[unit, step]`, divided by
/// the peak of its mean delay-period rate at its own preferred location;
/// units sorted by that location.
struct ActivityMap {
    rows: Vec<Vec<f64>>,
    /// Preferred location (index) of each row's unit.
    preferred: Vec<usize>,
    n_locations: usize,
    /// The delay period's steps.
    delay: std::ops::Range<usize>,
}

/// A checkpoint's contribution to its stage, for both pairings of rates and behaviour.
struct StagePart {
    main: CheckpointAnalysis,
    other: Option<CheckpointAnalysis>,
    endpoints: Vec<(f64, bool)>,
}

/// The single-checkpoint analyses under the configured pairing and the other one.
struct BehaviourPair {
    main: BehaviourAnalysis,
    other: Option<BehaviourAnalysis>,
}

/// `W_rec` `[post, pre]` sorted by preferred cue location.
struct SortedWeights {
    values: Vec<Vec<f64>>,
}

/// The networks of a run: `networks` per condition, in condition order,
/// network k's seed derived from the master seed and k.
pub fn network_specs(cfg: &XieConfig) -> Vec<NetworkSpec> {
    let mut specs = Vec::new();
    for &condition in &cfg.conditions {
        for _ in 0..cfg.networks {
            let index = specs.len();
            specs.push(NetworkSpec {
                index,
                condition,
                seed: derive_seed(cfg.seed, index as u64),
            });
        }
    }
    specs
}

/// Run the reproduction described by `cfg` (read from `config_path`) into `out`.
pub fn run(cfg: &XieConfig, scale: &str, config_path: &Path, out: &Path) -> Result<Summary> {
    cfg.validate()
        .with_context(|| format!("invalid config {}", config_path.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_toml(
        &out.join("run.toml"),
        &Provenance::new("xie", scale, cfg.seed, config_path)?,
    )?;
    let specs = network_specs(cfg);
    let pool = crate::io::network_pool(cfg.threads)?;
    let done = AtomicUsize::new(0);
    let total = specs.len();
    tracing::info!(networks = total, threads = cfg.threads, "xie: training");
    let analyses: Vec<NetworkAnalysis> = pool.install(|| {
        specs
            .par_iter()
            .map(|s| {
                let dir = out.join("networks").join(s.dir_name());
                let net = train_network(s, cfg, &dir)
                    .with_context(|| format!("training network {}", s.dir_name()))?;
                let a = analyse_network(cfg, &net)
                    .with_context(|| format!("analysing network {}", s.dir_name()))?;
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::info!(
                    "network {k}/{total} done: {} after {} steps, ODR {:.3}, {} delay units ({:.0} s)",
                    s.dir_name(),
                    a.row.steps,
                    a.row.final_odr_perf,
                    a.row.delay_units,
                    a.row.train_seconds
                );
                Ok(a)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let rows: Vec<NetworkRow> = analyses.iter().map(|a| a.row.clone()).collect();
    write_csv(&out.join("networks.csv"), &rows)?;
    let ck: Vec<CheckpointRow> = analyses
        .iter()
        .flat_map(|a| a.checkpoints.iter().cloned())
        .collect();
    write_csv(&out.join("checkpoints.csv"), &ck)?;

    let mut stats = BTreeMap::new();
    let mut report = String::new();
    for &c in &cfg.conditions {
        let of: Vec<&NetworkAnalysis> = analyses
            .iter()
            .filter(|a| a.row.condition == c.name())
            .collect();
        condition_results(cfg, c, &of, out, &mut stats, &mut report)?;
    }
    let summary = Summary {
        study: "xie".into(),
        scale: scale.into(),
        statistics: stats,
    };
    write_toml(&out.join("summary.toml"), &summary)?;
    let md = report_markdown(scale, cfg, &summary.statistics, &report);
    write_atomic(&out.join("REPORT.md"), md.as_bytes())?;
    tracing::info!(out = %out.display(), "xie done: summary.toml, networks.csv, REPORT.md and figures written");
    Ok(summary)
}

/// The analysed ODR task of a trained network.
fn analysed_task(cfg: &XieConfig, net: &TrainedNetwork) -> Result<XieTask> {
    let multi = XieMultitask::new(&net.rules, &task_options(cfg))?;
    multi
        .task(net.spec.condition.odr_rule())
        .cloned()
        .context("the ruleset lacks the analysed ODR rule")
}

/// Record and analyse every stage checkpoint (capped) and the single analysed checkpoint.
fn analyse_network(cfg: &XieConfig, net: &TrainedNetwork) -> Result<NetworkAnalysis> {
    let task = analysed_task(cfg, net)?;
    let model = new_model(cfg, &net.spec, net.rules.len())?;
    let probe = task.batch_mode(&mut TaskRng::seed_from_u64(0), 0, Mode::Test { repeats: 1 });
    let lay = task.layout_of(&probe.trials[0]);
    let ep = Epochs::of(&lay, task.options().dt_ms);
    let record_seed = derive_seed(net.spec.seed, 7);
    let mut stages = Vec::new();
    let mut checkpoints = Vec::new();
    let mut counts = [0usize; 3];
    for (step, perf, stage, path) in &net.checkpoints {
        if counts[*stage as usize] >= cfg.stage_cap {
            continue;
        }
        counts[*stage as usize] += 1;
        load_checkpoint(&model, path)?;
        let (main, other, _) = paired_analyses(cfg, &model, &task, &ep, record_seed)?;
        let mut rng = TaskRng::seed_from_u64(derive_seed(record_seed, 1));
        let batch = task.batch_mode(
            &mut rng,
            0,
            Mode::Test {
                repeats: cfg.repeats,
            },
        );
        let (_, out) = model.run(&batch, Noise::TRAINING, &mut rng)?;
        let noisy = score_trials(&task, &batch, &out);
        let cues: Vec<f64> = batch.trials.iter().map(|t| t.stimuli[0]).collect();
        checkpoints.push(CheckpointRow {
            network: net.spec.index,
            condition: net.spec.condition.name().into(),
            step: *step,
            stage: stage.name().into(),
            eval_perf: *perf,
            test_accuracy: main.accuracy,
            delay_units: main.delay_units.len(),
        });
        stages.push((
            *stage,
            StagePart {
                main,
                other,
                endpoints: endpoints(&noisy, &cues),
            },
        ));
    }
    // The single analysed checkpoint: the first fully trained one, else the best.
    let single = net
        .checkpoints
        .iter()
        .find(|c| c.2 == Stage::Full)
        .or_else(|| net.checkpoints.iter().max_by(|a, b| a.1.total_cmp(&b.1)));
    let (mut behaviour, mut weights, mut activity, mut analysed_step, mut n_units) =
        (None, None, None, 0, 0);
    if let Some((step, _, _, path)) = single {
        load_checkpoint(&model, path)?;
        analysed_step = *step;
        let (main, other, rec) = paired_analyses(cfg, &model, &task, &ep, record_seed)?;
        n_units = main.delay_units.len();
        let rates = rec.rates_view();
        let b_main = behaviour_analysis(&rates, &rec.main, cfg.repeats, &ep, &main.delay_units);
        let b_other = match (&rec.other, &other) {
            (Some(o), Some(oa)) => Some(behaviour_analysis(
                &rates,
                o,
                cfg.repeats,
                &ep,
                &oa.delay_units,
            )),
            _ => None,
        };
        behaviour = Some(BehaviourPair {
            main: b_main,
            other: b_other,
        });
        weights = Some(sorted_weights(&model, &rates, &rec.main, cfg.repeats, &ep)?);
        activity = Some(activity_map(
            &rates,
            &rec.main,
            cfg.repeats,
            &ep,
            cfg.heatmap_sort,
        ));
    }
    let last = net.evals.last();
    let row = NetworkRow {
        index: net.spec.index,
        condition: net.spec.condition.name().into(),
        seed: net.spec.seed,
        steps: last.map_or(0, |e| e.step),
        final_odr_perf: net.final_odr_perf(),
        final_min_perf: last.map_or(f64::NAN, |e| {
            e.perf.iter().copied().fold(f64::INFINITY, f64::min)
        }),
        n_mid: counts[0],
        n_mature: counts[1],
        n_full: counts[2],
        delay_units: n_units,
        analysed_step,
        rate_behaviour_r: behaviour
            .as_ref()
            .map_or(f64::NAN, |b| finite_mean(&b.main.per_unit_r)),
        train_seconds: net.seconds,
    };
    Ok(NetworkAnalysis {
        row,
        stages,
        behaviour,
        checkpoints,
        weights,
        activity,
    })
}

/// A recording and its outcomes under the configured pairing (and the other one).
struct Recorded {
    rates: Vec<f32>,
    n_steps: usize,
    n_trials: usize,
    n_units: usize,
    main: Vec<wm_tasks::xie::TrialOutcome>,
    other: Option<Vec<wm_tasks::xie::TrialOutcome>>,
}

impl Recorded {
    fn rates_view(&self) -> Rates<'_> {
        Rates {
            values: &self.rates,
            n_steps: self.n_steps,
            n_trials: self.n_trials,
            n_units: self.n_units,
        }
    }
}

/// Record the test trials once; score behaviour from the same pass and, for
/// the other pairing, from a second pass with fresh noise (as Xie et al.'s
/// code does).
fn paired_analyses(
    cfg: &XieConfig,
    model: &wm_rate_rnn::Leaky,
    task: &XieTask,
    ep: &Epochs,
    seed: u64,
) -> Result<(CheckpointAnalysis, Option<CheckpointAnalysis>, Recorded)> {
    // Both recordings use `seed`, so their rates are the same first pass;
    // `unpaired` decodes behaviour from a second, freshly noised pass.
    let rec = record(model, task, cfg.repeats, Noise::RECORDING, seed, true)?;
    let paired = record(model, task, cfg.repeats, Noise::RECORDING, seed, false)?;
    let n_units = cfg.n_units;
    let recorded = Recorded {
        n_steps: paired.batch.n_steps,
        n_trials: paired.batch.batch_size,
        n_units,
        main: if cfg.faithful_unpaired_noise {
            rec.outcomes.clone()
        } else {
            paired.outcomes.clone()
        },
        other: cfg.report_both.then(|| {
            if cfg.faithful_unpaired_noise {
                paired.outcomes.clone()
            } else {
                rec.outcomes.clone()
            }
        }),
        rates: paired.rates,
    };
    let rates = recorded.rates_view();
    let main = analyse_checkpoint(&rates, &recorded.main, cfg.repeats, ep, cfg.delay_unit_rule);
    let other = recorded
        .other
        .as_ref()
        .map(|o| analyse_checkpoint(&rates, o, cfg.repeats, ep, cfg.delay_unit_rule));
    Ok((main, other, recorded))
}

/// `W_rec` as post × pre, both axes sorted by each unit's preferred cue
/// location (argmax of the normalised cue-period rate, correct trials; ties
/// in index order), as in Xie et al. 2022, Fig. 5A.
fn sorted_weights(
    model: &wm_rate_rnn::Leaky,
    rates: &Rates,
    outcomes: &[wm_tasks::xie::TrialOutcome],
    repeats: usize,
    ep: &Epochs,
) -> Result<SortedWeights> {
    let n = rates.n_units;
    let n_loc = rates.n_trials / repeats;
    let pref: Vec<usize> = (0..n)
        .map(|i| {
            let tuning: Vec<f64> = (0..n_loc)
                .map(|l| {
                    let trials: Vec<usize> = (l * repeats..(l + 1) * repeats)
                        .filter(|&b| outcomes[b].correct)
                        .collect();
                    let base = trials
                        .iter()
                        .map(|&b| rates.mean(b, i, &ep.fixation))
                        .sum::<f64>()
                        / trials.len().max(1) as f64;
                    let cue = trials
                        .iter()
                        .map(|&b| rates.mean(b, i, &ep.cue))
                        .sum::<f64>()
                        / trials.len().max(1) as f64;
                    wm_analysis::odr::normalized_rate(cue, base)
                })
                .collect();
            argmax(&tuning)
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (pref[i], i));
    // Leaky stores w_rec as pre × post.
    let w = model.parameter("w_rec")?;
    let values = order
        .iter()
        .map(|&post| order.iter().map(|&pre| w[pre * n + post]).collect())
        .collect();
    Ok(SortedWeights { values })
}

/// Mean 50·r of unit `i` at each step over `trials` (NaN if none).
fn mean_trace(rates: &Rates, i: usize, trials: &[usize]) -> Vec<f64> {
    (0..rates.n_steps)
        .map(|t| {
            if trials.is_empty() {
                f64::NAN
            } else {
                trials.iter().map(|&b| rates.at(t, b, i)).sum::<f64>() / trials.len() as f64
            }
        })
        .collect()
}

/// The activity heat map of one recording (see [`ActivityMap`]): every unit,
/// its preferred location the argmax over locations of the normalised
/// delay-period (or, with [`HeatmapSort::CuePreference`], cue-period) rate
/// on correct trials; ties in index order.
fn activity_map(
    rates: &Rates,
    outcomes: &[wm_tasks::xie::TrialOutcome],
    repeats: usize,
    ep: &Epochs,
    sort: HeatmapSort,
) -> ActivityMap {
    let n_loc = rates.n_trials / repeats;
    let by_location: Vec<Vec<usize>> = (0..n_loc)
        .map(|l| trials_at(l, repeats, outcomes, |o| o.correct))
        .collect();
    let window = match sort {
        HeatmapSort::DelayPeak => &ep.delay,
        HeatmapSort::CuePreference => &ep.cue,
    };
    let shown = &by_location[n_loc / 4];
    let mut units: Vec<(usize, usize, Vec<f64>)> = (0..rates.n_units)
        .map(|i| {
            let tuning: Vec<f64> = by_location
                .iter()
                .map(|trials| {
                    let mean = |steps: &std::ops::Range<usize>| {
                        trials.iter().map(|&b| rates.mean(b, i, steps)).sum::<f64>()
                            / trials.len() as f64
                    };
                    wm_analysis::odr::normalized_rate(mean(window), mean(&ep.fixation))
                })
                .collect();
            let pref = argmax(&tuning);
            let peak = mean_trace(rates, i, &by_location[pref])[ep.delay.clone()]
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            let row = mean_trace(rates, i, shown)
                .into_iter()
                .map(|v| if peak > 0.0 { v / peak } else { f64::NAN })
                .collect();
            (pref, i, row)
        })
        .collect();
    units.sort_by_key(|u| (u.0, u.1));
    ActivityMap {
        preferred: units.iter().map(|u| u.0).collect(),
        rows: units.into_iter().map(|u| u.2).collect(),
        n_locations: n_loc,
        delay: ep.delay.clone(),
    }
}

fn finite_mean(x: &[f64]) -> f64 {
    let v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Pool one condition's networks: stage statistics, figures and report lines.
fn condition_results(
    cfg: &XieConfig,
    c: Condition,
    nets: &[&NetworkAnalysis],
    out: &Path,
    stats: &mut BTreeMap<String, f64>,
    report: &mut String,
) -> Result<()> {
    let k = c.name();
    let put = |stats: &mut BTreeMap<String, f64>, name: &str, v: f64| {
        if v.is_finite() {
            stats.insert(format!("{k}_{name}"), v);
        }
    };
    put(stats, "n_networks", nets.len() as f64);
    let finals: Vec<f64> = nets.iter().map(|a| a.row.final_odr_perf).collect();
    put(stats, "final_odr_perf_mean", finite_mean(&finals));
    put(
        stats,
        "final_odr_perf_min",
        finals.iter().copied().fold(f64::INFINITY, f64::min),
    );
    let steps: Vec<f64> = nets.iter().map(|a| a.row.steps as f64).collect();
    put(stats, "train_steps_mean", finite_mean(&steps));
    report.push_str(&format!(
        "\n## {} delay ({} networks)\n\nFinal ODR performance (evaluation trials): mean {:.3}; training steps: mean {:.0}.\n\n",
        c.describe(),
        nets.len(),
        finite_mean(&finals),
        finite_mean(&steps),
    ));
    report.push_str("| stage | checkpoints | correct ρ | error ρ | t (df), p | other pairing t |\n|---|---|---|---|---|---|\n");
    let mut psth_lines = Vec::new();
    let mut endpoint_lines = Vec::new();
    let dt_s = task_options(cfg).dt_ms / 1000.0;
    for stage in Stage::ALL {
        let parts: Vec<&StagePart> = nets
            .iter()
            .flat_map(|a| a.stages.iter().filter(|(s, _)| *s == stage).map(|(_, p)| p))
            .collect();
        let s = stage.name();
        put(stats, &format!("{s}_n_checkpoints"), parts.len() as f64);
        if parts.is_empty() {
            report.push_str(&format!("| {s} | 0 | | | | |\n"));
            continue;
        }
        let test = |pick: &dyn Fn(&StagePart) -> Option<&CheckpointAnalysis>| {
            let (mut cr, mut er) = (Vec::new(), Vec::new());
            for p in &parts {
                if let Some(a) = pick(p) {
                    cr.extend(a.correct_rate.iter().copied().filter(|v| v.is_finite()));
                    er.extend(a.error_rate.iter().copied().filter(|v| v.is_finite()));
                }
            }
            (
                finite_mean(&cr),
                finite_mean(&er),
                ttest_student(&cr, &er).ok(),
            )
        };
        let (cm, em, t) = test(&|p| Some(&p.main));
        let (_, _, t_other) = test(&|p| p.other.as_ref());
        put(stats, &format!("{s}_correct_rate_norm"), cm);
        put(stats, &format!("{s}_error_rate_norm"), em);
        if let Some(t) = &t {
            put(stats, &format!("{s}_correct_vs_error_t"), t.statistic);
            put(stats, &format!("{s}_correct_vs_error_df"), t.df);
            put(stats, &format!("{s}_correct_vs_error_p"), t.p_value);
        }
        if let Some(t) = &t_other {
            put(
                stats,
                &format!("{s}_correct_vs_error_t_other_pairing"),
                t.statistic,
            );
        }
        let fmt_t = |t: &Option<wm_analysis::stats::TestResult>| {
            t.as_ref().map_or("—".to_string(), |t| {
                format!("t({:.0}) = {:.2}, p = {:.3}", t.df, t.statistic, t.p_value)
            })
        };
        report.push_str(&format!(
            "| {s} | {} | {cm:.3} | {em:.3} | {} | {} |\n",
            parts.len(),
            fmt_t(&t),
            fmt_t(&t_other)
        ));
        // PSTHs averaged over checkpoints.
        for (label, pick) in [
            (
                "correct",
                (|a: &CheckpointAnalysis| &a.psth_correct) as fn(&CheckpointAnalysis) -> &Vec<f64>,
            ),
            ("error", |a: &CheckpointAnalysis| &a.psth_error),
        ] {
            let len = parts.iter().map(|p| pick(&p.main).len()).max().unwrap_or(0);
            let y: Vec<f64> = (0..len)
                .map(|t| {
                    finite_mean(
                        &parts
                            .iter()
                            .filter_map(|p| pick(&p.main).get(t).copied())
                            .collect::<Vec<_>>(),
                    )
                })
                .collect();
            psth_lines.push(Line {
                name: format!("{s}, {label}"),
                x: (0..len).map(|t| t as f64 * dt_s).collect(),
                y,
                err: None,
            });
        }
        for (label, want) in [("correct", true), ("error", false)] {
            let mut h = [0.0; ENDPOINT_BINS];
            let mut n = 0.0;
            for p in &parts {
                for &(d, correct) in &p.endpoints {
                    if correct == want {
                        let bin =
                            ((d / 180.0 * ENDPOINT_BINS as f64) as usize).min(ENDPOINT_BINS - 1);
                        h[bin] += 1.0;
                        n += 1.0;
                    }
                }
            }
            if n > 0.0 {
                put(
                    stats,
                    &format!("{s}_endpoint_{label}_fraction"),
                    n / parts.iter().map(|p| p.endpoints.len()).sum::<usize>() as f64,
                );
                endpoint_lines.push(Line {
                    name: format!("{s}, {label}"),
                    x: (0..ENDPOINT_BINS)
                        .map(|b| (b as f64 + 0.5) * 180.0 / ENDPOINT_BINS as f64)
                        .collect(),
                    y: h.iter().map(|v| v / n).collect(),
                    err: None,
                });
            }
        }
    }
    if !psth_lines.is_empty() {
        line_plot(
            &out.join(format!("psth_{k}.png")),
            &Axes::new(
                &format!("Normalised PSTH at the preferred location ({k} delay)"),
                "time from trial start (s)",
                "rate / baseline − 1",
            ),
            &psth_lines,
        )?;
        line_plot(
            &out.join(format!("endpoints_{k}.png")),
            &Axes::new(
                &format!("Saccade endpoints ({k} delay)"),
                "distance from the cue (deg)",
                "fraction of trials",
            ),
            &endpoint_lines,
        )?;
    }
    behaviour_results(c, nets, out, stats, report)?;
    if let Some(m) = nets.iter().find_map(|a| a.activity.as_ref()) {
        let steps = m.rows.first().map_or(0, Vec::len);
        heatmap(
            &out.join(format!("activity_sorted_{k}.png")),
            &Axes::new(
                &format!(
                    "Rates with the cue at 90°, units sorted by preferred {} location ({k} delay)",
                    match cfg.heatmap_sort {
                        HeatmapSort::DelayPeak => "delay",
                        HeatmapSort::CuePreference => "cue",
                    }
                ),
                "time from trial start (s)",
                "unit (sorted by preferred location)",
            )
            .integer_y(),
            &Heatmap {
                values: m.rows.clone(),
                x_extent: (0.0, steps as f64 * dt_s),
                y_extent: (-0.5, m.rows.len() as f64 - 0.5),
                scale: ColorScale::Sequential { lo: 0.0, hi: 1.0 },
                value_label: "rate / peak delay rate (grey: no peak > 0)".into(),
            },
        )?;
        // Delay activity at the 90° cue carried by the units tuned near it:
        // the mean normalised delay rate of units preferring within 45° of the
        // cue over that of the others (> 1 for a bump-like code).
        let (mut near, mut far) = (Vec::new(), Vec::new());
        for (row, &p) in m.rows.iter().zip(&m.preferred) {
            let d = (p as f64 - m.n_locations as f64 / 4.0).abs() * 360.0 / m.n_locations as f64;
            let delay: Vec<f64> = row[m.delay.clone()].to_vec();
            let v = finite_mean(&delay);
            if d.min(360.0 - d) <= 45.0 {
                near.push(v);
            } else {
                far.push(v);
            }
        }
        put(
            stats,
            "heatmap_delay_near_over_far",
            finite_mean(&near) / finite_mean(&far),
        );
        report.push_str(&format!(
            "\nActivity heat map (`activity_sorted_{k}.png`, paper Fig. 4): with the cue at 90°, units preferring a location within 45° of it have {:.2}× the normalised delay rate of the others.\n",
            finite_mean(&near) / finite_mean(&far)
        ));
    }
    if let Some(w) = nets.iter().find_map(|a| a.weights.as_ref()) {
        let n = w.values.len() as f64;
        heatmap(
            &out.join(format!("w_rec_sorted_{k}.png")),
            &Axes::new(
                &format!("W_rec sorted by preferred cue location ({k} delay)"),
                "presynaptic unit (sorted)",
                "postsynaptic unit (sorted)",
            )
            .integer_x()
            .integer_y(),
            &Heatmap {
                values: w.values.clone(),
                x_extent: (-0.5, n - 0.5),
                y_extent: (-0.5, n - 0.5),
                scale: ColorScale::diverging_from(w.values.iter().flatten().copied()),
                value_label: "recurrent weight W_rec".into(),
            },
        )?;
    }
    Ok(())
}

/// Delay-unit counts, the rate–behaviour correlation and the Fano factor at
/// each network's single analysed checkpoint.
fn behaviour_results(
    c: Condition,
    nets: &[&NetworkAnalysis],
    out: &Path,
    stats: &mut BTreeMap<String, f64>,
    report: &mut String,
) -> Result<()> {
    let k = c.name();
    let with: Vec<(&NetworkAnalysis, &BehaviourPair)> = nets
        .iter()
        .filter_map(|a| a.behaviour.as_ref().map(|b| (*a, b)))
        .collect();
    if with.is_empty() {
        report.push_str("\nNo network reached a stage checkpoint; the single-checkpoint analyses are skipped.\n");
        return Ok(());
    }
    let units: Vec<f64> = with.iter().map(|(a, _)| a.row.delay_units as f64).collect();
    let rs: Vec<f64> = with
        .iter()
        .flat_map(|(_, b)| b.main.per_unit_r.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let rs_other: Vec<f64> = with
        .iter()
        .filter_map(|(_, b)| b.other.as_ref())
        .flat_map(|b| b.per_unit_r.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    let mut put = |name: &str, v: f64| {
        if v.is_finite() {
            stats.insert(format!("{k}_{name}"), v);
        }
    };
    put("delay_units_mean", finite_mean(&units));
    put("rate_behaviour_r_mean", finite_mean(&rs));
    put(
        "rate_behaviour_r_mean_other_pairing",
        finite_mean(&rs_other),
    );
    put("rate_behaviour_n_units", rs.len() as f64);
    let fano: Vec<f64> = with
        .iter()
        .flat_map(|(_, b)| b.main.fano_aligned.iter().copied())
        .collect();
    put("fano_mean", finite_mean(&fano));
    let first = with[0].1;
    if let Some(a) = &first.main.fano_anova {
        put("fano_anova_f", a.f);
        put("fano_anova_p", a.p_value);
        put("fano_anova_df_within", a.df_within as f64);
    }
    report.push_str(&format!(
        "\nSingle analysed checkpoint per network (first fully trained, else the best): delay units {:.1} of each network on average; \
         rate–behaviour r over {} units: mean {:.3} (paper 0.087; other pairing {:.3}); Fano factor mean {:.4} (paper ≈ 0.02){}.\n",
        finite_mean(&units),
        rs.len(),
        finite_mean(&rs),
        finite_mean(&rs_other),
        finite_mean(&fano),
        first
            .main
            .fano_anova
            .as_ref()
            .map_or(String::new(), |a| format!(
                "; ANOVA across positions F({}, {}) = {:.2}, p = {:.3} (paper F(7, 904) = 5.05)",
                a.df_between, a.df_within, a.f, a.p_value
            )),
    ));
    // Histogram of per-unit r.
    let edges: Vec<f64> = (0..=10).map(|b| -1.0 + 0.2 * b as f64).collect();
    let counts: Vec<usize> = edges
        .windows(2)
        .map(|w| {
            rs.iter()
                .filter(|&&r| r >= w[0] && (r < w[1] || w[1] >= 1.0))
                .count()
        })
        .collect();
    histogram(
        &out.join(format!("rate_behaviour_r_{k}.png")),
        &Axes::new(
            &format!("Rate–behaviour correlation per delay unit ({k} delay)"),
            "Pearson r (signed saccade deviation vs rate deviation)",
            "units",
        ),
        &edges,
        &counts,
    )?;
    let positions = first.main.positions_deg.clone();
    let mean_over = |pick: &dyn Fn(&BehaviourAnalysis) -> &Vec<f64>| -> Vec<f64> {
        (0..positions.len())
            .map(|j| {
                let v: Vec<f64> = with
                    .iter()
                    .filter_map(|(_, b)| pick(&b.main).get(j).copied())
                    .collect();
                finite_mean(&v)
            })
            .collect()
    };
    let fano_curve = mean_over(&|b| &b.fano_aligned);
    let r_curve = mean_over(&|b| &b.position_r);
    let sem: Vec<f64> = (0..positions.len())
        .map(|j| {
            let v: Vec<f64> = with
                .iter()
                .filter_map(|(_, b)| b.main.fano_aligned.get(j).copied())
                .filter(|v| v.is_finite())
                .collect();
            mean_sem(&v).map_or(0.0, |m| if m.sem.is_finite() { m.sem } else { 0.0 })
        })
        .collect();
    line_plot(
        &out.join(format!("fano_{k}.png")),
        &Axes::new(
            &format!("Fano factor, last 1 s of delay ({k} delay)"),
            "location relative to the preferred one (deg)",
            "Fano factor (rates ×50)",
        ),
        &[Line {
            name: "mean over networks".into(),
            x: positions.clone(),
            y: fano_curve,
            err: Some(sem),
        }],
    )?;
    line_plot(
        &out.join(format!("rate_behaviour_by_position_{k}.png")),
        &Axes::new(
            &format!("Rate–behaviour r across units by tuning position ({k} delay)"),
            "location relative to the preferred one (deg)",
            "Pearson r across units",
        ),
        &[Line {
            name: "mean over networks".into(),
            x: positions,
            y: r_curve,
            err: None,
        }],
    )?;
    Ok(())
}

fn report_markdown(
    scale: &str,
    cfg: &XieConfig,
    stats: &BTreeMap<String, f64>,
    body: &str,
) -> String {
    let mut s = format!(
        "# Xie, Liu, Constantinidis & Zhou 2022 — reproduction ({scale} scale)\n\n\
         Leaky softplus RNNs ({} units, τ = 100 ms, dt = 20 ms) trained on the ODR family with ODRD and the \
         anti-saccade tasks; stages by the analysed ODR rule's evaluation performance: mid-trained (0.35, 0.65], \
         mature (0.65, 0.95], fully trained > 0.95. Delay units by the `{:?}` rule. Rates and behaviour \
         are taken from {} (the other pairing is reported beside it; the original code decodes behaviour \
         from a second pass). Correct-vs-error test: one observation per (checkpoint, delay unit), mean \
         normalised delay rate at the preferred location, Student t-test (wm's reconstruction: the original \
         code has no script for it). Paper: fixed 3 s t(2946) = 2.48, p = 0.013; \
         variable delay t(5181) = 18.9; correct > error.\n",
        cfg.n_units,
        cfg.delay_unit_rule,
        if cfg.faithful_unpaired_noise {
            "two independently noised passes, as the original recorder"
        } else {
            "the same forward pass"
        },
    );
    s.push_str(body);
    s.push_str("\n## All statistics\n\n| statistic | value |\n|---|---|\n");
    for (k, v) in stats {
        s.push_str(&format!("| {k} | {v:.6} |\n"));
    }
    s
}
