//! `REPORT.md` of the Federer & Zylberberg reproduction: each experiment's
//! numbers beside the paper's claim and the authors' stored results.

use std::fmt::Write as _;

use crate::federer_zylberberg::config::{Experiment, FedererZylbergConfig, Kind};
use crate::federer_zylberberg::run::{ExperimentResult, Series, sweeps};

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

/// A network "keeps ŝ" when ŝ(end)/ŝ(0) is at least this (a lost ŝ decays to 0).
pub const KEEPS_S_HAT: f64 = 0.01;

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

/// Mean, s.d. (ddof 1) and number of networks keeping ŝ of a curve's end ratios.
pub fn end_spread(ser: &Series) -> (f64, f64, usize, usize) {
    let ends: Vec<f64> = ser
        .curves
        .iter()
        .filter_map(|c| c.last().copied())
        .collect();
    let n = ends.len();
    let mean = ends.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (ends.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let kept = ends.iter().filter(|&&v| v >= KEEPS_S_HAT).count();
    (mean, sd, kept, n)
}

/// The paragraph comparing a curve with the published value and the
/// original code's seed-to-seed spread (Welch's t of the two means).
fn original_spread_lines(s: &mut String, exp: &Experiment, ser: &Series, o: &OriginalSpread) {
    let (mean, sd, kept, n) = end_spread(ser);
    let published = exp
        .published
        .get(&ser.name)
        .map_or_else(|| "–".to_string(), |v| fmt(*v));
    let se = (sd * sd / n as f64 + o.sd * o.sd / o.networks as f64).sqrt();
    let t = (mean - o.mean) / se;
    let verdict = if t.abs() < 2.0 {
        "within the original code's seed-to-seed spread, so not a deviation"
    } else {
        "outside the original code's seed-to-seed spread"
    };
    let _ = writeln!(
        s,
        "**{label}: published {published} from only {pn} distinct networks.** The \
         original code run over {on} independent seeds gives {om:.3} ± {osd:.3} \
         (mean ± s.d.; {ok} of {on} networks keep ŝ); wm here gives {mean:.3} ± {sd:.3} \
         over {n} networks ({kept} of {n} keep ŝ, ŝ(end)/ŝ(0) ≥ {KEEPS_S_HAT}); {earlier}. \
         Welch's t of wm's mean here against the original code's: {t:.2}, {verdict}.\n",
        label = ser.label,
        pn = o.published_networks,
        on = o.networks,
        om = o.mean,
        osd = o.sd,
        ok = o.kept,
        earlier = o.earlier_wm,
    );
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

/// Render `REPORT.md` from the finished experiments (config, result, figure files).
pub fn report_markdown(
    cfg: &FedererZylbergConfig,
    scale: &str,
    done: &[(&Experiment, ExperimentResult, Vec<String>)],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Federer & Zylberberg — a self-organizing short-term dynamical memory network\n\n\
         Reproduction at scale **{scale}**, master seed {}. Every number is the memory \
         measure of the paper, the read-out relative to its initial value ŝ(t)/ŝ(0) \
         (1 = perfect memory), as mean ± SEM (ddof 1) over independent networks. \
         \"Published\" values are the means at 3 s of the authors' stored results \
         (`storing/*.csv` in github.com/cfederer/SOMN); ours are at the end of our \
         run, which is shorter than 3 s at the smoke and quick scales, so compare \
         signs and orders of magnitude there, and numbers at the paper scale.\n",
        cfg.seed
    );
    let _ = writeln!(
        s,
        "| experiment | figure | curves | networks | simulated | wall time |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for (exp, res, _) in done {
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
    for (exp, res, figures) in done {
        experiment_section(&mut s, cfg, exp, res, figures);
    }
    s.push_str(NOTES);
    s
}

/// The rule gain κ at t = 0 of an experiment's plastic rate networks: its
/// range, and for each condition where some networks start above 2 (one
/// update overshoots), which ones and how they end against the others.
fn rule_gain_lines(s: &mut String, res: &ExperimentResult) {
    let gains: Vec<f64> = res
        .series
        .iter()
        .flat_map(|x| x.rule_gains.iter().copied())
        .filter(|g| g.is_finite())
        .collect();
    if gains.is_empty() {
        return;
    }
    let lo = gains.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = gains.iter().copied().fold(0.0, f64::max);
    if hi <= 2.0 {
        let _ = writeln!(
            s,
            "Rule gain at t = 0: κ = {lo:.2}–{hi:.2}, below 2 in every plastic network.\n"
        );
        return;
    }
    let _ = writeln!(
        s,
        "Rule gain at t = 0: κ = {lo:.2}–{hi:.2}; one update overshoots where κ > 2:\n"
    );
    let mut seen = Vec::new();
    for ser in &res.series {
        let over = ser.overshooting();
        if over.is_empty() || seen.contains(&ser.condition) {
            continue;
        }
        seen.push(ser.condition);
        let ends = |pick: &dyn Fn(usize) -> bool| {
            let v: Vec<f64> = res
                .series
                .iter()
                .filter(|x| x.condition == ser.condition)
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
        };
        let (a, b) = ends(&|k| over.contains(&k));
        let (rest, _) = ends(&|k| !over.contains(&k));
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
}

fn experiment_section(
    s: &mut String,
    cfg: &FedererZylbergConfig,
    exp: &Experiment,
    res: &ExperimentResult,
    figures: &[String],
) {
    let _ = writeln!(s, "## {} — `{}`\n", exp.figure, exp.name);
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
    let end_ms = res.times_ms.last().copied().unwrap_or(0.0);
    let _ = writeln!(
        s,
        "Simulated: {what}; {} condition(s) × {} networks, {:.0} ms each (last sample at {end_ms:.0} ms).\n",
        exp.conditions.len(),
        res.seeds.len(),
        exp.duration(cfg)
    );
    let dt = res.times_ms.get(1).copied().unwrap_or(1.0) - res.times_ms[0];
    let probe = (cfg.probe_ms / dt).round() as usize;
    let has_probe = probe < res.times_ms.len();
    let _ = writeln!(
        s,
        "| curve | {}ŝ(end)/ŝ(0) mean ± SEM | max \\|ŝ/ŝ(0) − 1\\| | published ŝ(3 s)/ŝ(0) |",
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
        let published = exp
            .published
            .get(&ser.name)
            .map_or_else(|| "–".to_string(), |v| fmt(*v));
        let _ = writeln!(
            s,
            "| {} | {probe_cell}{} ± {} | {} | {published} |",
            ser.label,
            fmt(ser.end()),
            fmt(ser.end_sem()),
            fmt(ser.max_abs_dev()),
        );
    }
    s.push('\n');
    let spreads: Vec<(&Series, &OriginalSpread)> = res
        .series
        .iter()
        .filter_map(|ser| Some((ser, original_spread(&exp.name, &ser.name)?)))
        .collect();
    let worst = res
        .series
        .iter()
        .filter(|ser| original_spread(&exp.name, &ser.name).is_none())
        .filter_map(|ser| Some((ser, (ser.end() - exp.published.get(&ser.name)?).abs())))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((ser, diff)) = worst {
        let except: Vec<&str> = spreads.iter().map(|(x, _)| x.label.as_str()).collect();
        let _ = writeln!(
            s,
            "Largest difference from the published 3-s values: {} ({}; ours at {end_ms:.0} ms){}.\n",
            fmt(diff),
            ser.label,
            if except.is_empty() {
                String::new()
            } else {
                format!(
                    "; not counting {}, whose published value rests on a few networks (below)",
                    except.join(", ")
                )
            }
        );
    }
    for (ser, o) in spreads {
        original_spread_lines(s, exp, ser, o);
    }
    rule_gain_lines(s, res);
    for sw in sweeps(exp, res) {
        let suffix = &sw.suffix;
        let (x, y): (Vec<f64>, Vec<f64>) = sw.points.iter().map(|p| (p.x, p.end)).unzip();
        if let Ok(c) = wm_analysis::stats::pearson(&x, &y) {
            let _ = writeln!(
                s,
                "Correlation of {} with the end ratio{}: r = {:.3} (n = {} conditions).\n",
                if exp.x_label.is_empty() {
                    "x"
                } else {
                    &exp.x_label
                },
                if suffix.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", suffix.trim_start_matches('_'))
                },
                c.r,
                c.n
            );
        }
    }
    for f in figures {
        let _ = writeln!(s, "![{f}]({f})\n");
    }
    let _ = writeln!(
        s,
        "Curves: `{}/curves.csv`; each network's end ratio: `{}/end_ratios.csv`.\n",
        exp.name, exp.name
    );
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
    fn end_spread_is_the_mean_sd_and_count_of_networks_keeping_s_hat() {
        // Ends 0, 0, 0.3, 0.9: mean 0.3, s.d. (ddof 1) = √(0.54/3) = √0.18.
        let (m, sd, kept, n) = end_spread(&series("p_0.01", &[0.0, 0.0, 0.3, 0.9]));
        assert!((m - 0.3).abs() < 1e-15);
        assert!((sd - 0.18_f64.sqrt()).abs() < 1e-15);
        assert_eq!((kept, n), (2, 4));
        // Just below the threshold is lost, at it is kept.
        let (_, _, kept, _) = end_spread(&series("p_0.01", &[KEEPS_S_HAT * 0.999, KEEPS_S_HAT]));
        assert_eq!(kept, 1);
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
        let mut s = String::new();
        original_spread_lines(&mut s, &exp, &series("p_0.01", &[0.0, 0.0, 0.3, 0.9]), o);
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
        let mut s = String::new();
        original_spread_lines(&mut s, &exp, &series("p_0.01", &[0.9, 0.95, 1.0, 0.97]), o);
        assert!(
            s.contains("outside the original code's seed-to-seed spread"),
            "{s}"
        );
    }
}
