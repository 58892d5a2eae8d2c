//! The `wm` binary end to end: bad input is refused naming the field, a
//! killed training or sweep resumes to the same result, sweeps plan, run,
//! collect, and (where Slurm runs) go through a real job array.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{files_under, text, wait_for, wm};

fn run(args: &[&str]) -> Output {
    wm().args(args).output().expect("wm runs")
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

/// The arguments `<cmd> --config <cfg> --out <out>`.
fn config_args<'a>(cmd: &'a str, cfg: &'a Path, out: &'a Path) -> [&'a str; 5] {
    let path = |p: &'a Path| p.to_str().unwrap();
    [cmd, "--config", path(cfg), "--out", path(out)]
}

/// `wm <cmd> --config <cfg> --out <out>`.
fn run_config(cmd: &str, cfg: &Path, out: &Path) -> Output {
    run(&config_args(cmd, cfg, out))
}

/// The temporaries under `dir`: writes under way, or left behind.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter_map(|(p, temporary)| temporary.then_some(p))
        .collect()
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
        let o = run_config("train", &cfg, &out);
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
    let reference = run_config("train", &cfg, &a);
    assert!(reference.status.success(), "{}", text(&reference));
    let mut child = wm()
        .args(config_args("train", &cfg, &b))
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
    let resumed = run_config("train", &cfg, &b);
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
    let e = run_config("eval", &cfg, &b);
    assert!(
        e.status.success() && text(&e).contains("fractional loss"),
        "{}",
        text(&e)
    );
    let r = run_config("record", &cfg, &b);
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

/// `train_seconds = …` of a result.toml.
fn train_seconds(dir: &Path) -> f64 {
    let r = std::fs::read_to_string(dir.join("result.toml")).unwrap();
    r.lines()
        .find_map(|l| l.strip_prefix("train_seconds = "))
        .unwrap_or_else(|| panic!("no train_seconds in {r}"))
        .parse()
        .unwrap()
}

/// `wm eval` and `wm record` rewrite result.toml but train nothing: the
/// training time `wm train` recorded stands.
#[test]
fn eval_and_record_keep_the_training_time() {
    let d = tempfile::tempdir().unwrap();
    let body = "task = \"2AFC\"\nlambda0 = 0.9\nsigma0 = 0.2\nseed = 5\n[experiment]\nn_units = 20\n\
                iterations = 600\nbatch_size = 10\nlearning_rate = 2e-3\ntest_batches = 1\nrecord_trials = 10\n";
    let cfg = write(d.path(), "run.toml", body);
    let out = d.path().join("net");
    let o = run_config("train", &cfg, &out);
    assert!(o.status.success(), "{}", text(&o));
    let trained = train_seconds(&out);
    // The log's last row is the training loop's own clock.
    let log = std::fs::read_to_string(out.join("train_log.csv")).unwrap();
    let loop_seconds: f64 = log
        .lines()
        .last()
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        trained > 0.0 && (trained - loop_seconds).abs() < 0.5,
        "train_seconds {trained} vs the training loop's {loop_seconds}"
    );
    for cmd in ["record", "eval", "train"] {
        let o = run_config(cmd, &cfg, &out);
        assert!(o.status.success(), "{cmd}: {}", text(&o));
        assert_eq!(train_seconds(&out), trained, "after wm {cmd}");
    }
}

