//! `REPORT.md` of the Federer & Zylberberg reproduction (each experiment's
//! numbers beside the paper's claim and the authors' stored results) and its
//! CSV tables: per experiment `curves.csv`, `end_ratios.csv` and the
//! recorded units' rates of Fig. 2A/D.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Result, anyhow};
use serde::Serialize;

use crate::federer_zylberberg::compute::{ExperimentResult, Outcome, Series, UnitRates};
use crate::federer_zylberberg::config::{Experiment, FedererZylberbergConfig, Kind};
use crate::federer_zylberberg::figures;
use crate::federer_zylberberg::measures::{
    KEEPS_S_HAT, end_spread, probe_sample, sweep_correlations,
};
use crate::io::{write_atomic, write_csv};
use crate::regress::Summary;

/// Notes on choices the paper leaves open, printed once.
const NOTES: &str = "\
## How this reproduction differs from the original code

- **Independent networks.** The authors' harness (`qm.py` in
  github.com/cfederer/SOMN) ran its \"10 random initialisations\" as 4 distinct
  networks repeated 3, 3, 2, 2 times, and took the SEM over all 10 rows. Here
  every network has its own seed
  (`derive_seed(derive_seed(seed, hash(experiment)), k)`), so our SEMs are
  honest and, for the same number of rows, larger. Network k of one experiment
  is the same draw in every condition (paired, as Fig. 2's plastic and constant
  networks).
- **Initial networks are drawn as in the paper** (Methods: a(0) ~ N(0, 1),
  d = |N(0, 1)|, L_ij ~ N(0, g²/N) with no self-connections), and from the
  same distribution as the original code's: over 5000 seeds each at N = 100
  (2000 at N = 400) the moments of a(0), d and L, ‖L‖_F, ŝ(0) = dᵀ relu(a(0))
  (wm 31.72 ± 6.33 s.d., original 31.85 ± 6.33, closed form N/π ± √(N (1/2 − 1/π²))
  = 31.83 ± 6.31) and the eigenvalue spectra of L (300 each: spectral radius
  1.041 ± 0.038 vs 1.045 ± 0.038) agree (two-sample KS p ≥ 0.12 for every
  statistic). The plastic ŝ(3 s)/ŝ(0) of the original code over 148
  independent seeds is 0.99660 ± 0.00184 (s.d.; 16 below 0.995), wm's over
  1000 seeds 0.99648 ± 0.00192 (152 below 0.995): Levene p = 0.35, KS p = 0.72.
  The narrower 0.99695 ± 0.00101 (none of 30 below 0.995) is the original
  code's seeds 0–29, a sample that narrow arising in 1 of ~125 draws of 30.
- **FEVER is simulated** (linear units, L = d dᵀ/(dᵀd)); the paper's Fig. 2B/C
  drew a line of ones.
