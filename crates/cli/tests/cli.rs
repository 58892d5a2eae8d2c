//! The `wm` binary end to end: bad input is refused naming the field, a
//! killed training or sweep resumes to the same result, sweeps plan, run,
//! collect, and (where Slurm runs) go through a real job array.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn wm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wm"))
}

fn run(args: &[&str]) -> Output {
    wm().args(args).output().expect("wm runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A tiny Orhan & Ma experiment: three 20-unit networks.
const TINY: &str = "seed = 7\nthreads = 1\nn_units = 20\niterations = 200\nbatch_size = 10\n\
learning_rate = 2e-3\ntest_batches = 1\nrecord_trials = 10\nrequire_success = false\n\
tasks = [\"2AFC\"]\nconditions = [\"basic\"]\nlambda0 = [0.9]\nsigma0 = [0.0, 0.2, 0.4]\nrho = [0.0]\nreplicates = 1\n";

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".tmp") {
                out.push(p);
            }
        }
    }
    out
}

fn wait_for(path: &Path, limit: Duration) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(t0.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_run_configs_exit_non_zero_naming_the_file_and_field() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let cases = [
        (
            "unknown.toml",
            "task = \"2AFC\"\nlambda0 = 0.9\nsigma0 = 0.1\nsigmaO = 1\n",
            "sigmaO",
        ),
        (
            "type.toml",
            "task = \"2AFC\"\nlambda0 = \"high\"\nsigma0 = 0.1\n",
            "lambda0",
        ),
        (
            "negative.toml",
            "task = \"2AFC\"\nlambda0 = 0.9\nsigma0 = -0.1\n",
            "sigma0",
        ),
        (
            "task.toml",
            "task = \"XYZ\"\nlambda0 = 0.9\nsigma0 = 0.1\n",
            "task",
        ),
        (
            "zero.toml",
            "task = \"2AFC\"\nlambda0 = 0.9\nsigma0 = 0.1\n[experiment]\nn_units = 0\n",
            "n_units",
        ),
        (
            "lr.toml",
            "task = \"2AFC\"\nlambda0 = 0.9\nsigma0 = 0.1\n[experiment]\nlearning_rate = -1.0\n",
            "learning_rate",
        ),
    ];
    for (name, body, field) in cases {
        let cfg = write(d.path(), name, body);
        let o = run(&[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        let msg = text(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {msg}");
        assert!(msg.contains(name) && msg.contains(field), "{name}: {msg}");
        assert_eq!(msg.trim().lines().count(), 1, "one-line reason: {msg}");
    }
    // A plasticity parameter out of range names its field too.
    let p = write(d.path(), "somn.toml", "connectivity = 1.5\n");
    let o = run(&[
        "simulate",
        "somn",
        "--params",
        p.to_str().unwrap(),
        "--out",
        out.join("t.csv").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("connectivity"), "{}", text(&o));
    // Malformed command lines are clap's exit code 2.
    assert_eq!(run(&["train"]).status.code(), Some(2));
}

#[test]
fn a_killed_training_resumes_to_the_uninterrupted_result() {
    let d = tempfile::tempdir().unwrap();
    let body = "task = \"2AFC\"\nlambda0 = 0.9\nsigma0 = 0.2\nseed = 3\n[experiment]\nn_units = 20\n\
                iterations = 4000\nbatch_size = 10\nlearning_rate = 2e-3\ntest_batches = 1\nrecord_trials = 10\n";
    let cfg = write(d.path(), "run.toml", body);
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    let reference = run(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        a.to_str().unwrap(),
    ]);
    assert!(reference.status.success(), "{}", text(&reference));
    let mut child = wm()
        .args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            b.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first checkpoint lands at a quarter of the iterations: the kill
    // comes with three quarters (seconds) still to run.
    wait_for(&b.join("weights.safetensors"), Duration::from_secs(120));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!b.join("result.toml").exists(), "killed before the end");
    let resumed = run(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
    ]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let ra = std::fs::read_to_string(a.join("result.toml")).unwrap();
    let rb = std::fs::read_to_string(b.join("result.toml")).unwrap();
    let strip = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.starts_with("train_seconds"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&ra),
        strip(&rb),
        "exact resume must reproduce the result"
    );
    assert!(temporaries(&b).is_empty(), "{:?}", temporaries(&b));
    // eval and record work on the finished folder.
    let e = run(&[
        "eval",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
    ]);
    assert!(
        e.status.success() && text(&e).contains("fractional loss"),
        "{}",
        text(&e)
    );
    let r = run(&[
        "record",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", text(&r));
    let si = run(&[
        "analyze",
        "si",
        b.join("activity.safetensors").to_str().unwrap(),
    ]);
    assert!(
        si.status.success() && text(&si).contains("SI ="),
        "{}",
        text(&si)
    );
}

#[test]
fn analyze_si_reads_integer_spike_counts_from_npy() {
    // 2 trials × 24 steps × 6 units of int64 counts, unit i firing at steps 4i..4i+4.
    let (b, t, n) = (2usize, 24usize, 6usize);
    let mut h = format!("{{'descr': '<i8', 'fortran_order': False, 'shape': ({b}, {t}, {n}), }}")
        .into_bytes();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((h.len() as u16).to_le_bytes());
    bytes.extend(&h);
    for _ in 0..b {
        for s in 0..t {
            for i in 0..n {
                bytes.extend((3 * i64::from(s / 4 == i)).to_le_bytes());
            }
        }
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("counts.npy");
    std::fs::write(&p, bytes).unwrap();
    let si = run(&["analyze", "si", p.to_str().unwrap()]);
    assert!(
        si.status.success() && text(&si).contains("over 2 trials"),
        "{}",
        text(&si)
    );
    let named = run(&["analyze", "si", p.to_str().unwrap(), "--tensor", "rates"]);
    assert_eq!(named.status.code(), Some(1));
    assert!(
        text(&named).contains("counts.npy") && text(&named).contains("--tensor"),
        "{}",
        text(&named)
    );
}

#[test]
fn a_killed_local_sweep_resumes_and_collects_every_point_once() {
    let d = tempfile::tempdir().unwrap();
    let exp = write(d.path(), "tiny.toml", TINY);
    let s = d.path().join("sweep");
    let plan = run(&[
        "sweep",
        "plan",
        exp.to_str().unwrap(),
        "--study",
        "orhan-ma",
        "--out",
        s.to_str().unwrap(),
    ]);
    assert!(plan.status.success(), "{}", text(&plan));
    let mut child = wm()
        .args([
            "sweep",
            "run",
            s.to_str().unwrap(),
            "--local",
            "--jobs",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(
        &s.join("points").join("00000.toml"),
        Duration::from_secs(120),
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let early = run(&["sweep", "collect", s.to_str().unwrap()]);
    if !early.status.success() {
        assert!(text(&early).contains("not done"), "{}", text(&early));
    }
    let again = run(&[
        "sweep",
        "run",
        s.to_str().unwrap(),
        "--local",
        "--jobs",
        "2",
    ]);
    assert!(again.status.success(), "{}", text(&again));
    let st = run(&["sweep", "status", s.to_str().unwrap()]);
    assert!(text(&st).contains("3 of 3 points done"), "{}", text(&st));
    let c = run(&["sweep", "collect", s.to_str().unwrap()]);
    assert!(c.status.success(), "{}", text(&c));
    let csv = std::fs::read_to_string(s.join("points.csv")).unwrap();
    let idx: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(idx, ["0", "1", "2"], "{csv}");
    assert!(temporaries(&s).is_empty(), "{:?}", temporaries(&s));
    // Running a finished point again is a no-op.
    let o = run(&["sweep", "run", s.to_str().unwrap(), "--index", "1"]);
    assert!(text(&o).contains("skipped"), "{}", text(&o));
    let o = run(&["sweep", "run", s.to_str().unwrap(), "--index", "7"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("allowed range"), "{}", text(&o));
}

fn slurm_available() -> bool {
    Command::new("sinfo")
        .arg("-h")
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

fn squeue_empty(job: &str) -> bool {
    Command::new("squeue")
        .args(["-h", "-j", job])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().is_empty())
        .unwrap_or(true)
}

fn sbatch(script: &Path) -> String {
    let o = Command::new("sbatch")
        .args(["--parsable", script.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "sbatch: {}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn wait_job(job: &str) {
    let t0 = Instant::now();
    while !squeue_empty(job) {
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "job {job} did not finish"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Runs where Slurm answers (`.ci/run` starts a one-node cluster with
/// `scripts/slurm-local.sh` when `CI=true`); elsewhere it says why it skips.
#[test]
fn a_slurm_job_array_survives_a_cancelled_task_and_resubmission() {
    if !slurm_available() {
        eprintln!(
            "skipped: no Slurm cluster answers `sinfo` (run scripts/slurm-local.sh as root to start one)"
        );
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must run the Slurm test"
        );
        return;
    }
    // The sweep folder must be visible to the Slurm daemons: a fresh folder under target/.
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    // Longer networks so a task is still running when it is cancelled: a
    // point checkpoints every quarter of its iterations, and the victim is
    // cancelled once its first checkpoint is on disk, so three quarters of
    // its run (seconds) separate the cancel from the point's end whatever
    // the machine's speed.
    let exp = write(
        &base,
        "tiny.toml",
        &TINY.replace("iterations = 200", "iterations = 12000"),
    );
    let s = base.join("sweep");
    assert!(
        run(&[
            "sweep",
            "plan",
            exp.to_str().unwrap(),
            "--study",
            "orhan-ma",
            "--out",
            s.to_str().unwrap()
        ])
        .status
        .success()
    );
    let script = s.join("array.sbatch");
    let o = run(&[
        "sweep",
        "slurm",
        s.to_str().unwrap(),
        "--time",
        "00:10:00",
        "--mem",
        "500M",
        "--out",
        script.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let job = sbatch(&script);
    // Cancel one array task while it runs.
    let t0 = Instant::now();
    let victim = loop {
        let q = Command::new("squeue")
            .args(["-h", "-j", &job, "-t", "RUNNING", "-o", "%i"])
            .output()
            .unwrap();
        let running = String::from_utf8_lossy(&q.stdout).to_string();
        if let Some(id) = running.lines().map(str::trim).find(|l| l.contains('_')) {
            break id.to_string();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no array task started"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let k: usize = victim.rsplit('_').next().unwrap().parse().unwrap();
    let prefix = format!("{k:04}-");
    let checkpointed = || {
        std::fs::read_dir(s.join("networks"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.file_name().to_string_lossy().starts_with(&prefix)
                    && e.path().join("weights.safetensors").exists()
            })
    };
    while !checkpointed() {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "array task {victim} wrote no checkpoint"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        Command::new("scancel")
            .arg(&victim)
            .status()
            .unwrap()
            .success()
    );
    wait_job(&job);
    let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
    assert!(
        st.contains("pending"),
        "the cancelled task must be missing: {st}"
    );
    // Resubmit: the script holds only the pending points.
    let o = run(&[
        "sweep",
        "slurm",
        s.to_str().unwrap(),
        "--time",
        "00:10:00",
        "--mem",
        "500M",
        "--out",
        script.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let job2 = sbatch(&script);
    wait_job(&job2);
    let c = run(&["sweep", "collect", s.to_str().unwrap()]);
    assert!(c.status.success(), "{}", text(&c));
    let csv = std::fs::read_to_string(s.join("points.csv")).unwrap();
    let idx: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(idx, ["0", "1", "2"], "{csv}");
    assert!(temporaries(&s).is_empty(), "{:?}", temporaries(&s));
    let _ = std::fs::remove_dir_all(&base);
}

/// A random 40-unit network in the arrays layout `wm convert` reads.
fn write_arrays(path: &Path, n_inputs: usize, n: usize) {
    use safetensors::tensor::{Dtype, TensorView};
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let w_rec: Vec<f32> = (0..n * n).map(|_| (next() * 0.6) as f32).collect();
    let w_in: Vec<f32> = (0..n * n_inputs).map(|_| next() as f32).collect();
    let w_out: Vec<f32> = (0..n).map(|_| (next() * 0.2) as f32).collect();
    let tau: Vec<f32> = (0..n).map(|k| 20.0 + (k % 10) as f32 * 10.0).collect();
    let bytes = |v: &Vec<f32>| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let (a, b, c, d) = (bytes(&w_rec), bytes(&w_in), bytes(&w_out), bytes(&tau));
    let views = vec![
        (
            "w_rec",
            TensorView::new(Dtype::F32, vec![n, n], &a).unwrap(),
        ),
        (
            "w_in",
            TensorView::new(Dtype::F32, vec![n, n_inputs], &b).unwrap(),
        ),
        (
            "w_out",
            TensorView::new(Dtype::F32, vec![1, n], &c).unwrap(),
        ),
        ("tau_ms", TensorView::new(Dtype::F32, vec![n], &d).unwrap()),
    ];
    safetensors::serialize_to_file(views, None, path).unwrap();
}

#[test]
fn convert_searches_the_scale_and_writes_spikes_and_a_raster() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("net.safetensors");
    write_arrays(&good, 2, 40);
    let out = d.path().join("lif");
    let o = run(&[
        "convert",
        "--arrays",
        good.to_str().unwrap(),
        "--task",
        "dms",
        "--scales",
        "20,40",
        "--trials",
        "4",
        "--record-trials",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let conv = std::fs::read_to_string(out.join("conversion.toml")).unwrap();
    assert!(conv.contains("best_scale"), "{conv}");
    let spikes = std::fs::read_to_string(out.join("spikes.csv")).unwrap();
    assert!(spikes.lines().count() > 1, "no spikes recorded");
    assert!(out.join("raster.png").is_file());
    // A network with the wrong number of inputs for the task is refused.
    let bad = d.path().join("bad.safetensors");
    write_arrays(&bad, 3, 40);
    let o = run(&[
        "convert",
        "--arrays",
        bad.to_str().unwrap(),
        "--task",
        "dms",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("inputs"), "{}", text(&o));
}