#[test]
fn analyze_si_reads_integer_spike_counts_from_npy() {
    // 2 trials × 24 steps × 6 units of int64 counts, unit i firing at steps 4i..4i+4.
    let (b, t, n) = (2usize, 24usize, 6usize);
    let mut data = Vec::new();
    for _ in 0..b {
        for s in 0..t {
            for i in 0..n {
                data.extend((3 * i64::from(s / 4 == i)).to_le_bytes());
            }
        }
    }
    let bytes = wm_tests::npy_bytes("<i8", false, &format!("({b}, {t}, {n})"), &data);
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

fn plan_sweep(exp: &Path, dir: &Path) {
    let plan = run(&[
        "sweep",
        "plan",
        exp.to_str().unwrap(),
        "--study",
        "orhan-ma",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(plan.status.success(), "{}", text(&plan));
}

/// A sweep of [`TINY`] with six σ0 values (six points), planned in `dir/sweep`.
fn planned_six_point_sweep(dir: &Path) -> PathBuf {
    let exp = write(
        dir,
        "six.toml",
        &TINY.replace(
            "sigma0 = [0.0, 0.2, 0.4]",
            "sigma0 = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]",
        ),
    );
    let s = dir.join("sweep");
    plan_sweep(&exp, &s);
    s
}

fn sweep_local(dir: &Path, jobs: &str) -> Command {
    let mut c = wm();
    c.args([
        "sweep",
        "run",
        dir.to_str().unwrap(),
        "--local",
        "--jobs",
        jobs,
    ]);
    c
}

/// `points.csv` and every `points/*.toml` of a collected sweep, by name.
fn sweep_results(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(
        "points.csv".to_string(),
        std::fs::read(dir.join("points.csv")).unwrap(),
    )];
    let mut points: Vec<PathBuf> = std::fs::read_dir(dir.join("points"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    points.sort();
    for p in points {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        files.push((name, std::fs::read(&p).unwrap()));
    }
    files
}

/// SplitMix64: the kill test's seeded source of kill moments.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Run `cmd`, SIGKILL it after `after` if it is still running; with
/// `in_write`, wait after `after` until a temporary file appears under that
/// folder (a write under way) and kill then. Returns whether the kill
/// landed (the process was still at work).
fn kill_after(mut cmd: Command, after: Duration, in_write: Option<&Path>) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "an unkilled run failed: {status}");
            return false;
        }
        match in_write {
            Some(dir) if temporaries(dir).is_empty() => {
                std::thread::sleep(Duration::from_micros(200));
            }
            _ => break,
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    true
}

/// Whether some point of the sweep `dir` has a checkpoint but no result yet.
fn mid_point(dir: &Path) -> bool {
    std::fs::read_dir(dir.join("networks"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let index = &name[..4];
            e.path().join("weights.safetensors").exists()
                && !dir.join("points").join(format!("0{index}.toml")).exists()
        })
}

/// Four 20-unit Orhan & Ma networks of 1,000 iterations (about a second
/// each on a 2-core machine), checkpointed every 250 iterations.
fn kill_experiment() -> String {
    TINY.replace("iterations = 200", "iterations = 1000")
        .replace("sigma0 = [0.0, 0.2, 0.4]", "sigma0 = [0.0, 0.2, 0.4, 0.6]")
}

/// SIGKILL at ≥ 20 seeded random moments inside a local sweep's work
/// (training, checkpoint writes, measuring and point writes, cleanup,
/// collecting), each followed by a resume: the collected results are
/// identical, byte for byte, to an uninterrupted run's, no point file is
/// ever unreadable, and no temporary is left behind.
#[test]
fn sweeps_killed_at_random_moments_give_identical_results() {
    let d = tempfile::tempdir().unwrap();
    let exp = write(d.path(), "kill.toml", &kill_experiment());
    let reference = d.path().join("reference");
    plan_sweep(&exp, &reference);
    let t0 = Instant::now();
    let o = sweep_local(&reference, "2").output().unwrap();
    let full = t0.elapsed();
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["sweep", "collect", reference.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let expected = sweep_results(&reference);
    assert_eq!(expected.len(), 5, "points.csv and four point files");

    // Kill moments uniform in [0, full/3): a resumed run picks up where the
    // last one stopped, so successive kills land ever later in the sweep's
    // work until it completes; then a fresh folder starts the next round.
    // Every third kill waits from its moment on for a write to be under way
    // (a temporary file present): writes take milliseconds of each second,
    // and random moments alone would seldom find one.
    let mut rng = SplitMix(20_261_207);
    let (mut kills, mut inside_writes, mut inside_points, mut rounds) = (0, 0, 0, 0);
    while kills < 24 {
        rounds += 1;
        assert!(rounds <= 12, "only {kills} kills landed in 11 rounds");
        let s = d.path().join(format!("killed-{rounds}"));
        plan_sweep(&exp, &s);
        loop {
            let after = full.mul_f64(rng.next_f64() / 3.0);
            let watch = (kills % 3 == 2).then_some(s.as_path());
            if !kill_after(sweep_local(&s, "2"), after, watch) {
                break; // this round's sweep ran to completion
            }
            kills += 1;
            inside_writes += usize::from(!temporaries(&s).is_empty());
            inside_points += usize::from(mid_point(&s));
            let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
            assert!(!st.contains("unreadable"), "after kill {kills}: {st}");
        }
        // Kills inside collecting, then a collection that finishes.
        for _ in 0..3 {
            let after = Duration::from_millis((rng.next_f64() * 30.0) as u64);
            let mut c = wm();
            c.args(["sweep", "collect", s.to_str().unwrap()]);
            kills += usize::from(kill_after(c, after, None));
        }
        let o = run(&["sweep", "collect", s.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let got = sweep_results(&s);
        for ((name, want), (got_name, got)) in expected.iter().zip(&got) {
            assert_eq!(name, got_name);
            assert!(
                want == got,
                "{name} differs after kills (round {rounds}):\n{}\nvs uninterrupted\n{}",
                String::from_utf8_lossy(got),
                String::from_utf8_lossy(want)
            );
        }
        assert_eq!(expected.len(), got.len());
        assert!(temporaries(&s).is_empty(), "{:?}", temporaries(&s));
    }
    eprintln!(
        "{kills} kills in {rounds} rounds ({inside_writes} inside a write, {inside_points} with a \
         point between its first checkpoint and its result); uninterrupted run {:.1} s; \
         results identical",
        full.as_secs_f64()
    );
    assert!(inside_writes > 0, "no kill landed inside a write");
}

/// Two runners on one sweep folder (a local run beside a cluster's) share
/// the points through the point locks: every point runs exactly once.
#[test]
fn two_runners_on_one_sweep_run_every_point_once() {
    let d = tempfile::tempdir().unwrap();
    let s = planned_six_point_sweep(d.path());
    let a = sweep_local(&s, "1").stdout(Stdio::piped()).spawn().unwrap();
    let b = sweep_local(&s, "1").stdout(Stdio::piped()).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        text(&a),
        text(&b)
    );
    let ran = |o: &Output| -> usize {
        let t = text(o);
        let line = t
            .lines()
            .find(|l| l.contains("points run"))
            .unwrap_or_else(|| panic!("{t}"));
        line.split_whitespace().next().unwrap().parse().unwrap()
    };
    assert_eq!(ran(&a) + ran(&b), 6, "{}\n{}", text(&a), text(&b));
    let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
    assert!(st.contains("6 of 6 points done"), "{st}");
}

/// A failing point is recorded, listed and skipped until retried; a
/// garbled point file is not taken for a result; finished points are not run again.
#[test]
fn failed_and_garbled_points_are_recorded_skipped_and_rerun() {
    let d = tempfile::tempdir().unwrap();
    let exp = write(d.path(), "tiny.toml", TINY);
    let s = d.path().join("sweep");
    plan_sweep(&exp, &s);
    // Point 1 cannot create its network folder: a file is in the way.
    std::fs::create_dir_all(s.join("networks")).unwrap();
    let blocker = s.join("networks").join("0001-2AFC-basic");
    std::fs::write(&blocker, "in the way").unwrap();
    let o = sweep_local(&s, "2").output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("1 points failed"), "{}", text(&o));
    assert!(s.join("points").join("00001.failed.toml").is_file());
    let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
    assert!(
        st.contains("2 of 3 points done")
            && st.contains("failed: 1")
            && st.contains("failed 1 (0001-2AFC-basic)"),
        "{st}"
    );
    let o = sweep_local(&s, "2").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("skipping 1 points with a recorded failure"),
        "{}",
        text(&o)
    );
    let o = run(&["sweep", "run", s.to_str().unwrap(), "--index", "1"]);
    assert!(
        o.status.success() && text(&o).contains("--retry-failed"),
        "{}",
        text(&o)
    );

    std::fs::remove_file(&blocker).unwrap();
    let o = run(&[
        "sweep",
        "run",
        s.to_str().unwrap(),
        "--local",
        "--retry-failed",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!s.join("points").join("00001.failed.toml").exists());
    let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
    assert!(
        st.contains("3 of 3 points done") && !st.contains("failed"),
        "{st}"
    );
    assert!(
        run(&["sweep", "collect", s.to_str().unwrap()])
            .status
            .success()
    );
    let before = sweep_results(&s);

    // A truncated point file and a garbage one are not results: listed, run again, rewritten.
    let p0 = s.join("points").join("00000.toml");
    let good = std::fs::read(&p0).unwrap();
    std::fs::write(&p0, &good[..good.len() / 2]).unwrap();
    std::fs::write(s.join("points").join("00002.toml"), "garbage").unwrap();
    let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
    assert!(
        st.contains("1 of 3 points done") && st.contains("unreadable"),
        "{st}"
    );
    let o = run(&["sweep", "collect", s.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not done"), "{}", text(&o));
    let o = sweep_local(&s, "2").output().unwrap();
    assert!(text(&o).contains("2 points run"), "{}", text(&o));
    assert!(
        run(&["sweep", "collect", s.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(sweep_results(&s), before, "rewritten identically");

    // Running a finished point again is a no-op; an index outside the manifest is refused.
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
    plan_sweep(&exp, &s);
    // CI's cluster has MaxArraySize = 2 (scripts/slurm-local.sh), below the
    // sweep's 3 points: the points are spread over several arrays.
    let max = max_array_size();
    let job_arrays = |out: &Path| -> Vec<(PathBuf, usize)> {
        let o = run(&[
            "sweep",
            "slurm",
            s.to_str().unwrap(),
            "--time",
            "00:10:00",
            "--mem",
            "500M",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let mut scripts: Vec<PathBuf> = std::fs::read_dir(out.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with("array.") && n.ends_with(".sbatch")
            })
            .collect();
        scripts.sort();
        // Every array index is below MaxArraySize; each script says its offset.
        scripts
            .into_iter()
            .map(|p| {
                let body = std::fs::read_to_string(&p).unwrap();
                let spec = body
                    .lines()
                    .find_map(|l| l.strip_prefix("#SBATCH --array="))
                    .unwrap();
                for part in spec.split('%').next().unwrap().split(',') {
                    let hi: usize = part.rsplit('-').next().unwrap().parse().unwrap();
                    assert!(hi < max, "{}: index {hi} ≥ MaxArraySize {max}", p.display());
                }
                let offset = body
                    .lines()
                    .find_map(|l| l.strip_prefix("offset="))
                    .unwrap()
                    .parse()
                    .unwrap();
                (p, offset)
            })
            .collect()
    };
    let scripts_dir = s.join("scripts");
    std::fs::create_dir_all(&scripts_dir).unwrap();
    let first = job_arrays(&scripts_dir.join("array.sbatch"));
    assert_eq!(
        first.len(),
        3usize.div_ceil(max),
        "one array per block of MaxArraySize"
    );
    let jobs: Vec<(String, usize)> = first.iter().map(|(p, off)| (sbatch(p), *off)).collect();
    // Cancel one array task while it runs.
    let t0 = Instant::now();
    let (victim, k) = loop {
        let ids: Vec<&str> = jobs.iter().map(|(j, _)| j.as_str()).collect();
        let q = Command::new("squeue")
            .args(["-h", "-j", &ids.join(","), "-t", "RUNNING", "-o", "%i"])
            .output()
            .unwrap();
        let running = String::from_utf8_lossy(&q.stdout).to_string();
        if let Some(id) = running.lines().map(str::trim).find(|l| l.contains('_')) {
            let (job, task) = id.split_once('_').unwrap();
            let offset = jobs.iter().find(|(j, _)| j == job).unwrap().1;
            break (id.to_string(), offset + task.parse::<usize>().unwrap());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no array task started"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
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
    for (job, _) in &jobs {
        wait_job(job);
    }
    let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
    assert!(
        st.contains("2 of 3 points done") && st.contains(&format!("pending: {k}")),
        "the cancelled task {victim} (point {k}) must be missing: {st}"
    );
    // Resubmit: the scripts hold only the pending point.
    let again = s.join("again");
    std::fs::create_dir_all(&again).unwrap();
    let second = job_arrays(&again.join("array.sbatch"));
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].1, k / max * max, "the point's block");
    let job2 = sbatch(&second[0].0);
    wait_job(&job2);
    let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
    assert!(st.contains("3 of 3 points done"), "every point ran: {st}");
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

/// `MaxArraySize` of the running cluster (Slurm's default 1001 if unsaid).
fn max_array_size() -> usize {
    let o = Command::new("scontrol")
        .args(["show", "config"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "MaxArraySize").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(1001)
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

/// Spike times (ms) of a `spikes.csv` written by `wm convert`.
fn spike_times_ms(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap())
        .collect()
}

#[test]
fn convert_uses_the_timeline_it_is_given_and_simulates_in_f64_on_request() {
    let d = tempfile::tempdir().unwrap();
    let net = d.path().join("net.safetensors");
    write_arrays(&net, 2, 40);
    let convert = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "convert",
            "--arrays",
            net.to_str().unwrap(),
            "--task",
            "dms",
            "--scales",
            "30",
            "--trials",
            "2",
            "--record-trials",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    // The paper's timeline (default) lasts 2.95 s; the original code's
    // short-delay one (250-ms fixation, 50-ms delay) 1.5 s.
    let long = d.path().join("long");
    let o = convert(&long, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let t_long = spike_times_ms(&long.join("spikes.csv"));
    assert!(
        t_long.iter().any(|&t| t > 1500.0),
        "default timeline ended by 1.5 s"
    );
    let opts = d.path().join("dms.toml");
    std::fs::write(&opts, "fixation_ms = 250.0\ndelay_ms = 50.0\n").unwrap();
    let short = d.path().join("short");
    let o = convert(&short, &["--task-options", opts.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let t_short = spike_times_ms(&short.join("spikes.csv"));
    assert!(!t_short.is_empty());
    assert!(
        t_short.iter().all(|&t| t < 1500.0),
        "spikes after the 1.5-s trial"
    );
    // float64 simulates the same dynamics: spike counts agree closely.
    let wide = d.path().join("f64");
    let o = convert(&wide, &["--f64"]);
    assert!(o.status.success(), "{}", text(&o));
    let n64 = spike_times_ms(&wide.join("spikes.csv")).len() as f64;
    let n32 = t_long.len() as f64;
    assert!(
        (n64 - n32).abs() <= 0.1 * n32,
        "f64 {n64} vs f32 {n32} spikes"
    );
    // Bad options files: one-line errors naming the file or the field.
    std::fs::write(&opts, "delay_ms = -5.0\n").unwrap();
    let o = convert(&short, &["--task-options", opts.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("delay_ms"), "{}", text(&o));
    std::fs::write(&opts, "delay = 5.0\n").unwrap();
    let o = convert(&short, &["--task-options", opts.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("dms.toml"), "{}", text(&o));
    assert_eq!(text(&o).trim().lines().count(), 1, "{}", text(&o));
}

/// `wm sweep status` estimates the time left from the pace at which the
/// recent points finished (their result files' write times), and a `--local`
/// run without a terminal logs each finished point with its own estimate.
#[test]
fn sweep_status_and_a_logged_run_estimate_the_time_left() {
    let d = tempfile::tempdir().unwrap();
    let s = planned_six_point_sweep(d.path());
    for i in ["0", "1", "2"] {
        let o = run(&["sweep", "run", s.to_str().unwrap(), "--index", i]);
        assert!(o.status.success(), "{}", text(&o));
    }
    // Finished 30, 20 and 10 minutes ago: one point per 10 minutes, so the
    // 3 pending points take about 30 minutes.
    let now = std::time::SystemTime::now();
    for (i, minutes) in [(0, 30), (1, 20), (2, 10)] {
        let f = std::fs::File::options()
            .write(true)
            .open(s.join("points").join(format!("{i:05}.toml")))
            .unwrap();
        f.set_modified(now - Duration::from_secs(60 * minutes))
            .unwrap();
    }
    let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
    assert!(
        st.contains("3 of 6 points done")
            && st.contains(
                "at the pace of the last 3 points (one per 10 min), the 3 pending take about 30 min"
            ),
        "{st}"
    );
    let o = sweep_local(&s, "1").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let log = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        log.lines()
            .filter(|l| l.starts_with("finished point "))
            .count(),
        3,
        "{log}"
    );
    assert!(log.contains("3 of the 3 points of this run"), "{log}");
    // Nothing pending: no estimate.
    let st = text(&run(&["sweep", "status", s.to_str().unwrap()]));
    assert!(
        st.contains("6 of 6 points done") && !st.contains("pace"),
        "{st}"
    );
}

/// `wm plot`: a line plot and a heat map from CSV tables; a cell that is not
/// a number is drawn as a gap and named in a warning; a missing `--x`
/// column and a ragged matrix are one-line errors naming the file.
#[test]
fn plot_draws_csv_tables_and_names_what_it_cannot_read() {
    let d = tempfile::tempdir().unwrap();
    let p = |name: &str| d.path().join(name).to_str().unwrap().to_string();
    let png_written = |path: &str| {
        let bytes = std::fs::read(path).unwrap();
        bytes.starts_with(b"\x89PNG") && bytes.len() > 1000
    };
    write(
        d.path(),
        "t.csv",
        "time_ms,rate,gain\n0,1,2\n5,2, 3\n10,oops,4\n15,,5\n",
    );
    let o = run(&[
        "plot",
        "lines",
        &p("t.csv"),
        "--x",
        "time_ms",
        "--out",
        &p("t.png"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(png_written(&p("t.png")));
    let err = String::from_utf8_lossy(&o.stderr);
    // `oops` is garbled; the empty cell and the spaced ` 3` are not.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "t.csv: column `rate` has 1 cell(s) that are not numbers (first: line 4, `oops`)"
        ),
        "{err}"
    );
    let o = run(&[
        "plot",
        "lines",
        &p("t.csv"),
        "--x",
        "t",
        "--out",
        &p("u.png"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("t.csv: no column `t`"), "{}", text(&o));

    write(d.path(), "m.csv", "1,2,3\n4,5,6\n");
    let o = run(&["plot", "heatmap", &p("m.csv"), "--out", &p("m.png")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(png_written(&p("m.png")));
    write(d.path(), "r.csv", "1,2,3\n4,5\n");
    let o = run(&["plot", "heatmap", &p("r.csv"), "--out", &p("r.png")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("r.csv: line 2"), "{}", text(&o));
    assert!(!d.path().join("r.png").exists());
}
