//! # wm-io
//!
//! One job: put a file on disk so that whoever reads it next — another
//! process, or the same run resumed after a kill, a crash or a power cut —
//! finds either the old file or the whole new one, never a part of it.
//!
//! Key decision: every write goes through [`write_atomic`], which writes a
//! temporary file **in the target's folder** (so the final rename never
//! crosses a file system), syncs it, renames it over the target and then
//! syncs the folder, so the rename itself survives a power cut. Temporaries
//! have one name pattern, `.<file name>.<pid>.<16 hex digits>.tmp`
//! ([`temporary_path`]), recognised by [`is_temporary`]: a cleanup can tell
//! an orphan of a killed write from a user's file, and which file it was
//! meant to become ([`temporary_target`]). The random part keeps two
//! processes with the same pid on two machines (a shared cluster folder)
//! from ever sharing a temporary.

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A failed step of a durable write, naming the file and the step.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct Error {
    /// The file or folder the step worked on.
    pub path: PathBuf,
    /// The step: "create", "write", "sync", "rename to", ….
    pub action: &'static str,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

fn err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// The folder `path` lives in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A fresh temporary path for a write to `path`: the same folder, named
/// `.<file name>.<pid>.<16 hex digits>.tmp`. Two calls never return the
/// same path (a per-process counter hashed with random keys).
pub fn temporary_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let token = RandomState::new().hash_one((n, std::process::id()));
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy());
    parent(path).join(format!(".{name}.{}.{token:016x}.tmp", std::process::id()))
}

/// Whether a file name is a temporary of [`temporary_path`]'s pattern.
pub fn is_temporary(name: &str) -> bool {
    temporary_target(name).is_some()
}

/// The file name a temporary was meant to become (`None` if `name` is not a
/// temporary): `.weights.safetensors.123.0123456789abcdef.tmp` →
/// `weights.safetensors`.
pub fn temporary_target(name: &str) -> Option<&str> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (rest, token) = inner.rsplit_once('.')?;
    let (target, pid) = rest.rsplit_once('.')?;
    let token_ok = token.len() == 16 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let pid_ok = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (token_ok && pid_ok && !target.is_empty()).then_some(target)
}

/// The pid that created a temporary (`None` if `name` is not one).
pub fn temporary_pid(name: &str) -> Option<u32> {
    temporary_target(name)?;
    let inner = name.strip_suffix(".tmp")?;
    let (rest, _) = inner.rsplit_once('.')?;
    rest.rsplit_once('.')?.1.parse().ok()
}

