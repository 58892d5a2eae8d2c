//! Reading recordings: spike times from CSV (`unit,trial,time_ms`) and
//! activity arrays from safetensors or `.npy` files. Parsers return errors
//! naming the file, line or field; they never panic on malformed bytes.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ndarray::{Array3, ArrayD, IxDyn};

/// Spike times: `times_ms[unit][trial]`, each list unsorted.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeTable {
    /// Spike times, ms, by unit then trial.
    pub times_ms: Vec<Vec<Vec<f64>>>,
}

/// Parse a spike CSV: a header naming `unit`, `trial` and `time_ms` (any
/// order; other columns ignored), then one spike per row. Units and trials
/// are 0-based indices; the table spans max index + 1 of each.
pub fn parse_spike_csv(bytes: &[u8], source: &str) -> Result<SpikeTable> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header = r
        .headers()
        .with_context(|| format!("{source}: cannot read the CSV header"))?
        .clone();
    let col = |name: &str| {
        header.iter().position(|h| h == name).with_context(|| {
            format!("{source}: no `{name}` column (the header must name unit, trial, time_ms)")
        })
    };
    let (cu, ct, cs) = (col("unit")?, col("trial")?, col("time_ms")?);
    let mut rows = Vec::new();
    let (mut n_units, mut n_trials) = (0usize, 0usize);
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.with_context(|| format!("{source}: line {line} is not valid CSV"))?;
        let field = |c: usize, name: &str| {
            rec.get(c)
                .with_context(|| format!("{source}: line {line} has no `{name}` field"))
        };
        let unit: usize = field(cu, "unit")?
            .parse()
            .with_context(|| format!("{source}: line {line}: `unit` must be an index ≥ 0"))?;
        let trial: usize = field(ct, "trial")?
            .parse()
            .with_context(|| format!("{source}: line {line}: `trial` must be an index ≥ 0"))?;
        let t: f64 = field(cs, "time_ms")?
            .parse()
            .with_context(|| format!("{source}: line {line}: `time_ms` must be a number"))?;
        if !t.is_finite() {
            bail!("{source}: line {line}: `time_ms` = {t} must be finite");
        }
        if unit >= 1_000_000 || trial >= 1_000_000 {
            bail!("{source}: line {line}: unit/trial index above the allowed 999,999");
        }
        n_units = n_units.max(unit + 1);
        n_trials = n_trials.max(trial + 1);
        rows.push((unit, trial, t));
    }
    if rows.is_empty() {
        bail!("{source}: no spikes");
    }
    let mut times_ms = vec![vec![Vec::new(); n_trials]; n_units];
    for (u, tr, t) in rows {
        times_ms[u][tr].push(t);
    }
    Ok(SpikeTable { times_ms })
}

/// Read a spike CSV file.
pub fn read_spike_csv(path: &Path) -> Result<SpikeTable> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_spike_csv(&bytes, &path.display().to_string())
}

/// Parse a `.npy` array of little-endian f32 or f64 in C order.
pub fn parse_npy(bytes: &[u8], source: &str) -> Result<ArrayD<f64>> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("{source}: not a .npy file (bad magic)");
    }
    let major = bytes[6];
    let (hlen, start): (usize, usize) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => bail!("{source}: unsupported .npy version {major}"),
    };
    let header = bytes
        .get(start..start.saturating_add(hlen))
        .with_context(|| format!("{source}: truncated .npy header"))?;
    let header =
        std::str::from_utf8(header).with_context(|| format!("{source}: header is not text"))?;
    let descr = if header.contains("'<f4'") {
        4
    } else if header.contains("'<f8'") {
        8
    } else {
        bail!("{source}: dtype must be little-endian float32 or float64 ('<f4'/'<f8')");
    };
    if header.contains("'fortran_order': True") {
        bail!("{source}: Fortran-ordered arrays are not supported; save with C order");
    }
    let shape_text = header
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split('(').nth(1))
        .and_then(|s| s.split(')').next())
        .with_context(|| format!("{source}: no shape in the header"))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("{source}: bad shape ({shape_text})"))?;
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .with_context(|| format!("{source}: shape overflows"))?;
    let data = &bytes[start + hlen..];
    if data.len() != n.saturating_mul(descr) {
        bail!(
            "{source}: {} data bytes, expected {} for shape {shape:?}",
            data.len(),
            n.saturating_mul(descr)
        );
    }
    let values: Vec<f64> = if descr == 4 {
        data.chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect()
    };
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), values)?)
}