- **Synaptic noise of Fig. 3A** is additive, independent per synapse and step,
  σ = 1e-5 (the paper's value, Sec. 3.2); no version of the original code read
  its `noise_sd`.
  The update noise of Fig. 3B is the code's: ΔL ← ΔL (1 + α ξ), one ξ per step.
- **Learning rate** follows the code: ΔL = 2η e qᵢ f′ᵢ r_j per 0.02-ms step with
  η = 1e-4 (the paper's η = 2e-4); for N ≠ 100 it is scaled as η (100/N)²
  (our choice; the paper, Sec. 4, says only that η falls as N grows), which
  keeps the per-step error reduction fixed.
- **Delayed feedback** (Fig. A2) uses e = −1 until the first error arrives,
  which potentiates active→active synapses (the code's sign; the paper calls
  this phase anti-Hebbian), η = 1e-6 and 5 delayed pre-training sessions.
- **LIF** (Fig. A4) uses the paper's orientation of the rule,
  ΔL_EE[i←j] = −2η Δŝ dᵢ r_j with ReLU clipping; η is a parameter (the code's
  η = 1000 drives the E population to fire every step), see the config.
- **Rule gain κ.** One update at fixed activity maps the read-out errors
  e ← (I − M) e, M_kl = 2η Σᵢ d_ik f′ᵢ q_il Σ_{j≠i} r_j² (exact for the analytic
  rule; `RateNetwork::rule_matrix`). Its largest eigenvalue κ is ≈ 0.5 for one
  read-out at N = 100; a discrete gradient step overshoots where κ > 2. With K
  read-outs sharing one a(0) (Fig. 7) the common mode of the K errors has
  κ ≈ 1–2.5 (D ≥ 0 makes the read-outs correlated), so some independently drawn
  networks start above 2 and lose part of ŝ before the activity settles; the
  original's four distinct networks happened not to. With the shared update
  noise of Fig. 3B a step's gain is κ (1 + α ξ): at α = 10 it lies outside
  (0, 2) on most steps (ξ < −0.1 reverses the rule), which is why the network
  forgets, except where the activity reaches a fixed point first (then e = 0
  and the noise multiplies nothing).
";

/// A published value that is the mean of only a few distinct networks,
/// beside the spread the original code gives over independent seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OriginalSpread {
    /// Experiment name.
    pub experiment: &'static str,
    /// Condition (curve) name.
    pub condition: &'static str,
    /// Distinct networks behind the published mean.
    pub published_networks: usize,
    /// Independent seeds the original code was run with.
    pub networks: usize,
    /// Mean ŝ(3 s)/ŝ(0) over them.
    pub mean: f64,
    /// Its standard deviation over networks (ddof 1).
    pub sd: f64,
    /// Networks that keep ŝ (ŝ(3 s)/ŝ(0) ≥ [`KEEPS_S_HAT`]).
    pub kept: usize,
    /// Earlier wm measurements of the same curve, quoted as they are.
    pub earlier_wm: &'static str,
}

/// Fig. 5A at 1 % connection probability: the published 0 is the mean of the
/// authors' stored runs, which hold only four distinct networks (their
/// harness reused one seed per worker process); the authors' code run over
/// 30 independent seeds gives 0.076 ± 0.199 (s.d.), 5 of 30 keeping ŝ.
pub const ORIGINAL_SPREADS: &[OriginalSpread] = &[OriginalSpread {
    experiment: "fig5",
    condition: "p_0.01",
    published_networks: 4,
    networks: 30,
    mean: 0.076,
    sd: 0.199,
    kept: 5,
    earlier_wm: "wm over seeds 0–29 gave 0.139 ± 0.269 (7 of 30 keep ŝ), over seeds 0–199 \
                 0.101 ± 0.233 (38 of 200; `fz_initial_draws 1 100 0 OUT 200 0.01`)",
}];

/// The original code's spread for this curve, if the published value needs one.
pub fn original_spread(experiment: &str, condition: &str) -> Option<&'static OriginalSpread> {
    ORIGINAL_SPREADS
        .iter()
        .find(|o| o.experiment == experiment && o.condition == condition)
}

/// The paragraph comparing a curve with the published value and the
/// original code's seed-to-seed spread (Welch's t of the two means).
fn original_spread_lines(exp: &Experiment, ser: &Series, o: &OriginalSpread) -> String {
    let sp = end_spread(ser);
    let (mean, sd, kept, n) = (sp.mean, sp.sd, sp.kept, sp.n);
    let published = published(exp, ser);
    let se = (sd * sd / n as f64 + o.sd * o.sd / o.networks as f64).sqrt();
    let t = (mean - o.mean) / se;
    let verdict = if t.abs() < 2.0 {
        "within the original code's seed-to-seed spread, so not a deviation"
    } else {
        "outside the original code's seed-to-seed spread"
    };
    format!(
        "**{label}: published {published} from only {pn} distinct networks.** The \
         original code run over {on} independent seeds gives {om:.3} ± {osd:.3} \
         (mean ± s.d.; {ok} of {on} networks keep ŝ); wm here gives {mean:.3} ± {sd:.3} \
         over {n} networks ({kept} of {n} keep ŝ, ŝ(end)/ŝ(0) ≥ {KEEPS_S_HAT}); {earlier}. \
         Welch's t of wm's mean here against the original code's: {t:.2}, {verdict}.\n\n",
        label = ser.label,
        pn = o.published_networks,
        on = o.networks,
        om = o.mean,
        osd = o.sd,
        ok = o.kept,
        earlier = o.earlier_wm,
    )
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.2e}")
    } else {
        format!("{v:.5}")
    }
}

/// The published ŝ(3 s)/ŝ(0) of a curve, formatted, or "–".
fn published(exp: &Experiment, ser: &Series) -> String {
    exp.published
        .get(&ser.name)
        .map_or_else(|| "–".to_string(), |v| fmt(*v))
}