/// Sync a folder, so that renames and creations inside it are on disk.
/// File systems that cannot sync a folder (they answer "invalid argument"
/// or "unsupported") are left as they are.
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let synced = File::open(dir).and_then(|d| d.sync_all());
        if let Err(e) = synced
            && !matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            )
        {
            return Err(err("sync the folder", dir)(e));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Finish a write made to `tmp` (from [`temporary_path`]): sync it, rename it
/// over `path` and sync the folder. On failure the temporary is removed.
pub fn commit_temporary(tmp: &Path, path: &Path) -> Result<()> {
    let done = OpenOptions::new()
        .write(true)
        .open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(err("sync", tmp))
        .and_then(|()| std::fs::rename(tmp, path).map_err(err("move into place", path)));
    if done.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    done?;
    sync_dir(parent(path))
}

/// Write `bytes` to a new temporary beside `path` and sync it; returns the temporary.
fn write_temporary(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let dir = parent(path);
    std::fs::create_dir_all(dir).map_err(err("create the folder", dir))?;
    let tmp = temporary_path(path);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(err("create", &tmp))
        .and_then(|mut f| {
            f.write_all(bytes)
                .and_then(|()| f.sync_all())
                .map_err(err("write", &tmp))
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Write `bytes` to `path` durably and atomically: a temporary in the same
/// folder, written and synced, renamed over `path`, then the folder synced.
/// The folder is created if needed. Readers see the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = write_temporary(path, bytes)?;
    let renamed = std::fs::rename(&tmp, path).map_err(err("move into place", path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed?;
    sync_dir(parent(path))
}

/// Like [`write_atomic`], but the file `path` held before becomes
/// `previous` (which must be in the same folder). At every moment `path`
/// holds a whole file (the old or the new one) once it has been written,
/// and `previous` holds the one before it: a kill anywhere leaves two
/// complete generations. The old file is hard-linked (copied where the
/// file system has no hard links) to a temporary that is renamed to
/// `previous`, then the new file is renamed to `path`.
pub fn write_atomic_keep_previous(path: &Path, previous: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = write_temporary(path, bytes)?;
    if path.exists() {
        let keep = temporary_path(previous);
        let linked = std::fs::hard_link(path, &keep)
            .or_else(|_| std::fs::copy(path, &keep).map(|_| ()))
            .map_err(err("keep a copy of", path))
            .and_then(|()| commit_temporary(&keep, previous));
        if let Err(e) = linked {
            let _ = std::fs::remove_file(&keep);
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    }
    let renamed = std::fs::rename(&tmp, path).map_err(err("move into place", path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed?;
    sync_dir(parent(path))
}

/// Temporaries of [`temporary_path`]'s pattern under `dir`, recursively
/// (none if `dir` does not exist or is not a folder), sorted.
pub fn temporaries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(err("list", &d))? {
            let entry = entry.map_err(err("list", &d))?;
            let p = entry.path();
            let is_dir = entry.file_type().map_err(err("inspect", &p))?.is_dir();
            if is_dir {
                stack.push(p);
            } else if entry.file_name().to_str().is_some_and(is_temporary) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("x.toml");
        write_atomic(&p, b"a = 1\n").unwrap();
        write_atomic(&p, b"a = 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "a = 2\n");
        assert_eq!(names(&dir.path().join("sub")), ["x.toml"]);
        assert!(temporaries(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn temporaries_have_one_recognised_pattern_and_never_repeat() {
        let p = Path::new("/data/run/weights.safetensors");
        let a = temporary_path(p);
        let b = temporary_path(p);
        assert_ne!(a, b);
        assert_eq!(a.parent(), p.parent());
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(is_temporary(name), "{name}");
        assert_eq!(temporary_target(name), Some("weights.safetensors"));
        assert_eq!(temporary_pid(name), Some(std::process::id()));
        for not in [
            "weights.safetensors",
            ".hidden",
            ".x.tmp",
            ".x.12.tmp",
            "x.12.0123456789abcdef.tmp",
            ".x.12.0123456789abcdeg.tmp",
            ".x.1a.0123456789abcdef.tmp",
            "..12.0123456789abcdef.tmp",
            ".x.12.0123456789abcdef.tmp.png",
        ] {
            assert!(!is_temporary(not), "{not}");
        }
        // A bare file name lives in the current folder.
        assert_eq!(
            temporary_path(Path::new("f.csv")).parent(),
            Some(Path::new("."))
        );
    }

    #[test]
    fn keeping_the_previous_file_leaves_two_whole_generations() {
        let dir = tempfile::tempdir().unwrap();
        let (cur, prev) = (dir.path().join("w.bin"), dir.path().join("w.prev.bin"));
        write_atomic_keep_previous(&cur, &prev, b"one").unwrap();
        assert_eq!(std::fs::read(&cur).unwrap(), b"one");
        assert!(!prev.exists(), "nothing to keep before the first write");
        write_atomic_keep_previous(&cur, &prev, b"two").unwrap();
        write_atomic_keep_previous(&cur, &prev, b"three").unwrap();
        assert_eq!(std::fs::read(&cur).unwrap(), b"three");
        assert_eq!(std::fs::read(&prev).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["w.bin", "w.prev.bin"]);
    }

    #[test]
    fn a_committed_temporary_replaces_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fig.png");
        std::fs::write(&p, b"old").unwrap();
        let tmp = temporary_path(&p);
        std::fs::write(&tmp, b"new").unwrap();
        assert_eq!(temporaries(dir.path()).unwrap(), std::slice::from_ref(&tmp));
        commit_temporary(&tmp, &p).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert!(!tmp.exists());
        // A temporary that vanished is an error naming it, and no target appears.
        let q = dir.path().join("other.png");
        let err = commit_temporary(&temporary_path(&q), &q).unwrap_err();
        assert!(err.to_string().contains(".other.png."), "{err}");
        assert!(!q.exists());
    }

    #[test]
    fn a_write_into_an_unwritable_place_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = write_atomic(&blocker.join("inside.toml"), b"y").unwrap_err();
        assert!(err.to_string().contains("file"), "{err}");
        assert!(temporaries(dir.path()).unwrap().is_empty());
    }
}
