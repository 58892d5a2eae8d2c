//! What the end-to-end tests of the `wm` binary share: running it, its
//! output as text, and watching the folders it writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The `wm` binary under test.
pub fn wm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wm"))
}

/// A finished run's stdout and stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Wait until `path` exists; panic after `limit`.
pub fn wait_for(path: &Path, limit: Duration) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(t0.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every file under `dir`, at any depth, and whether it is a temporary
/// (a durable write under way).
pub fn files_under(dir: &Path) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let temporary = p.to_string_lossy().ends_with(".tmp");
                out.push((p, temporary));
            }
        }
    }
    out
}
