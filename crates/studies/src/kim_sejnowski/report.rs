//! `REPORT.md` of the Kim & Sejnowski reproduction (the measured statistics
//! beside the published ones) and its CSV tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use wm_tasks::kim::GoNoGoVariant;

use crate::io::write_csv;
use crate::kim_sejnowski::compute::Outcome;
use crate::kim_sejnowski::config::{KimSejnowskiConfig, KimTask, TauRegime};
use crate::kim_sejnowski::discrim::DiscrimResult;
use crate::kim_sejnowski::measures::{ConditionTraining, RegimeComparison, sample_sd};
use crate::kim_sejnowski::network::{NetworkOutcome, UnitRow, mean_median};
use crate::regress::Summary;

/// Write `networks.csv` (one row per network), `timescales.csv` (one row
/// per unit of every network), `training.csv` (one row per evaluation
/// during every network's training) and the example network's spikes
/// (`example_spikes.csv`, `example_spikes.safetensors`) into `out`.
pub fn tables(outcome: &Outcome, out: &Path) -> Result<()> {
    let rows: Vec<_> = outcome.networks.iter().map(|o| o.row.clone()).collect();
    write_csv(&out.join("networks.csv"), &rows)?;
    let units: Vec<UnitRow> = outcome
        .networks
        .iter()
        .flat_map(|o| o.units.clone())
        .collect();
    write_csv(&out.join("timescales.csv"), &units)?;
    let training: Vec<_> = outcome
        .networks
        .iter()
        .flat_map(NetworkOutcome::training_rows)
        .collect();
    write_csv(&out.join("training.csv"), &training)?;
    if let Some(e) = &outcome.example {
        e.spikes.write_csv(&out.join("example_spikes.csv"))?;
        e.spikes
            .write_safetensors(&out.join("example_spikes.safetensors"))?;
    }
    Ok(())
}

/// Published network-mean timescales (mean ± s.d., ms) of the NeurIPS 2019
/// Published network-mean timescales (mean ± s.d., ms) of the NeurIPS 2019
/// paper: (DMS, Go-NoGo) per τ regime, 40 networks each.
pub fn published(regime: TauRegime) -> ((f64, f64), (f64, f64)) {
    match regime {
        TauRegime::Optimized => ((157.0, 32.0), (93.8, 27.6)),
        TauRegime::Fixed => ((141.1, 27.6), (109.1, 21.0)),
    }
}