/// Activity `[trials, time, units]` from a safetensors file (tensor `rates`,
/// stored `[time, trial, unit]` as `wm record` writes it, or the tensor named
/// by `tensor`) or from a `.npy` file (`[trials, time, units]`).
pub fn read_activity(path: &Path, tensor: Option<&str>) -> Result<Array3<f64>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let source = path.display().to_string();
    if path.extension().is_some_and(|e| e == "npy") {
        let a = parse_npy(&bytes, &source)?;
        return a
            .into_dimensionality()
            .with_context(|| format!("{source}: expected a 3-D array [trials, time, units]"));
    }
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .with_context(|| format!("{source}: not a safetensors file"))?;
    let name = tensor.unwrap_or("rates");
    let view = st
        .tensor(name)
        .with_context(|| format!("{source}: no tensor `{name}`"))?;
    let shape = view.shape().to_vec();
    if shape.len() != 3 {
        bail!("{source}: `{name}` has shape {shape:?}, expected [time, trial, unit]");
    }
    let data = view.data();
    let values: Vec<f64> = match view.dtype() {
        safetensors::Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        safetensors::Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
        d => bail!("{source}: `{name}` has dtype {d:?}; allowed are F32 and F64"),
    };
    let (t, b, n) = (shape[0], shape[1], shape[2]);
    Ok(Array3::from_shape_fn((b, t, n), |(k, s, i)| {
        values[(s * b + k) * n + i]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spike_csv_columns_are_found_by_name() {
        let t = parse_spike_csv(b"time_ms,unit,trial\n1.5,1,0\n2.0,0,2\n", "x.csv").unwrap();
        assert_eq!(t.times_ms.len(), 2);
        assert_eq!(t.times_ms[0].len(), 3);
        assert_eq!(t.times_ms[1][0], vec![1.5]);
        assert_eq!(t.times_ms[0][2], vec![2.0]);
        let err = parse_spike_csv(b"unit,trial\n1,2\n", "x.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.csv") && err.contains("time_ms"), "{err}");
        let err = format!(
            "{:#}",
            parse_spike_csv(b"unit,trial,time_ms\n1,-2,3\n", "x.csv").unwrap_err()
        );
        assert!(err.contains("line 2") && err.contains("trial"), "{err}");
    }

    #[test]
    fn npy_round_trips_a_float64_array() {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
        let mut h = header.as_bytes().to_vec();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(b' ');
        }
        h.push(b'\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((h.len() as u16).to_le_bytes());
        bytes.extend(&h);
        for v in 0..6 {
            bytes.extend((f64::from(v) * 0.5).to_le_bytes());
        }
        let a = parse_npy(&bytes, "a.npy").unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(a[[1, 2]], 2.5);
        bytes.pop();
        assert!(parse_npy(&bytes, "a.npy").is_err());
    }

    proptest! {
        #[test]
        fn spike_csv_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_spike_csv(&bytes, "fuzz.csv");
        }

        #[test]
        fn npy_parsing_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..300), v in 0u8..4) {
            let mut bytes = b"\x93NUMPY".to_vec();
            bytes.push(v);
            bytes.push(0);
            bytes.extend(tail);
            let _ = parse_npy(&bytes, "fuzz.npy");
        }

        #[test]
        fn run_config_parsing_never_panics(text in "\\PC{0,200}") {
            let _ = toml::from_str::<crate::train::RunConfig>(&text);
        }
    }
}
