//! Structured fuzzing of everything a user hands to wm: files the `wm`
//! command line parses and configs every study's loader reads.
//!
//! Each case is drawn from a seeded generator that keeps the outer structure
//! valid (a CSV header, a `.npy` magic and header dictionary, a safetensors
//! header, a real experiment config) so that the random part reaches the
//! parsers and validators behind it, instead of being rejected at the first
//! byte. A case passes when wm answers with success or with exit status 1
//! and exactly one line on stderr that starts `error: ` and is not the
//! panic hook's `internal error`; an exit by signal (an abort), status 101
//! or any other status is a failure. In-process config cases pass when the
//! loader returns `Ok` or `Err` without panicking.
//!
//! The same generators run with fixed seeds in CI (`crates/cli/tests/fuzz.rs`)
//! and with fresh seeds for as long as asked by `cargo xtask fuzz`.

use std::path::{Path, PathBuf};
use std::process::Command;

use rand::prelude::*;
use rand_chacha::ChaCha8Rng;

/// The outcome of a fuzzing run.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases run.
    pub cases: usize,
    /// Cases per generator, in [`GENERATORS`] order.
    pub per_kind: Vec<(&'static str, usize)>,
    /// Failing cases: the generator, the command or input, and what went wrong.
    pub failures: Vec<String>,
    /// Cases stopped after the time limit (valid but long requests), with
    /// their command lines.
    pub timeouts: Vec<String>,
}

/// The generators, by name.
pub const GENERATORS: [&str; 7] = [
    "spike-csv",
    "npy",
    "safetensors",
    "checkpoint",
    "sweep-config",
    "study-config",
    "somn-params",
];

/// Hostile numbers as TOML or CSV text.
const HOSTILE: [&str; 16] = [
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e300",
    "-1e300",
    "18446744073709551615",
    "9223372036854775807",
    "1e-320",
    "0.5",
    "3",
    "1000000000",
    "\"text\"",
    "[]",
    "{}",
];

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Longest a case may run. A valid but huge request (a simulation of 10⁹
/// steps, say) is the user's to make; such a case is stopped and counted
/// as timed out, not as a failure.
const CASE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What one case of the command line did.
enum Verdict {
    Behaved,
    TimedOut,
    Failed(String),
}

/// Run `wm` with `args` in `dir` and judge how it answered.
fn check_wm(wm: &Path, dir: &Path, args: &[String]) -> Verdict {
    use std::process::Stdio;
    let mut child = match Command::new(wm)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Verdict::Failed(format!("could not start wm: {e}")),
    };
    // Drain stderr on a thread so a chatty child never blocks on a full pipe.
    let mut pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(p) = pipe.as_mut() {
            let _ = std::io::Read::read_to_end(p, &mut text);
        }
        text
    });
    let start = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > CASE_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                return Verdict::TimedOut;
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(2)),
            Err(e) => return Verdict::Failed(format!("cannot wait for wm: {e}")),
        }
    };
    let stderr_bytes = reader.join().unwrap_or_default();
    match judge(status.code(), &String::from_utf8_lossy(&stderr_bytes)) {
        None => Verdict::Behaved,
        Some(why) => Verdict::Failed(why),
    }
}

/// `None` if an exit status and stderr are a proper answer, else why not.
fn judge(code: Option<i32>, stderr: &str) -> Option<String> {
    let stderr = strip_ansi(stderr);
    // Warnings (tracing's `WARN` lines, e.g. a damaged checkpoint set aside)
    // may precede the one error line.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains(" WARN "))
        .collect();
    match code {
        Some(0) => None,
        Some(1)
            if lines.len() == 1
                && lines[0].starts_with("error: ")
                && !lines[0].contains("internal error") =>
        {
            None
        }
        // A malformed command line (a flag value that is not a number) is
        // clap's usage error: exit 2, as the `wm` docs say.
        Some(2) if stderr.starts_with("error: ") && stderr.contains("--help") => None,
        Some(1) => Some(format!("exit 1 without a one-line error: {stderr:?}")),
        Some(c) => Some(format!("exit status {c}: {stderr:?}")),
        None => Some(format!("killed by a signal (abort?): {stderr:?}")),
    }
}