fn mean_sd(v: &[f64]) -> String {
    if v.is_empty() {
        return "–".into();
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    if v.len() < 2 {
        return format!("{m:.1} (n = 1)");
    }
    format!("{m:.1} ± {:.1} (n = {})", sample_sd(v, m), v.len())
}

/// REPORT.md's text: the methods, the network counts, DMS vs Go-NoGo per τ
/// regime beside the published values, the discriminability and every
/// statistic.
pub fn report(cfg: &KimSejnowskiConfig, outcome: &Outcome, summary: &Summary) -> String {
    let stats = &summary.statistics;
    [
        methods(cfg, &summary.scale),
        networks_paragraph(stats),
        training_section(&outcome.measures.training),
        comparison_section(&outcome.measures.regimes),
        discrim_section(cfg, stats, outcome.discrim.as_ref()),
        all_statistics(stats),
    ]
    .concat()
}

/// The value of statistic `k` (NaN when absent).
fn stat(stats: &BTreeMap<String, f64>, k: &str) -> f64 {
    stats.get(k).copied().unwrap_or(f64::NAN)
}

/// Title and how the networks were trained, converted and analysed.
fn methods(cfg: &KimSejnowskiConfig, scale: &str) -> String {
    let go_nogo = match cfg.go_nogo.variant {
        GoNoGoVariant::Signed => {
            "Go-NoGo as the NeurIPS text states it: a ±1 cue and a ±1 answer held to the trial's end"
        }
        GoNoGoVariant::CodeZeroOne => {
            "Go-NoGo as the original code: a cue on Go trials only, answer 1 after it, 0 on NoGo trials"
        }
    };
    format!(
        "# Kim & Sejnowski 2019 — spiking RNNs and working-memory timescales ({scale} scale)\n\n\
         Rate RNNs with Dale's law ({} units, τ^s optimized in [{}, {}] ms or fixed at {} ms) were \
         trained on DMS and Go-NoGo ({go_nogo}), converted to LIF networks (scaling factor searched over {:?}, \
         {} trials each), and kept when their LIF accuracy at the best factor reached {:.2}{}. \
         Each kept network ran {} trials of {} ms of spontaneous activity; each unit's spike-count \
         autocorrelation (bins of {} ms, lags to {} ms) was fitted with A(exp(−Δ/τ) + B).\n\n",
        cfg.n_units,
        cfg.tau_min_ms,
        cfg.tau_max_ms,
        cfg.tau_fixed_ms,
        cfg.scale_search.scales,
        cfg.scale_search.trials,
        cfg.lif_accuracy_threshold,
        if cfg.require_converged {
            " and training met the stopping rule"
        } else {
            " (the stopping rule was not required)"
        },
        cfg.timescale.trials,
        cfg.timescale.duration_ms,
        cfg.timescale.bin_ms,
        cfg.timescale.max_lag_ms,
    )
}

/// How many networks trained, converged and were kept, and how well they do.
fn networks_paragraph(stats: &BTreeMap<String, f64>) -> String {
    let g = |k: &str| stat(stats, k);
    format!(
        "Networks trained: {}; met the stopping rule: {}; kept: {}. Mean rate accuracy {:.3}, \
         mean LIF accuracy {:.3}, mean best scaling factor {:.1}, mean spontaneous rate {:.1} Hz. \
         Units with an accepted timescale: {} (fraction {:.2}).\n\n",
        g("n_networks_trained"),
        g("n_networks_converged"),
        g("n_networks_kept"),
        g("mean_rate_accuracy"),
        g("mean_lif_accuracy"),
        g("mean_best_scale"),
        g("mean_firing_rate_hz"),
        g("n_units_fitted"),
        g("fraction_units_fitted"),
    )
}

/// How each task and τ regime trained: networks that met the stopping rule
/// and where τ^s went (mean over networks of their mean τ^s).
fn training_section(training: &[ConditionTraining]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Training\n");
    let _ = writeln!(
        s,
        "| task | τ^s | met the stopping rule | mean τ^s at the end (ms) | lowest mean τ^s during training (ms) |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    for c in training {
        let lowest = c
            .mean_lowest_tau_syn_ms
            .map_or("–".to_string(), |v| format!("{v:.1}"));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.1} | {lowest} |",
            c.task.name(),
            c.regime.name(),
            c.n_converged,
            c.mean_final_tau_syn_ms
        );
    }
    let _ = writeln!(
        s,
        "\nEvery evaluation during training (loss, accuracy, mean τ^s) is in `training.csv`; \
         figures `training_<task>_<regime>.png` (loss) and `tau_syn_<task>.png` (mean τ^s, \
         τ^s optimized).\n"
    );
    s
}

/// The table of network-mean timescales per τ regime, measured and
/// published, and whether DMS > Go-NoGo was reproduced.
fn comparison_section(comparisons: &[RegimeComparison]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "## Network-mean timescales: DMS vs Go-NoGo\n");
    let _ = writeln!(
        s,
        "| τ^s | DMS, measured (ms) | Go-NoGo, measured (ms) | t-test | DMS, published | Go-NoGo, published |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for c in comparisons {
        let ((dm, ds), (gm, gs)) = published(c.regime);
        let t = c.t.map_or("–".into(), |t| {
            format!(
                "t({:.0}) = {:.2}, p = {}",
                t.df,
                t.statistic,
                fmt_p(t.p_value)
            )
        });
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {dm} ± {ds} | {gm} ± {gs} |",
            c.regime.name(),
            mean_sd(c.network_means_ms(KimTask::Dms)),
            mean_sd(c.network_means_ms(KimTask::GoNogo)),
            t
        );
    }
    let _ = writeln!(
        s,
        "\nPublished (Kim & Sejnowski 2019, NeurIPS workshop; 40 networks per condition, Student \
         t-test P < 0.0001 in both regimes): DMS networks have longer intrinsic timescales than \
         Go-NoGo networks. Measured here:"
    );
    for c in comparisons {
        let _ = writeln!(s, "- {} τ^s: {}.", c.regime.name(), verdict(c));
    }
    let _ = writeln!(
        s,
        "\nFigures: `timescale_histogram_<task>_<regime>.png` (unit timescales, Fig. 4A), \
         `network_timescales_<regime>.png` (network means, Fig. 4B), `example_raster.png` \
         (spontaneous spikes of an example network; spikes in `example_spikes.csv`).\n"
    );
    s
}

