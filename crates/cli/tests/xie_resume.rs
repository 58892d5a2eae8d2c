//! A Xie et al. network whose training process is killed (SIGKILL) resumes
//! to bit-for-bit the network of an uninterrupted run: the trainer's
//! checkpoint (parameters, Adam's moments, RNG position), every stage
//! checkpoint, the evaluations and the training log (wall-clock times aside).
//!
//! One network trains as one sweep point (`wm sweep run DIR --index 0`), the
//! command a Slurm array task runs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::{files_under, text, wait_for, wm};

/// Xie's smoke settings (`experiments/xie/smoke.toml`) for one network: 64
/// units on the ODR alone, 200 steps evaluated and checkpointed every 20.
const TINY_XIE: &str = "seed = 2022\nthreads = 1\nconditions = [\"fixed\"]\nnetworks = 1\n\
rules = [\"odr3000\"]\nn_units = 64\nn_ring = 8\nbatch_size = 32\nlearning_rate = 1e-3\n\
grad_clip_value = 1.0\nsigma_rec = 0.05\nsigma_x = 0.01\neval_every = 20\neval_trials = 64\n\
target_perf = 0.95\nmax_steps = 200\nextra_evals = 0\nstage_cap = 4\n\
stage_bounds = [0.12, 0.18, 0.24]\n";

fn plan(experiment: &Path, dir: &Path) {
    let o = wm()
        .args(["sweep", "plan"])
        .arg(experiment)
        .args(["--study", "xie", "--out"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

fn run_point(dir: &Path) -> Command {
    let mut c = wm();
    c.args(["sweep", "run"]).arg(dir).args(["--index", "0"]);
    c
}

/// Every file under `dir` (relative paths), temporaries excluded.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = files_under(dir)
        .into_iter()
        .filter(|(_, temporary)| !temporary)
        .map(|(p, _)| p.strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    out.sort();
    out
}

/// Metadata that depends on the clock: training time, and the checksum that
/// covers it.
const CLOCK_KEYS: [&str; 2] = ["train_seconds", "crc32"];

/// A safetensors file's tensors (dtype, shape, bytes) and metadata, the
/// clock's aside.
type Contents = (
    BTreeMap<String, (String, Vec<usize>, Vec<u8>)>,
    HashMap<String, String>,
);

fn contents(path: &Path) -> Contents {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors = st
        .tensors()
        .into_iter()
        .map(|(name, t)| {
            (
                name,
                (
                    format!("{:?}", t.dtype()),
                    t.shape().to_vec(),
                    t.data().to_vec(),
                ),
            )
        })
        .collect();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = meta.metadata().clone().unwrap_or_default();
    meta.retain(|k, _| !CLOCK_KEYS.contains(&k.as_str()));
    (tensors, meta)
}

/// `train_log.csv` without its wall-clock column.
fn log_without_seconds(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let keep: Vec<usize> = r
        .headers()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, h)| *h != "seconds")
        .map(|(i, _)| i)
        .collect();
    let mut rows = vec![
        keep.iter()
            .map(|&i| r.headers().unwrap()[i].to_string())
            .collect(),
    ];
    for rec in r.records() {
        let rec = rec.unwrap();
        rows.push(keep.iter().map(|&i| rec[i].to_string()).collect());
    }
    rows
}

#[test]
fn a_killed_xie_training_resumes_to_the_uninterrupted_network_bit_for_bit() {
    let d = tempfile::tempdir().unwrap();
    let exp = d.path().join("tiny.toml");
    std::fs::write(&exp, TINY_XIE).unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    plan(&exp, &a);
    plan(&exp, &b);
    let reference = run_point(&a).output().unwrap();
    assert!(reference.status.success(), "{}", text(&reference));

    let net = Path::new("networks").join("000-fixed");
    let mut child = run_point(&b)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The trainer's first checkpoint comes after 20 of the 200 steps: the
    // kill lands with most of the training still to run.
    let weights = b.join(&net).join("weights.safetensors");
    wait_for(&weights, Duration::from_secs(300));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        !b.join("points").join("00000.toml").exists(),
        "killed before the end"
    );
    let (_, meta) = contents(&weights);
    let at: usize = meta["iteration"].parse().unwrap();
    assert!((20..200).contains(&at), "killed at step {at}");

    let resumed = run_point(&b).output().unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed));

    let (na, nb) = (a.join(&net), b.join(&net));
    let listed = files(&na);
    assert_eq!(listed, files(&nb), "the same files");
    assert!(
        listed
            .iter()
            .filter(|p| p.starts_with("checkpoints"))
            .count()
            >= 2,
        "{listed:?}"
    );
    for rel in &listed {
        let (x, y) = (na.join(rel), nb.join(rel));
        let name = rel.display();
        match rel.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => {
                let (cx, cy) = (contents(&x), contents(&y));
                assert!(!cx.0.is_empty(), "{name} holds tensors");
                for (t, v) in &cx.0 {
                    assert!(cy.0.get(t) == Some(v), "{name}: tensor `{t}` differs");
                }
                assert_eq!(cx.0.len(), cy.0.len(), "{name}");
                assert_eq!(cx.1, cy.1, "{name}: metadata");
            }
            _ if rel.ends_with("train_log.csv") => {
                let rows = log_without_seconds(&x);
                assert!(rows.len() > 10, "{name}: {} rows", rows.len());
                assert_eq!(rows, log_without_seconds(&y), "{name}");
            }
            _ => assert_eq!(
                std::fs::read(&x).unwrap(),
                std::fs::read(&y).unwrap(),
                "{name}"
            ),
        }
    }
    // The point's result (no clock in it).
    let point =
        |dir: &Path| std::fs::read_to_string(dir.join("points").join("00000.toml")).unwrap();
    assert_eq!(point(&a), point(&b));
}