/// `text` without ANSI colour sequences (`ESC [ … letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn spike_field(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..10) {
        0..=4 => rng.random_range(0..20).to_string(),
        5 => rng.random_range(0..100_000).to_string(),
        6 => format!("{}", rng.random_range(-5.0..2000.0f64)),
        7 => pick(rng, &HOSTILE).to_string(),
        8 => pick(rng, &["", "é", "1,2", "\"3\"", " 4 "]).to_string(),
        _ => u64::MAX.to_string(),
    }
}

fn spike_csv(rng: &mut ChaCha8Rng, dir: &Path) -> Vec<String> {
    let mut cols = vec!["unit", "trial", "time_ms"];
    cols.shuffle(rng);
    if rng.random_bool(0.2) {
        cols.push("extra");
    }
    if rng.random_bool(0.05) {
        cols.remove(rng.random_range(0..cols.len()));
    }
    let mut text = cols.join(",") + "\n";
    for _ in 0..rng.random_range(0..30) {
        let row: Vec<String> = (0..cols.len()).map(|_| spike_field(rng)).collect();
        text += &row.join(",");
        text += "\n";
    }
    std::fs::write(dir.join("spikes.csv"), text).ok();
    let mut args = vec!["analyze".into(), "timescales".into(), "spikes.csv".into()];
    for flag in [
        "--bin-ms",
        "--start-ms",
        "--stop-ms",
        "--max-lag-ms",
        "--min-rate-hz",
    ] {
        if rng.random_bool(0.25) {
            let v = if rng.random_bool(0.5) {
                pick(rng, &HOSTILE).trim_matches('"').to_string()
            } else {
                format!("{}", rng.random_range(-100.0..5000.0f64))
            };
            args.push(format!("{flag}={v}"));
        }
    }
    for flag in ["--ci", "--resamples", "--seed"] {
        if rng.random_bool(0.1) {
            let v = match rng.random_range(0..3) {
                0 => pick(rng, &HOSTILE).trim_matches('"').to_string(),
                1 => format!("{}", rng.random_range(-2.0..2.0f64)),
                _ => rng.random_range(0..300).to_string(),
            };
            args.push(format!("{flag}={v}"));
        }
    }
    for flag in ["--bias-correct", "--two-timescales"] {
        if rng.random_bool(0.1) {
            args.push(flag.into());
        }
    }
    args.push("--out".into());
    args.push("tau.csv".into());
    args
}

fn shape(rng: &mut ChaCha8Rng) -> Vec<u64> {
    (0..rng.random_range(0..5))
        .map(|_| *pick(rng, &[0, 1, 2, 3, 5, 7, 1 << 20, 1 << 40, u64::MAX]))
        .collect()
}