/// Whether one regime's network means order DMS > Go-NoGo.
fn verdict(c: &RegimeComparison) -> String {
    let (dm, gm) = (
        mean_median(c.network_means_ms(KimTask::Dms)).0,
        mean_median(c.network_means_ms(KimTask::GoNogo)).0,
    );
    if !(dm.is_finite() && gm.is_finite()) {
        "not measurable (a task has no kept network with fitted units)".to_string()
    } else if dm > gm {
        format!(
            "DMS > Go-NoGo by {:.1} ms{}",
            dm - gm,
            c.t.map_or(String::new(), |t| format!(" (p = {})", fmt_p(t.p_value)))
        )
    } else {
        format!(
            "DMS ≤ Go-NoGo ({:.1} vs {:.1} ms): the published ordering is **not** reproduced at this scale",
            dm, gm
        )
    }
}

/// The long-delay timeline and the cross-temporal discriminability of
/// long- vs short-timescale DMS units.
fn discrim_section(
    cfg: &KimSejnowskiConfig,
    stats: &BTreeMap<String, f64>,
    discrim: Option<&DiscrimResult>,
) -> String {
    let g = |k: &str| stat(stats, k);
    let mut s = String::new();
    let _ = writeln!(s, "## Cross-temporal discriminability (DMS)\n");
    let _ = writeln!(
        s,
        "The analysis runs the DMS networks on a long-delay timeline ({} ms fixation, {} ms delay; \
         the paper's text states a 750-ms delay) while they were trained on a {} ms delay. \
         On that timeline the kept DMS networks score {:.3} (rate) and {:.3} (LIF) accuracy, \
         against {:.3} and {:.3} on their own timeline (all networks).\n",
        cfg.discriminability.fixation_ms,
        cfg.discriminability.delay_ms,
        cfg.dms.delay_ms,
        g("mean_rate_accuracy_long_delay_dms"),
        g("mean_lif_accuracy_long_delay_dms"),
        g("mean_rate_accuracy"),
        g("mean_lif_accuracy"),
    );
    match discrim {
        Some(d) => {
            let _ = writeln!(
                s,
                "{} DMS networks; {} long-τ units (τ > {:.1} ms) and {} short-τ units (τ < {:.1} ms). \
                 Mean Fisher z over the delay × delay block: long {:.3}, short {:.3}. \
                 Clusters of z(long) − z(short) > {} with permutation p ≤ {}: {} \
                 (smallest p of a long > short cluster: {:.3}; {} permutations). \
                 Published (Fig. 3): stronger cue-specific discriminability across the delay in the \
                 long-τ group. Maps: `discriminability_{{long,short,long_minus_short}}.png`.\n",
                d.n_networks,
                d.n_long,
                d.long_threshold_ms,
                d.n_short,
                d.short_threshold_ms,
                d.mean_z_delay_long,
                d.mean_z_delay_short,
                cfg.discriminability.cluster_threshold,
                cfg.discriminability.alpha,
                g("discrim_n_significant_long_clusters"),
                g("discrim_min_cluster_p_long"),
                cfg.discriminability.permutations,
            );
        }
        None => {
            let _ = writeln!(
                s,
                "Not run: disabled, or too few kept DMS networks / long and short units.\n"
            );
        }
    }
    s
}

/// Every statistic of `summary.toml`, by name.
fn all_statistics(stats: &BTreeMap<String, f64>) -> String {
    let mut s = String::from("## All statistics\n\n| statistic | value |\n|---|---|\n");
    for (k, v) in stats {
        let _ = writeln!(s, "| {k} | {v:.6} |");
    }
    s
}

/// A p-value for text: 3 decimals, or scientific notation below 0.001.
pub fn fmt_p(p: f64) -> String {
    if p < 1e-3 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}