/// Render `REPORT.md` from the finished experiments.
pub fn report_markdown(
    cfg: &FedererZylberbergConfig,
    outcome: &Outcome,
    summary: &Summary,
) -> String {
    let mut s = format!(
        "# Federer & Zylberberg — a self-organizing short-term dynamical memory network\n\n\
         Reproduction at scale **{}**, master seed {}. Every number is the memory \
         measure of the paper, the read-out relative to its initial value ŝ(t)/ŝ(0) \
         (1 = perfect memory), as mean ± SEM (ddof 1) over independent networks. \
         \"Published\" values are the means at 3 s of the authors' stored results \
         (`storing/*.csv` in github.com/cfederer/SOMN); ours are at the end of our \
         run, which is shorter than 3 s at the smoke and quick scales, so compare \
         signs and orders of magnitude there, and numbers at the paper scale.\n\n",
        summary.scale, cfg.seed
    );
    s.push_str("| experiment | figure | curves | networks | simulated | wall time |\n");
    s.push_str("|---|---|---|---|---|---|\n");
    for res in &outcome.experiments {
        let exp = &res.experiment;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.0} ms | {:.1} s |",
            exp.name,
            exp.figure,
            res.series.len(),
            res.seeds.len(),
            exp.duration(cfg),
            res.seconds
        );
    }
    s.push('\n');
    for res in &outcome.experiments {
        s.push_str(&experiment_section(cfg, res));
    }
    s.push_str(NOTES);
    s
}

/// The rule gain κ at t = 0 of an experiment's plastic rate networks: its
/// range, and for each condition where some networks start above 2 (one
/// update overshoots), which ones and how they end against the others.
fn rule_gain_lines(res: &ExperimentResult) -> String {
    let gains: Vec<f64> = res
        .series
        .iter()
        .flat_map(|x| x.rule_gains.iter().copied())
        .filter(|g| g.is_finite())
        .collect();
    if gains.is_empty() {
        return String::new();
    }
    let lo = gains.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = gains.iter().copied().fold(0.0, f64::max);
    if hi <= 2.0 {
        return format!(
            "Rule gain at t = 0: κ = {lo:.2}–{hi:.2}, below 2 in every plastic network.\n\n"
        );
    }
    let mut s =
        format!("Rule gain at t = 0: κ = {lo:.2}–{hi:.2}; one update overshoots where κ > 2:\n\n");
    let mut seen = Vec::new();
    for ser in &res.series {
        let over = ser.overshooting();
        if over.is_empty() || seen.contains(&ser.condition) {
            continue;
        }
        seen.push(ser.condition);
        let (a, b) = end_range(res, ser.condition, &|k| over.contains(&k));
        let (rest, _) = end_range(res, ser.condition, &|k| !over.contains(&k));
        let which: Vec<String> = over
            .iter()
            .map(|&k| format!("{k} (κ = {:.2})", ser.rule_gains[k]))
            .collect();
        let label = ser.label.split(" (").next().unwrap_or(&ser.label);
        let _ = writeln!(
            s,
            "- {label}: {} of {} networks — {} — end at {}–{} of ŝ(0); the others at ≥ {}.",
            over.len(),
            ser.rule_gains.len(),
            which.join(", "),
            fmt(a),
            fmt(b),
            fmt(rest)
        );
    }
    s.push('\n');
    s
}

/// Smallest and largest end ratio, over every curve of `condition`, of the
/// networks `pick` selects.
fn end_range(res: &ExperimentResult, condition: usize, pick: &dyn Fn(usize) -> bool) -> (f64, f64) {
    let v: Vec<f64> = res
        .series
        .iter()
        .filter(|x| x.condition == condition)
        .flat_map(|x| {
            x.curves
                .iter()
                .enumerate()
                .filter(|(k, _)| pick(*k))
                .filter_map(|(_, c)| c.last().copied())
        })
        .collect();
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    (min, v.iter().copied().fold(f64::NEG_INFINITY, f64::max))
}

/// An experiment's section: claim, what was simulated, the curves against
/// the published values, the original code's spreads, rule gains, sweep
/// correlations and figures.
fn experiment_section(cfg: &FedererZylberbergConfig, res: &ExperimentResult) -> String {
    let exp = &res.experiment;
    let mut s = format!("## {} — `{}`\n\n", exp.figure, exp.name);
    if !exp.claim.is_empty() {
        let _ = writeln!(s, "**Published claim.** {}\n", exp.claim.trim());
    }
    let what = match exp.kind {
        Kind::Rate => "rate network".to_string(),
        Kind::Lif => "LIF E/I network".to_string(),
        Kind::Pretrain => format!(
            "rate network pre-trained in sessions of {:.0} ms, then tested plastic and frozen",
            exp.session(cfg)
        ),
    };
    let _ = writeln!(
        s,
        "Simulated: {what}; {} condition(s) × {} networks, {:.0} ms each (last sample at {:.0} ms).\n",
        exp.conditions.len(),
        res.seeds.len(),
        exp.duration(cfg),
        end_ms(res)
    );
    s.push_str(&curve_table(cfg, res));
    s.push_str(&largest_difference(res));
    for ser in &res.series {
        if let Some(o) = original_spread(&exp.name, &ser.name) {
            s.push_str(&original_spread_lines(exp, ser, o));
        }
    }
    s.push_str(&rule_gain_lines(res));
    s.push_str(&correlation_lines(res));
    for f in figures::files(res) {
        let _ = writeln!(s, "![{f}]({f})\n");
    }
    let _ = writeln!(
        s,
        "Curves: `{}/curves.csv`; each network's end ratio: `{}/end_ratios.csv`.\n",
        exp.name, exp.name
    );
    s
}