fn npy(rng: &mut ChaCha8Rng, dir: &Path) -> Vec<String> {
    let descr = pick(
        rng,
        &[
            "<f8", "<f4", ">f8", "<i8", "|u1", "|i1", "<u2", ">i4", "|b1", "<f2", "<c16", "<U3",
            "O", "<f16", "zz",
        ],
    );
    let dims = if rng.random_bool(0.7) {
        vec![
            rng.random_range(1..4u64),
            rng.random_range(1..12u64),
            rng.random_range(1..6u64),
        ]
    } else {
        shape(rng)
    };
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!(
            "({})",
            dims.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let fortran = if rng.random_bool(0.3) {
        "True"
    } else {
        "False"
    };
    let h = crate::npy_header(&format!(
        "{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}"
    ));
    let version = *pick(rng, &[1u8, 1, 2, 3, 9]);
    let mut bytes = b"\x93NUMPY".to_vec();
    bytes.push(version);
    bytes.push(0);
    if version == 1 {
        bytes.extend((h.len() as u16).to_le_bytes());
    } else {
        bytes.extend((h.len() as u32).to_le_bytes());
    }
    bytes.extend(&h);
    let itemsize = match descr.as_bytes().get(2) {
        Some(b'8') => 8,
        Some(b'4') => 4,
        Some(b'2') => 2,
        _ => 1,
    };
    let n: u64 = dims
        .iter()
        .try_fold(1u64, |a, &d| a.checked_mul(d))
        .unwrap_or(u64::MAX);
    let body = if n <= 4096 && rng.random_bool(0.8) {
        n as usize * itemsize
    } else {
        rng.random_range(0..512)
    };
    bytes.extend((0..body).map(|_| rng.random::<u8>()));
    if rng.random_bool(0.1) {
        let cut = rng.random_range(0..bytes.len());
        bytes.truncate(cut);
    }
    std::fs::write(dir.join("a.npy"), bytes).ok();
    vec!["analyze".into(), "si".into(), "a.npy".into()]
}

fn safetensors_bytes(rng: &mut ChaCha8Rng) -> (Vec<u8>, String) {
    let dtypes = [
        "F32", "F64", "I64", "U8", "BOOL", "F16", "BF16", "U32", "Q9", "",
    ];
    let names = ["rates", "output", "w_hh", "é", "", "__metadata__"];
    let mut header = String::from("{");
    let mut body = Vec::new();
    let name = (*pick(rng, &names)).to_string();
    for k in 0..rng.random_range(0..3) {
        let dtype = pick(rng, &dtypes);
        let dims = if rng.random_bool(0.6) {
            vec![
                rng.random_range(1..4u64),
                rng.random_range(2..10u64),
                rng.random_range(1..5u64),
            ]
        } else {
            shape(rng)
        };
        let size = match *dtype {
            "F64" | "I64" => 8,
            "F32" | "U32" => 4,
            "F16" | "BF16" => 2,
            _ => 1,
        };
        let n = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        let len = match n {
            Some(n) if n <= 4096 && rng.random_bool(0.8) => n as usize * size,
            _ => rng.random_range(0..256),
        };
        let start = body.len();
        body.extend((0..len).map(|_| rng.random::<u8>()));
        let tensor = if k == 0 {
            name.clone()
        } else {
            format!("t{k}")
        };
        header += &format!(
            "{}\"{tensor}\":{{\"dtype\":\"{dtype}\",\"shape\":{dims:?},\"data_offsets\":[{start},{}]}}",
            if k == 0 { "" } else { "," },
            if rng.random_bool(0.9) {
                start + len
            } else {
                rng.random_range(0..10_000)
            }
        );
    }
    let layout = pick(
        rng,
        &[
            "[trial, time, unit]",
            "[time, trial, unit]",
            "é",
            "",
            "[unit]",
        ],
    );
    let sep = if header.len() > 1 { "," } else { "" };
    header += &format!(
        "{sep}\"__metadata__\":{{\"layout\":\"{layout}\",\"axes_{name}\":\"{}\"}}}}",
        pick(
            rng,
            &[
                "trial,time,unit",
                "time,trial,unit",
                "unit,time,trial",
                "a,b",
                "é"
            ]
        )
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    if rng.random_bool(0.05) {
        bytes = u64::MAX.to_le_bytes().to_vec();
    }
    bytes.extend(header.as_bytes());
    bytes.extend(body);
    if rng.random_bool(0.1) {
        let cut = rng.random_range(0..bytes.len());
        bytes.truncate(cut);
    }
    (bytes, name)
}

fn safetensors(rng: &mut ChaCha8Rng, dir: &Path) -> Vec<String> {
    let (bytes, name) = safetensors_bytes(rng);
    std::fs::write(dir.join("a.safetensors"), bytes).ok();
    let mut args = vec!["analyze".into(), "si".into(), "a.safetensors".into()];
    if rng.random_bool(0.5) {
        args.push("--tensor".into());
        args.push(if name.is_empty() { "x".into() } else { name });
    }
    args
}

/// A tiny trained network in `dir/net` (trained once per fuzzing run).
pub fn train_tiny_network(wm: &Path, dir: &Path) -> Result<(), String> {
    let run = "task = \"2AFC\"\nlambda0 = 0.9\nsigma0 = 0.2\nseed = 1\n\
               [experiment]\nn_units = 10\niterations = 5\ntest_batches = 1\nrecord_trials = 2\n";
    std::fs::write(dir.join("run.toml"), run).map_err(|e| e.to_string())?;
    let out = Command::new(wm)
        .args(["train", "--config", "run.toml", "--out", "net"])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(())
}

fn checkpoint(rng: &mut ChaCha8Rng, dir: &Path, pristine: &[u8]) -> Vec<String> {
    let mut bytes = pristine.to_vec();
    match rng.random_range(0..4) {
        0 => bytes.truncate(rng.random_range(0..bytes.len())),
        1 => {
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
        }
        2 => {
            // Replace a metadata value with multibyte or hostile text.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let hostile = pick(rng, &["éééééééééééééééééééééééééééééééé", "", "-1", "nan"]);
            if let Some(i) = text.find("\"data_rng_seed\":\"") {
                let start = i + "\"data_rng_seed\":\"".len();
                if let Some(end) = text[start..].find('"') {
                    let mut t = text.clone();
                    t.replace_range(start..start + end, hostile);
                    let delta = t.len() as i64 - text.len() as i64;
                    let hlen = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
                    let mut b = ((hlen as i64 + delta).max(0) as u64).to_le_bytes().to_vec();
                    b.extend(&t.as_bytes()[8..]);
                    bytes = b;
                }
            }
        }
        _ => bytes = safetensors_bytes(rng).0,
    }
    let net = dir.join("net");
    std::fs::write(net.join("weights.safetensors"), bytes).ok();
    // Other files of a checkpoint may be damaged too.
    if rng.random_bool(0.3) {
        let f = *pick(rng, &["train_log.csv", "result.toml", "run.toml"]);
        if let Ok(mut b) = std::fs::read(net.join(f)) {
            b.truncate(rng.random_range(0..=b.len()));
            std::fs::write(net.join(f), b).ok();
        }
    }
    vec![
        "eval".into(),
        "--config".into(),
        "run.toml".into(),
        "--out".into(),
        "net".into(),
    ]
}

/// Replace one random value of `table` (recursively) by a hostile value,
/// or add an unknown key.
fn mutate(rng: &mut ChaCha8Rng, table: &mut toml::Table) {
    if table.is_empty() || rng.random_bool(0.05) {
        table.insert("not_a_field".into(), toml::Value::Integer(1));
        return;
    }
    let keys: Vec<String> = table.keys().cloned().collect();
    let key = pick(rng, &keys).clone();
    if let Some(toml::Value::Table(inner)) = table.get_mut(&key)
        && rng.random_bool(0.7)
    {
        mutate(rng, inner);
        return;
    }
    let text = format!("v = {}", pick(rng, &HOSTILE));
    let value = match text.parse::<toml::Table>() {
        Ok(t) => t.get("v").cloned().unwrap_or(toml::Value::Boolean(true)),
        Err(_) => toml::Value::Float(f64::NAN),
    };
    let value = match (table.get(&key), rng.random_bool(0.5), value) {
        // Inside an array, so a list field gets one bad element.
        (Some(toml::Value::Array(a)), true, v) => {
            let mut a = a.clone();
            if a.is_empty() {
                a.push(v);
            } else {
                let i = rng.random_range(0..a.len());
                a[i] = v;
            }
            toml::Value::Array(a)
        }
        (_, _, v) => v,
    };
    table.insert(key, value);
}

fn mutated_config(rng: &mut ChaCha8Rng, study: &str) -> String {
    let path = crate::experiment_file(study, "smoke.toml");
    let mut table: toml::Table = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_default();
    for _ in 0..rng.random_range(1..3) {
        mutate(rng, &mut table);
    }
    toml::to_string(&table).unwrap_or_default()
}

fn sweep_config(rng: &mut ChaCha8Rng, dir: &Path) -> Vec<String> {
    let study = *pick(rng, &["orhan-ma", "xie"]);
    let sub = dir.join(study);
    std::fs::create_dir_all(&sub).ok();
    let file = sub.join("smoke.toml");
    std::fs::write(&file, mutated_config(rng, study)).ok();
    let _ = std::fs::remove_dir_all(dir.join("plan"));
    vec![
        "sweep".into(),
        "plan".into(),
        file.display().to_string(),
        "--out".into(),
        "plan".into(),
    ]
}

fn somn_params(rng: &mut ChaCha8Rng, dir: &Path) -> Vec<String> {
    let defaults = "tau_ms = 10.0\ndt_ms = 1.0\nn_units = 100\nn_readouts = 1\n\
                    feedback_delay_ms = 0.0\nrecord_every_ms = 10.0\neta = 1.0\n";
    let mut table: toml::Table = defaults.parse().unwrap_or_default();
    mutate(rng, &mut table);
    std::fs::write(
        dir.join("params.toml"),
        toml::to_string(&table).unwrap_or_default(),
    )
    .ok();
    let duration = if rng.random_bool(0.5) {
        "5".to_string()
    } else {
        pick(rng, &HOSTILE).trim_matches('"').to_string()
    };
    vec![
        "simulate".into(),
        "somn".into(),
        "--params".into(),
        "params.toml".into(),
        format!("--duration-ms={duration}"),
        "--out".into(),
        "trace.csv".into(),
    ]
}

/// Load and validate a mutated Kim & Sejnowski or Federer–Zylberberg config
/// in-process (their loaders have no command that stops before training).
fn study_config(rng: &mut ChaCha8Rng) -> Option<String> {
    use wm_studies::federer_zylberberg::config::FedererZylberbergConfig;
    use wm_studies::kim_sejnowski::config::KimSejnowskiConfig;
    use wm_studies::study::StudyConfig;
    let study = *pick(rng, &["kim-sejnowski", "federer-zylberberg"]);
    let text = mutated_config(rng, study);
    let outcome = std::panic::catch_unwind(|| match study {
        "kim-sejnowski" => toml::from_str::<KimSejnowskiConfig>(&text)
            .map_err(|e| e.to_string())
            .and_then(|c| c.validate().map_err(|e| e.to_string()))
            .is_ok(),
        _ => toml::from_str::<FedererZylberbergConfig>(&text)
            .map_err(|e| e.to_string())
            .and_then(|c| c.validate().map_err(|e| e.to_string()))
            .is_ok(),
    });
    outcome
        .is_err()
        .then(|| format!("{study} config loader panicked on:\n{text}"))
}

/// Run fuzz cases against the `wm` binary at `wm` in a scratch folder `dir`,
/// drawing from `seed`, until `cases` have run or `deadline` has passed.
pub fn run(
    wm: &Path,
    dir: &Path,
    seed: u64,
    cases: usize,
    deadline: Option<std::time::Instant>,
) -> Report {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut report = Report {
        per_kind: GENERATORS.iter().map(|&g| (g, 0)).collect(),
        ..Report::default()
    };
    let pristine = match train_tiny_network(wm, dir) {
        Ok(()) => std::fs::read(dir.join("net").join("weights.safetensors")).unwrap_or_default(),
        Err(e) => {
            report
                .failures
                .push(format!("could not train the tiny network: {e}"));
            return report;
        }
    };
    let net_files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir.join("net"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
                .collect()
        })
        .unwrap_or_default();
    while report.cases < cases && deadline.is_none_or(|d| std::time::Instant::now() < d) {
        let kind = rng.random_range(0..GENERATORS.len());
        let failure = match GENERATORS[kind] {
            "study-config" => study_config(&mut rng),
            name => {
                let args = match name {
                    "spike-csv" => spike_csv(&mut rng, dir),
                    "npy" => npy(&mut rng, dir),
                    "safetensors" => safetensors(&mut rng, dir),
                    "checkpoint" => {
                        for (p, b) in &net_files {
                            std::fs::write(p, b).ok();
                        }
                        checkpoint(&mut rng, dir, &pristine)
                    }
                    "sweep-config" => sweep_config(&mut rng, dir),
                    _ => somn_params(&mut rng, dir),
                };
                match check_wm(wm, dir, &args) {
                    Verdict::Behaved => None,
                    Verdict::TimedOut => {
                        report.timeouts.push(format!("wm {}", args.join(" ")));
                        None
                    }
                    Verdict::Failed(why) => Some(format!("wm {}: {why}", args.join(" "))),
                }
            }
        };
        report.cases += 1;
        report.per_kind[kind].1 += 1;
        if let Some(f) = failure {
            report.failures.push(format!("[{}] {f}", GENERATORS[kind]));
        }
    }
    report
}
