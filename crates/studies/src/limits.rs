//! Size checks made before memory is reserved.
//!
//! Every size a user controls (units, trials, steps, grid points) is checked
//! against a fixed upper bound in the config's `validate`, and the memory the
//! largest buffers of a run will need is estimated and compared with the
//! machine's, so that a typo (`n_units = 50000`) is a one-line error naming
//! the field and the estimate instead of an out-of-memory abort an hour in.

use anyhow::{Result, bail};

/// Environment variable that lets a run go ahead although its memory
/// estimate exceeds the machine's memory (e.g. on a node with swap, or when
/// the estimate is known to be pessimistic).
pub const ALLOW_LARGE_MEMORY: &str = "WM_ALLOW_LARGE_MEMORY";

/// The machine's memory in bytes: `MemTotal` of `/proc/meminfo`, or 16 GiB
/// where that cannot be read.
pub fn machine_memory_bytes() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(16.0 * GIB, |kib| kib * 1024.0)
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Refuse `bytes` (an estimate of what `what` will hold in memory at once)
/// when it exceeds the machine's memory, unless [`ALLOW_LARGE_MEMORY`] is set
/// to `1`.
pub fn check_memory(what: &str, bytes: f64) -> Result<()> {
    let have = machine_memory_bytes();
    if bytes > have && std::env::var(ALLOW_LARGE_MEMORY).as_deref() != Ok("1") {
        bail!(
            "{what} needs about {:.1} GiB of memory, more than this machine's {:.1} GiB \
             (allowed: at most the machine's memory; set {ALLOW_LARGE_MEMORY}=1 to run anyway)",
            bytes / GIB,
            have / GIB
        );
    }
    Ok(())
}

/// `value` must lie in `lo..=hi`; the error names the field, the value and
/// the range.
pub fn check_count(field: &str, value: usize, lo: usize, hi: usize) -> Result<()> {
    if !(lo..=hi).contains(&value) {
        bail!("`{field}` = {value} is out of range; allowed: {lo} ..= {hi}");
    }
    Ok(())
}

/// Every value must be finite and lie in `[lo, hi]`, and the list must not be
/// empty.
pub fn check_values(field: &str, values: &[f64], lo: f64, hi: f64) -> Result<()> {
    if values.is_empty() {
        bail!("`{field}` is empty; give at least one value in [{lo}, {hi}]");
    }
    if let Some(v) = values.iter().find(|v| !(**v >= lo && **v <= hi)) {
        bail!("`{field}` contains {v}; allowed range: [{lo}, {hi}]");
    }
    Ok(())
}

/// One finite value in `[lo, hi]`.
pub fn check_value(field: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    check_values(field, &[value], lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_memory_is_read_and_plausible() {
        let m = machine_memory_bytes();
        assert!(m > 0.25 * GIB && m < 1e6 * GIB, "{m}");
    }

    #[test]
    fn memory_beyond_the_machine_is_refused_with_the_estimate() {
        let err = check_memory("the test grid", 1e6 * GIB)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the test grid") && err.contains(ALLOW_LARGE_MEMORY),
            "{err}"
        );
        assert!(err.contains("1000000.0 GiB"), "{err}");
        check_memory("a small run", 1024.0).unwrap();
    }

    #[test]
    fn ranges_name_field_value_and_bounds() {
        let err = check_count("n_units", 0, 1, 10).unwrap_err().to_string();
        assert_eq!(err, "`n_units` = 0 is out of range; allowed: 1 ..= 10");
        let err = check_values("sigma0", &[0.1, f64::INFINITY], 0.0, 5.0)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "`sigma0` contains inf; allowed range: [0, 5]");
        assert!(check_values("rho", &[], 0.0, 1.0).is_err());
        assert!(check_value("x", f64::NAN, 0.0, 1.0).is_err());
        check_values("x", &[0.0, 1.0], 0.0, 1.0).unwrap();
    }
}