/// Time of an experiment's last sample, ms.
fn end_ms(res: &ExperimentResult) -> f64 {
    res.times_ms.last().copied().unwrap_or(0.0)
}

/// One row per curve: ratio at `probe_ms` (if simulated), end ratio ± SEM,
/// largest deviation from 1 and the published value.
fn curve_table(cfg: &FedererZylberbergConfig, res: &ExperimentResult) -> String {
    let probe = probe_sample(cfg, res);
    let has_probe = probe < res.times_ms.len();
    let mut s = format!(
        "| curve | {}ŝ(end)/ŝ(0) mean ± SEM | max \\|ŝ/ŝ(0) − 1\\| | published ŝ(3 s)/ŝ(0) |\n",
        if has_probe {
            format!("ŝ({:.0} ms)/ŝ(0) | ", cfg.probe_ms)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        s,
        "|---|{}---|---|---|",
        if has_probe { "---|" } else { "" }
    );
    for ser in &res.series {
        let probe_cell = if has_probe {
            format!("{} | ", fmt(ser.stats.mean[probe]))
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "| {} | {probe_cell}{} ± {} | {} | {} |",
            ser.label,
            fmt(ser.end()),
            fmt(ser.end_sem()),
            fmt(ser.max_abs_dev()),
            published(&res.experiment, ser),
        );
    }
    s.push('\n');
    s
}

/// The curve furthest from its published 3-s value, not counting curves
/// whose published value rests on a few networks ([`ORIGINAL_SPREADS`]).
fn largest_difference(res: &ExperimentResult) -> String {
    let exp = &res.experiment;
    let spread = |ser: &&Series| original_spread(&exp.name, &ser.name).is_some();
    let worst = res
        .series
        .iter()
        .filter(|ser| !spread(ser))
        .filter_map(|ser| Some((ser, (ser.end() - exp.published.get(&ser.name)?).abs())))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((ser, diff)) = worst else {
        return String::new();
    };
    let except: Vec<&str> = res
        .series
        .iter()
        .filter(spread)
        .map(|x| x.label.as_str())
        .collect();
    format!(
        "Largest difference from the published 3-s values: {} ({}; ours at {:.0} ms){}.\n\n",
        fmt(diff),
        ser.label,
        end_ms(res),
        if except.is_empty() {
            String::new()
        } else {
            format!(
                "; not counting {}, whose published value rests on a few networks (below)",
                except.join(", ")
            )
        }
    )
}

/// Pearson's r of the swept value with the end ratio, per sweep.
fn correlation_lines(res: &ExperimentResult) -> String {
    let exp = &res.experiment;
    let x_label = if exp.x_label.is_empty() {
        "x"
    } else {
        &exp.x_label
    };
    sweep_correlations(res)
        .iter()
        .map(|c| {
            format!(
                "Correlation of {x_label} with the end ratio{}: r = {:.3} (n = {} conditions).\n\n",
                if c.suffix.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", c.suffix.trim_start_matches('_'))
                },
                c.r,
                c.n
            )
        })
        .collect()
}

/// One row of `end_ratios.csv`.
#[derive(Debug, Clone, Serialize)]
struct EndRow<'a> {
    experiment: &'a str,
    curve: &'a str,
    network: usize,
    seed: u64,
    ratio_end: f64,
    rule_gain_0: f64,
}

/// Write every experiment's tables under `<out>/<experiment>/`:
/// `curves.csv` (time, then mean and SEM per curve), `end_ratios.csv` (each
/// network's final ratio and rule gain) and, per recorded condition,
/// `<condition>_rates.csv` (time, ŝ, one column per unit).
pub fn write_tables(outcome: &Outcome, out: &Path) -> Result<()> {
    for res in &outcome.experiments {
        let dir = out.join(&res.experiment.name);
        write_atomic(&dir.join("curves.csv"), &curves_csv(res)?)?;
        write_csv(&dir.join("end_ratios.csv"), &end_rows(res))?;
        for u in &res.unit_rates {
            let name = &res.experiment.conditions[u.condition].name;
            write_atomic(&dir.join(format!("{name}_rates.csv")), &rates_csv(u)?)?;
        }
    }
    Ok(())
}

