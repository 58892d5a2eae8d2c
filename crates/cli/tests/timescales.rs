//! `wm analyze timescales` with `--ci`, `--bias-correct` and
//! `--two-timescales`: the default columns do not move, the new columns are
//! filled and consistent, and bad values are refused in one line.

use std::path::Path;
use std::process::{Command, Output};

use wm_analysis::timescale::{OuPoissonModel, seeded_rng};

/// `wm analyze timescales spikes.csv <args>` in `dir`.
fn timescales(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wm"))
        .current_dir(dir)
        .args(["analyze", "timescales", "spikes.csv"])
        .args(args)
        .output()
        .expect("wm runs")
}

/// A spike CSV of `units` units × 60 trials × 20 bins of 50 ms: Poisson
/// counts with an Ornstein–Uhlenbeck rate (τ = 150 ms), each count's spikes
/// spread evenly inside its bin.
fn spike_csv(dir: &Path, units: usize) {
    let (trials, bins) = (60, 20);
    let model = OuPoissonModel::from_correlation(150.0, 50.0, 1.0, 0.25, 0.0).unwrap();
    let mut rng = seeded_rng(3);
    let mut text = String::from("unit,trial,time_ms\n");
    for u in 0..units {
        let counts = model.sample(trials, bins, &mut rng);
        for t in 0..trials {
            for b in 0..bins {
                let n = counts[t * bins + b] as usize;
                for j in 0..n {
                    let time = 50.0 * b as f64 + 50.0 * (j as f64 + 0.5) / n as f64;
                    text += &format!("{u},{t},{time}\n");
                }
            }
        }
    }
    std::fs::write(dir.join("spikes.csv"), text).unwrap();
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn new_columns_leave_the_default_ones_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    spike_csv(dir.path(), 6);
    let base = timescales(dir.path(), &["--stop-ms", "1000", "--out", "tau.csv"]);
    assert!(base.status.success(), "{base:?}");
    let ext = timescales(
        dir.path(),
        &[
            "--stop-ms",
            "1000",
            "--ci",
            "0.95",
            "--bias-correct",
            "--two-timescales",
            "--out",
            "ext.csv",
        ],
    );
    assert!(ext.status.success(), "{ext:?}");
    let stdout = String::from_utf8_lossy(&ext.stdout);
    assert!(stdout.contains("95 % CI"), "{stdout}");
    // The pooled τ, with its interval, in ms.
    let pooled = stdout
        .lines()
        .find(|l| l.starts_with("pooled τ (mean autocorrelation of 6 units): "))
        .unwrap_or_else(|| panic!("no pooled line: {stdout}"));
    let ms: Vec<f64> = pooled
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.parse().ok())
        .collect();
    // [6, tau, 95, low, high]
    assert_eq!(ms.len(), 5, "{pooled}");
    assert!(ms[3] <= ms[1] && ms[1] <= ms[4] && ms[3] > 0.0, "{pooled}");
    let (h0, rows0) = read_csv(&dir.path().join("tau.csv"));
    let (h1, rows1) = read_csv(&dir.path().join("ext.csv"));
    assert_eq!(h0.len(), 7);
    assert_eq!(h1[..7], h0[..]);
    assert_eq!(
        h1[7..],
        [
            "tau_ci_low_ms",
            "tau_ci_high_ms",
            "tau_corrected_ms",
            "tau1_ms",
            "tau2_ms",
            "model"
        ]
    );
    assert_eq!(rows0.len(), 6);
    for (r0, r1) in rows0.iter().zip(&rows1) {
        // The default analysis is the same, digit for digit.
        assert_eq!(r1[..7], r0[..]);
        let num = |i: usize| r1[i].parse::<f64>().ok();
        let corrected = num(9).expect("every unit corrected");
        let (lo, hi) = (num(7).unwrap(), num(8).unwrap());
        assert!(lo > 0.0 && lo < hi, "{r1:?}");
        assert!(corrected > 0.0 && corrected <= 2000.0, "{r1:?}");
        assert!(r1[12] == "one" || r1[12] == "two", "{r1:?}");
        if let (Some(t1), Some(t2)) = (num(10), num(11)) {
            assert!(t1 < t2, "{r1:?}");
        }
    }
}

#[test]
fn bad_flag_values_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    spike_csv(dir.path(), 1);
    for (args, field) in [
        (vec!["--ci", "1.5"], "--ci"),
        (vec!["--ci", "0"], "--ci"),
        (vec!["--ci=-0.5"], "--ci"),
        (vec!["--ci", "NaN"], "--ci"),
        (vec!["--resamples", "5"], "--resamples"),
        (vec!["--seed=-1"], "--seed"),
    ] {
        let o = timescales(dir.path(), &args);
        // Values clap cannot parse exit 2 with its usage; range errors exit 1.
        let code = if field == "--seed" { 2 } else { 1 };
        assert_eq!(o.status.code(), Some(code), "{args:?}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(field), "{args:?}: {err}");
        if field != "--seed" {
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        }
    }
}

#[test]
fn units_without_an_autocorrelation_are_reported_not_averaged() {
    // Three trials with one spike each: all but the first bin are empty in
    // every trial, so the across-trial correlations are undefined and no
    // unit has an autocorrelation, a τ or a mean (not "-0.0 ms" or "NaN").
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spikes.csv"),
        "unit,trial,time_ms\n0,0,10\n0,1,20\n1,2,30\n",
    )
    .unwrap();
    let o = timescales(
        dir.path(),
        &["--stop-ms", "1000", "--ci", "0.9", "--bias-correct"],
    );
    assert!(o.status.success(), "{o:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("0 fitted, no mean τ"), "{stdout}");
    assert!(stdout.contains("corrected τ: no unit\n"), "{stdout}");
    assert!(
        stdout.contains("pooled τ: no unit with a finite autocorrelation"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("NaN") && !stdout.contains("-0.0"),
        "{stdout}"
    );
}