/// `curves.csv`: time, then mean and SEM of every curve.
fn curves_csv(res: &ExperimentResult) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["time_ms".to_string()];
    for s in &res.series {
        header.push(format!("{}_mean", s.name));
        header.push(format!("{}_sem", s.name));
    }
    w.write_record(&header)?;
    for (m, t) in res.times_ms.iter().enumerate() {
        let mut row = vec![format!("{t}")];
        for s in &res.series {
            row.push(format!("{}", s.stats.mean[m]));
            row.push(format!("{}", s.stats.sem[m]));
        }
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| anyhow!("csv buffer: {e}"))
}

/// The rows of `end_ratios.csv`: every curve's networks.
fn end_rows(res: &ExperimentResult) -> Vec<EndRow<'_>> {
    res.series
        .iter()
        .flat_map(|s| {
            s.curves.iter().enumerate().map(|(k, c)| EndRow {
                experiment: &res.experiment.name,
                curve: &s.name,
                network: k,
                seed: res.seeds[k],
                ratio_end: c.last().copied().unwrap_or(f64::NAN),
                rule_gain_0: s.rule_gains[k],
            })
        })
        .collect()
}

/// `<condition>_rates.csv`: time, ŝ and the recorded units' rates.
fn rates_csv(u: &UnitRates) -> Result<Vec<u8>> {
    let trace = &u.trace;
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["time_ms".to_string(), "s_hat".to_string()];
    header.extend(trace.units.iter().map(|unit| format!("rate_unit_{unit}")));
    w.write_record(&header)?;
    for (m, t) in trace.times_ms().iter().enumerate() {
        let mut row = vec![format!("{t}"), format!("{}", trace.s_hat[0][m])];
        row.extend(trace.rates[m].iter().map(|r| format!("{r}")));
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| anyhow!("csv buffer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wm_plasticity::ensemble::mean_sem;

    fn series(name: &str, ends: &[f64]) -> Series {
        let curves: Vec<Vec<f64>> = ends.iter().map(|&e| vec![1.0, e]).collect();
        Series {
            name: name.into(),
            label: "1 % connected".into(),
            condition: 0,
            x: Some(0.01),
            stats: mean_sem(&curves),
            rule_gains: vec![f64::NAN; ends.len()],
            curves,
        }
    }

    #[test]
    fn fig5_at_one_percent_is_compared_with_the_original_codes_spread() {
        let o = original_spread("fig5", "p_0.01").expect("Fig. 5 at 1 % has the original's spread");
        assert_eq!((o.networks, o.kept, o.published_networks), (30, 5, 4));
        assert!(original_spread("fig5", "p_0.1").is_none());
        assert!(original_spread("fig2", "p_0.01").is_none());
        let exp: Experiment = toml::from_str(
            "name = \"fig5\"\nfigure = \"Fig. 5A/B\"\npublished = { \"p_0.01\" = 0.0 }\n\
             [[condition]]\nname = \"p_0.01\"\nlabel = \"1 % connected\"\n",
        )
        .unwrap();
        // wm mean 0.3, s.d. √0.18 over 4: Welch t = (0.3 − 0.076)/√(0.18/4 + 0.199²/30) = 1.04.
        let s = original_spread_lines(&exp, &series("p_0.01", &[0.0, 0.0, 0.3, 0.9]), o);
        assert!(
            s.contains("published 0.00000 from only 4 distinct networks"),
            "{s}"
        );
        assert!(
            s.contains("0.076 ± 0.199 (mean ± s.d.; 5 of 30 networks keep ŝ)"),
            "{s}"
        );
        assert!(
            s.contains("0.300 ± 0.424 over 4 networks (2 of 4 keep ŝ"),
            "{s}"
        );
        assert!(s.contains("0.139 ± 0.269 (7 of 30 keep ŝ)"), "{s}");
        assert!(s.contains("0.101 ± 0.233 (38 of 200"), "{s}");
        assert!(s.contains("original code's: 1.04, within"), "{s}");
        // Far above the original's spread: reported as outside it.
        let s = original_spread_lines(&exp, &series("p_0.01", &[0.9, 0.95, 1.0, 0.97]), o);
        assert!(
            s.contains("outside the original code's seed-to-seed spread"),
            "{s}"
        );
    }
}
