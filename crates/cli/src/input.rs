//! Reading recordings: spike times from CSV (`unit,trial,time_ms`) and
//! activity arrays `[trial, time, unit]` from safetensors, `.npy` or `.npz`
//! files. Parsers return errors naming the file, line or field; they never
//! panic on malformed bytes.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use ndarray::{Array3, ArrayD, IxDyn, ShapeBuilder};

/// A spike table, one row per spike: 0-based `unit` and `trial` indices and
/// the spike time in ms. Rows are kept as columns (no per-unit or per-trial
/// allocation), so a stray huge index costs nothing until binning, which
/// checks the size first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpikeTable {
    /// Unit index of each spike.
    pub unit: Vec<usize>,
    /// Trial index of each spike.
    pub trial: Vec<usize>,
    /// Spike time, ms.
    pub time_ms: Vec<f64>,
}

/// Parse a spike CSV: a header naming `unit`, `trial` and `time_ms` (any
/// order; other columns ignored), then one spike per row. Units and trials
/// are 0-based indices.
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
    let mut table = SpikeTable::default();
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
        table.unit.push(unit);
        table.trial.push(trial);
        table.time_ms.push(t);
    }
    if table.time_ms.is_empty() {
        bail!("{source}: no spikes");
    }
    Ok(table)
}

/// Read a spike CSV file.
pub fn read_spike_csv(path: &Path) -> Result<SpikeTable> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_spike_csv(&bytes, &path.display().to_string())
}

/// An element type of the arrays wm reads; every value becomes an `f64`
/// (64-bit integers above 2⁵³ round to the nearest `f64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
}

impl Elem {
    /// Bytes per element.
    fn size(self) -> usize {
        match self {
            Elem::Bool | Elem::I8 | Elem::U8 => 1,
            Elem::I16 | Elem::U16 => 2,
            Elem::I32 | Elem::U32 | Elem::F32 => 4,
            Elem::I64 | Elem::U64 | Elem::F64 => 8,
        }
    }

    /// Every element of `data` (a whole number of elements), stored
    /// big-endian if `big`, else little-endian.
    fn decode(self, data: &[u8], big: bool) -> Vec<f64> {
        fn le<const K: usize>(c: &[u8], big: bool) -> [u8; K] {
            let mut a = [0u8; K];
            a.copy_from_slice(c);
            if big {
                a.reverse();
            }
            a
        }
        data.chunks_exact(self.size())
            .map(|c| match self {
                Elem::Bool => f64::from(u8::from(c[0] != 0)),
                Elem::I8 => f64::from(i8::from_le_bytes(le(c, big))),
                Elem::U8 => f64::from(c[0]),
                Elem::I16 => f64::from(i16::from_le_bytes(le(c, big))),
                Elem::U16 => f64::from(u16::from_le_bytes(le(c, big))),
                Elem::I32 => f64::from(i32::from_le_bytes(le(c, big))),
                Elem::U32 => f64::from(u32::from_le_bytes(le(c, big))),
                Elem::I64 => i64::from_le_bytes(le(c, big)) as f64,
                Elem::U64 => u64::from_le_bytes(le(c, big)) as f64,
                Elem::F32 => f64::from(f32::from_le_bytes(le(c, big))),
                Elem::F64 => f64::from_le_bytes(le(c, big)),
            })
            .collect()
    }
}

/// The `.npy` dtypes wm reads, as the error messages list them.
const NPY_DTYPES: &str = "float32/64, (u)int8/16/32/64 or bool ('<f4' '<f8' '|i1' '<i2' '<i4' \
                          '<i8' '|u1' '<u2' '<u4' '<u8' '|b1'; '>' for big-endian)";

/// The element type and byte order (`true`: big-endian) of a `.npy` `descr`.
fn npy_dtype(descr: &str) -> Option<(Elem, bool)> {
    let (order, code) = descr.split_at_checked(1)?;
    let big = match order {
        "<" | "|" => false,
        ">" => true,
        _ => return None,
    };
    let elem = match code {
        "b1" => Elem::Bool,
        "i1" => Elem::I8,
        "i2" => Elem::I16,
        "i4" => Elem::I32,
        "i8" => Elem::I64,
        "u1" => Elem::U8,
        "u2" => Elem::U16,
        "u4" => Elem::U32,
        "u8" => Elem::U64,
        "f4" => Elem::F32,
        "f8" => Elem::F64,
        _ => return None,
    };
    Some((elem, big))
}

/// The text that follows `'key':` in a `.npy` header (a Python dict literal).
fn npy_field<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let quoted = format!("'{key}'");
    let at = header.find(&quoted)?;
    header[at + quoted.len()..]
        .trim_start()
        .strip_prefix(':')
        .map(str::trim_start)
}

/// Parse a `.npy` array (format versions 1–3) of float32/64, (u)int8–64 or
/// bool, little- or big-endian, in C or Fortran order; the result is in C
/// (row-major) order whatever the file's order.
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
    let descr = npy_field(header, "descr")
        .with_context(|| format!("{source}: no 'descr' (dtype) in the header"))?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .with_context(|| {
            format!("{source}: dtype {descr:.40} is a structured dtype; allowed are {NPY_DTYPES}")
        })?;
    let (elem, big) = npy_dtype(descr).with_context(|| {
        format!("{source}: dtype '{descr}' is not allowed; allowed are {NPY_DTYPES}")
    })?;
    let fortran = match npy_field(header, "fortran_order") {
        Some(v) if v.starts_with("True") => true,
        Some(v) if v.starts_with("False") => false,
        _ => bail!("{source}: no 'fortran_order': True/False in the header"),
    };
    let shape_text = npy_field(header, "shape")
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.split(')').next())
        .with_context(|| format!("{source}: no shape in the header"))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("{source}: bad shape ({shape_text})"))?;
    let n_bytes = shape
        .iter()
        .try_fold(elem.size(), |a, &d| a.checked_mul(d))
        .with_context(|| format!("{source}: shape {shape:?} overflows"))?;
    let data = &bytes[start + hlen..];
    if data.len() != n_bytes {
        bail!(
            "{source}: {} data bytes, expected {n_bytes} for shape {shape:?} of '{descr}'",
            data.len()
        );
    }
    let values = elem.decode(data, big);
    if fortran {
        let a = ArrayD::from_shape_vec(IxDyn(&shape).f(), values)?;
        Ok(a.as_standard_layout().into_owned())
    } else {
        Ok(ArrayD::from_shape_vec(IxDyn(&shape), values)?)
    }
}

/// Parse a `.npz` archive (as `np.savez` writes it, stored, or
/// `np.savez_compressed`, deflated) and return its array `name`; without a
/// name, the array `rates`, or the only array of the archive.
pub fn parse_npz(bytes: &[u8], name: Option<&str>, source: &str) -> Result<ArrayD<f64>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .with_context(|| format!("{source}: not a .npz file (not a readable zip archive)"))?;
    let mut names: Vec<String> = zip
        .file_names_raw()
        .filter_map(|f| std::str::from_utf8(f).ok()?.strip_suffix(".npy"))
        .map(String::from)
        .collect();
    names.sort();
    let name = match name {
        Some(n) => n,
        None if names.iter().any(|n| n == "rates") => "rates",
        None if names.len() == 1 => &names[0],
        None => bail!(
            "{source}: holds the arrays [{}] and none is named `rates`; pick one with --tensor",
            names.join(", ")
        ),
    };
    if !names.iter().any(|n| n == name) {
        bail!(
            "{source}: no array `{name}` (it holds [{}])",
            names.join(", ")
        );
    }
    let mut data = Vec::new();
    zip.by_name(&format!("{name}.npy"))
        .map_err(anyhow::Error::from)
        .and_then(|mut f| Ok(f.read_to_end(&mut data)?))
        .with_context(|| format!("{source}: cannot unpack `{name}.npy`"))?;
    parse_npy(&data, &format!("{source}, array `{name}`"))
}

/// How to permute a stored safetensors activity tensor `name` to
/// `[trial, time, ·]`: from its `axes_<name>` metadata (`wm record` writes
/// e.g. `axes_rates = "trial,time,unit"`), else from a `layout = "[time,
/// trial, unit]"` (files of `wm record` before it stored trials first);
/// without either, the tensor is taken as `[trial, time, ·]`.
fn axis_order(
    meta: Option<&HashMap<String, String>>,
    name: &str,
    source: &str,
) -> Result<[usize; 3]> {
    let get = |key: &str| meta.and_then(|m| m.get(key)).map(String::as_str);
    let key = format!("axes_{name}");
    if let Some(axes) = get(&key) {
        let names: Vec<&str> = axes.split(',').map(str::trim).collect();
        let at = |a: &str| names.iter().position(|&x| x == a);
        match (names.len(), at("trial"), at("time")) {
            (3, Some(trial), Some(time)) => Ok([trial, time, 3 - trial - time]),
            _ => bail!(
                "{source}: {key} = \"{axes}\" must name three axes, `trial` and `time` among them"
            ),
        }
    } else if get("layout") == Some("[time, trial, unit]") {
        Ok([1, 0, 2])
    } else {
        Ok([0, 1, 2])
    }
}

/// Activity `[trial, time, ·]` of tensor `name` (default `rates`) of a
/// safetensors file, in any of the dtypes F32, F64, I8–I64, U8–U64, BOOL.
fn parse_safetensors_activity(
    bytes: &[u8],
    name: Option<&str>,
    source: &str,
) -> Result<Array3<f64>> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .with_context(|| format!("{source}: not a safetensors file"))?;
    let st = safetensors::SafeTensors::deserialize(bytes)
        .with_context(|| format!("{source}: not a safetensors file"))?;
    let name = name.unwrap_or("rates");
    let view = st.tensor(name).with_context(|| {
        let mut names = st.names();
        names.sort();
        format!("{source}: no tensor `{name}` (it holds {names:?})")
    })?;
    let elem = match view.dtype() {
        safetensors::Dtype::BOOL => Elem::Bool,
        safetensors::Dtype::I8 => Elem::I8,
        safetensors::Dtype::I16 => Elem::I16,
        safetensors::Dtype::I32 => Elem::I32,
        safetensors::Dtype::I64 => Elem::I64,
        safetensors::Dtype::U8 => Elem::U8,
        safetensors::Dtype::U16 => Elem::U16,
        safetensors::Dtype::U32 => Elem::U32,
        safetensors::Dtype::U64 => Elem::U64,
        safetensors::Dtype::F32 => Elem::F32,
        safetensors::Dtype::F64 => Elem::F64,
        d => bail!(
            "{source}: `{name}` has dtype {d:?}; allowed are F32, F64, I8–I64, U8–U64 and BOOL"
        ),
    };
    let &[d0, d1, d2] = view.shape() else {
        bail!(
            "{source}: `{name}` has shape {:?}, expected 3 axes [trial, time, unit]",
            view.shape()
        );
    };
    let order = axis_order(meta.metadata().as_ref(), name, source)?;
    let stored = Array3::from_shape_vec((d0, d1, d2), elem.decode(view.data(), false))
        .with_context(|| format!("{source}: `{name}` holds too few bytes for its shape"))?;
    Ok(stored
        .permuted_axes(order)
        .as_standard_layout()
        .into_owned())
}

/// Activity `[trial, time, unit]`: from a safetensors file (tensor `rates`
/// as `wm record` writes it, or the tensor named by `tensor`; its axes
/// reordered as the file's metadata says), a `.npy` file, or an array of a
/// `.npz` archive (`tensor`, default `rates` or the only one). Float,
/// integer and bool arrays are read as `f64`.
pub fn read_activity(path: &Path, tensor: Option<&str>) -> Result<Array3<f64>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let source = path.display().to_string();
    let a = match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => {
            if let Some(t) = tensor {
                bail!(
                    "{source}: a .npy file holds one array; --tensor {t} applies to .npz and safetensors files"
                );
            }
            parse_npy(&bytes, &source)?
        }
        Some("npz") => parse_npz(&bytes, tensor, &source)?,
        _ => return parse_safetensors_activity(&bytes, tensor, &source),
    };
    let shape = a.shape().to_vec();
    a.into_dimensionality().with_context(|| {
        format!("{source}: the array has shape {shape:?}, expected 3 axes [trial, time, unit]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use wm_tests::npy_bytes as npy;

    #[test]
    fn spike_csv_columns_are_found_by_name() {
        let t = parse_spike_csv(b"time_ms,unit,trial\n1.5,1,0\n2.0,0,2\n", "x.csv").unwrap();
        assert_eq!(t.unit, vec![1, 0]);
        assert_eq!(t.trial, vec![0, 2]);
        assert_eq!(t.time_ms, vec![1.5, 2.0]);
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

    /// CRC-32 (IEEE, reflected), as zip members carry it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    /// A `.npz` archive built field by field (PKWARE's APPNOTE §4.3): each
    /// member `name.npy` stored, or with `deflate`, compression method 8 in
    /// stored deflate blocks (RFC 1951 §3.2.4).
    fn npz(members: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
        let (mut out, mut central) = (Vec::new(), Vec::new());
        for &(name, data) in members {
            let name = format!("{name}.npy");
            let body = if deflate {
                let mut d = Vec::new();
                let n_blocks = data.len().div_ceil(65535).max(1);
                for k in 0..n_blocks {
                    let block =
                        &data[(k * 65535).min(data.len())..((k + 1) * 65535).min(data.len())];
                    d.push(u8::from(k + 1 == n_blocks));
                    d.extend((block.len() as u16).to_le_bytes());
                    d.extend((!(block.len() as u16)).to_le_bytes());
                    d.extend(block);
                }
                d
            } else {
                data.to_vec()
            };
            let offset = out.len() as u32;
            let fields = |v: &mut Vec<u8>| {
                v.extend(20u16.to_le_bytes()); // version needed
                v.extend(0u16.to_le_bytes()); // flags
                v.extend(if deflate { 8u16 } else { 0 }.to_le_bytes());
                v.extend([0u8; 4]); // time, date
                v.extend(crc32(data).to_le_bytes());
                v.extend((body.len() as u32).to_le_bytes());
                v.extend((data.len() as u32).to_le_bytes());
                v.extend((name.len() as u16).to_le_bytes());
                v.extend(0u16.to_le_bytes()); // extra field length
            };
            out.extend(0x0403_4b50u32.to_le_bytes());
            fields(&mut out);
            out.extend(name.as_bytes());
            out.extend(&body);
            central.extend(0x0201_4b50u32.to_le_bytes());
            central.extend(20u16.to_le_bytes()); // version made by
            fields(&mut central);
            central.extend([0u8; 10]); // comment length, disk, internal and external attributes
            central.extend(offset.to_le_bytes());
            central.extend(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend(&central);
        out.extend(0x0605_4b50u32.to_le_bytes());
        out.extend([0u8; 4]); // disk numbers
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((central.len() as u32).to_le_bytes());
        out.extend(cd_offset.to_le_bytes());
        out.extend(0u16.to_le_bytes()); // comment length
        out
    }

    fn le_bytes<const K: usize, T>(values: &[T], f: impl Fn(&T) -> [u8; K]) -> Vec<u8> {
        values.iter().flat_map(f).collect()
    }

    #[test]
    fn npy_round_trips_a_float64_array() {
        let data = le_bytes(&[0.0, 0.5, 1.0, 1.5, 2.0, 2.5], |v: &f64| v.to_le_bytes());
        let mut bytes = npy("<f8", false, "(2, 3)", &data);
        let a = parse_npy(&bytes, "a.npy").unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(a[[1, 2]], 2.5);
        bytes.pop();
        let err = parse_npy(&bytes, "a.npy").unwrap_err().to_string();
        assert!(err.contains("a.npy") && err.contains("data bytes"), "{err}");
    }

    #[test]
    fn npy_reads_integer_and_bool_arrays() {
        let counts = [1i64, -2, 3, 4, 5, i64::from(i32::MIN)];
        let a = parse_npy(
            &npy(
                "<i8",
                false,
                "(2, 3)",
                &le_bytes(&counts, |v| v.to_le_bytes()),
            ),
            "c.npy",
        )
        .unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(
            a.iter().copied().collect::<Vec<_>>(),
            [1.0, -2.0, 3.0, 4.0, 5.0, -2_147_483_648.0]
        );
        let a = parse_npy(&npy("|u1", false, "(3,)", &[0, 7, 255]), "u.npy").unwrap();
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [0.0, 7.0, 255.0]);
        let a = parse_npy(&npy("|i1", false, "(2,)", &[0x80, 0x7f]), "i.npy").unwrap();
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [-128.0, 127.0]);
        let a = parse_npy(&npy("|b1", false, "(3,)", &[1, 0, 1]), "b.npy").unwrap();
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [1.0, 0.0, 1.0]);
        let data = le_bytes(&[65535u16, 2], |v| v.to_le_bytes());
        let a = parse_npy(&npy("<u2", false, "(2,)", &data), "u2.npy").unwrap();
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [65535.0, 2.0]);
        let data = le_bytes(&[-1i32, 1 << 20], |v| v.to_le_bytes());
        let a = parse_npy(&npy("<i4", false, "(2,)", &data), "i4.npy").unwrap();
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [-1.0, 1_048_576.0]);
    }

    #[test]
    fn npy_in_fortran_order_reads_transposed_storage() {
        // Column-major storage of [[0, 2, 4], [1, 3, 5]].
        let data = le_bytes(&[0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0], |v| v.to_le_bytes());
        let a = parse_npy(&npy("<f4", true, "(2, 3)", &data), "f.npy").unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert!(a.is_standard_layout());
        assert_eq!(
            a.iter().copied().collect::<Vec<_>>(),
            [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
        );
        // 3-D: element [b, t, i] lies at b + 2·t + 6·i.
        let data = le_bytes(&(0..24u32).collect::<Vec<_>>(), |v| v.to_le_bytes());
        let a = parse_npy(&npy("<u4", true, "(2, 3, 4)", &data), "f3.npy").unwrap();
        for ((b, t, i), &v) in a
            .into_dimensionality::<ndarray::Ix3>()
            .unwrap()
            .indexed_iter()
        {
            assert_eq!(v, (b + 2 * t + 6 * i) as f64);
        }
    }

    #[test]
    fn npy_reads_big_endian_arrays() {
        let data = le_bytes(&[1.5f64, -2.25], |v| v.to_be_bytes());
        let a = parse_npy(&npy(">f8", false, "(2,)", &data), "be.npy").unwrap();
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [1.5, -2.25]);
        let data = le_bytes(&[-7i32, 65536], |v| v.to_be_bytes());
        let a = parse_npy(&npy(">i4", false, "(2,)", &data), "be.npy").unwrap();
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [-7.0, 65536.0]);
        let data = le_bytes(&[0.25f32, 3.0], |v| v.to_be_bytes());
        let a = parse_npy(&npy(">f4", true, "(1, 2)", &data), "be.npy").unwrap();
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [0.25, 3.0]);
    }

    #[test]
    fn npy_refuses_other_dtypes_naming_them() {
        for descr in ["<f2", "<c16", "<U3", "=f8"] {
            let err = parse_npy(&npy(descr, false, "(1,)", &[0; 2]), "x.npy")
                .unwrap_err()
                .to_string();
            assert!(err.contains("x.npy") && err.contains(descr), "{err}");
        }
        let header = b"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }\n";
        let mut structured = b"\x93NUMPY\x01\x00".to_vec();
        structured.extend((header.len() as u16).to_le_bytes());
        structured.extend(header);
        structured.extend([0; 8]);
        let err = parse_npy(&structured, "s.npy").unwrap_err().to_string();
        assert!(err.contains("s.npy") && err.contains("structured"), "{err}");
    }

    /// Two arrays: `rates` f64 [2, 3] and `counts` i8 [3].
    fn two_arrays() -> (Vec<u8>, Vec<u8>) {
        let rates = npy(
            "<f8",
            false,
            "(2, 3)",
            &le_bytes(&[0.5f64, 1.0, 1.5, 2.0, 2.5, 3.0], |v| v.to_le_bytes()),
        );
        let counts = npy(
            "<i8",
            false,
            "(3,)",
            &le_bytes(&[4i64, 0, 9], |v| v.to_le_bytes()),
        );
        (rates, counts)
    }

    #[test]
    fn npz_picks_its_arrays_by_name() {
        let (rates, counts) = two_arrays();
        for deflate in [false, true] {
            let z = npz(&[("counts", &counts), ("rates", &rates)], deflate);
            let a = parse_npz(&z, None, "a.npz").unwrap();
            assert_eq!(a.shape(), &[2, 3]);
            assert_eq!(a[[1, 0]], 2.0);
            let c = parse_npz(&z, Some("counts"), "a.npz").unwrap();
            assert_eq!(c.iter().copied().collect::<Vec<_>>(), [4.0, 0.0, 9.0]);
            let err = format!("{:#}", parse_npz(&z, Some("spikes"), "a.npz").unwrap_err());
            assert!(
                err.contains("a.npz")
                    && err.contains("no array `spikes`")
                    && err.contains("counts, rates"),
                "{err}"
            );
            // Without `rates`: the only array, else the name must be given.
            let one = npz(&[("counts", &counts)], deflate);
            assert_eq!(parse_npz(&one, None, "b.npz").unwrap(), c);
            let two = npz(&[("counts", &counts), ("other", &rates)], deflate);
            let err = format!("{:#}", parse_npz(&two, None, "c.npz").unwrap_err());
            assert!(err.contains("c.npz") && err.contains("--tensor"), "{err}");
        }
    }

    #[test]
    fn npz_errors_name_the_file_and_the_fault() {
        let (rates, _) = two_arrays();
        let mut z = npz(&[("rates", &rates)], false);
        // A flipped data byte fails the member's CRC.
        let at = rates.len() / 2 + 30 + "rates.npy".len();
        z[at] ^= 0xff;
        let err = format!("{:#}", parse_npz(&z, None, "bad.npz").unwrap_err());
        assert!(
            err.contains("bad.npz") && err.contains("rates.npy"),
            "{err}"
        );
        let err = format!(
            "{:#}",
            parse_npz(b"PK not a zip", None, "bad.npz").unwrap_err()
        );
        assert!(err.contains("bad.npz") && err.contains("zip"), "{err}");
        // A member that is not a valid .npy is reported with its name.
        let z = npz(&[("rates", b"garbage")], true);
        let err = format!("{:#}", parse_npz(&z, None, "g.npz").unwrap_err());
        assert!(
            err.contains("g.npz") && err.contains("`rates`") && err.contains("magic"),
            "{err}"
        );
    }

    /// `np.savez_compressed(f, rates=np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5,
    /// counts=np.asfortranarray(np.arange(24, dtype='>i2').reshape(2, 3, 4) - 5))`
    /// as written by NumPy 2.4 (zip64 members, Huffman-coded deflate).
    const NUMPY_NPZ: &[&str] = &[
        "504b03042d000000080000002100bc2e388affffffffffffffff0900140072617465732e6e707901001000e0",
        "0000000000000089000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a2aea3a09e",
        "965f54529498179f5f94920a12774bcc294e058a17672416a402f91a463a0ac63a0a269a3a0ab50ae4012e06",
        "08b067606800e20340cce0c0c0a000c40e409c00c40d403c01881700f106203e00c41780f801107f00620647",
        "06060e2016006209205600620d203600620b4700504b03042d0000000800000021002903a9a5ffffffffffff",
        "ffff0a001400636f756e74732e6e707901001000b00000000000000079000000000000009bec17ea1b10c9c8",
        "50c650ad9e925a9c5ca46ea5a06e9369a4aea3a09e965f54529498179f5f94920a120f292a4d050a17672416",
        "a402b91a463a0ac63a0a269a3a0ab50a6402aedfffd919feffe7666066e067f8f39f838181818781854180e1",
        "ef7f4e0646065e06560641867fffb9189818f818d818841800504b01022d032d000000080000002100bc2e38",
        "8a89000000e000000009000000000000000000000080010000000072617465732e6e7079504b01022d032d00",
        "00000800000021002903a9a579000000b00000000a00000000000000000000008001c4000000636f756e7473",
        "2e6e7079504b050600000000020002006f000000790100000000",
    ];

    fn numpy_npz() -> Vec<u8> {
        let hex: String = NUMPY_NPZ.concat();
        (0..hex.len())
            .step_by(2)
            .map(|k| u8::from_str_radix(&hex[k..k + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn npz_reads_what_numpy_savez_compressed_writes() {
        let bytes = numpy_npz();
        let rates = parse_npz(&bytes, None, "np.npz").unwrap();
        let counts = parse_npz(&bytes, Some("counts"), "np.npz").unwrap();
        assert_eq!(
            (rates.shape(), counts.shape()),
            (&[2, 3, 4][..], &[2, 3, 4][..])
        );
        for (k, (&r, &c)) in rates.iter().zip(&counts).enumerate() {
            assert_eq!((r, c), (0.5 * k as f64, k as f64 - 5.0));
        }
    }

    #[test]
    fn read_activity_takes_npz_and_refuses_a_tensor_name_for_npy() {
        let d = tempfile::tempdir().unwrap();
        let counts = npy("|u1", false, "(1, 2, 2)", &[3, 1, 4, 1]);
        let z = d.path().join("a.npz");
        std::fs::write(&z, npz(&[("counts", &counts)], true)).unwrap();
        let a = read_activity(&z, None).unwrap();
        assert_eq!(a.dim(), (1, 2, 2));
        assert_eq!(a[[0, 1, 0]], 4.0);
        let p = d.path().join("a.npy");
        std::fs::write(&p, &counts).unwrap();
        assert_eq!(read_activity(&p, None).unwrap(), a);
        let err = format!("{:#}", read_activity(&p, Some("counts")).unwrap_err());
        assert!(err.contains("a.npy") && err.contains("--tensor"), "{err}");
        std::fs::write(&p, npy("|u1", false, "(4,)", &[3, 1, 4, 1])).unwrap();
        let err = format!("{:#}", read_activity(&p, None).unwrap_err());
        assert!(
            err.contains("a.npy") && err.contains("[4]") && err.contains("3 axes"),
            "{err}"
        );
    }

    /// An activity of `T` = 4 steps, `B` = 3 trials, `N` = 5 units with a
    /// distinct value in every slot, and its batch, written by `wm record`'s writer.
    fn recorded() -> (
        wm_rate_rnn::record::Activity,
        wm_tasks::TrialBatch,
        tempfile::TempDir,
    ) {
        let (t, b, n, o, i) = (4, 3, 5, 2, 6);
        let values =
            |len: usize, scale: f32| (0..len).map(|k| k as f32 * scale).collect::<Vec<f32>>();
        let act = wm_rate_rnn::record::Activity {
            n_steps: t,
            batch_size: b,
            n_units: n,
            n_outputs: o,
            rates: values(t * b * n, 0.25),
            output: values(t * b * o, -1.0),
        };
        let mut batch = wm_tasks::TrialBatch::zeros(t, b, i, o);
        batch.input = values(t * b * i, 2.0);
        batch.target = values(t * b * o, 0.5);
        let dir = tempfile::tempdir().unwrap();
        wm_rate_rnn::record::write_activity(&dir.path().join("activity.safetensors"), &act, &batch)
            .unwrap();
        (act, batch, dir)
    }

    #[test]
    fn recorded_activity_reads_as_trial_time_unit() {
        let (act, batch, dir) = recorded();
        let path = dir.path().join("activity.safetensors");
        let (t, b) = (act.n_steps, act.batch_size);
        for (name, mem, width) in [
            (None, &act.rates, act.n_units),
            (Some("output"), &act.output, act.n_outputs),
            (Some("input"), &batch.input, batch.n_inputs),
            (Some("target"), &batch.target, batch.n_outputs),
        ] {
            let read = read_activity(&path, name).unwrap();
            assert_eq!(read.dim(), (b, t, width), "{name:?}");
            for ((k, s, i), &v) in read.indexed_iter() {
                assert_eq!(v, f64::from(mem[(s * b + k) * width + i]), "{name:?}");
            }
        }
        let err = format!("{:#}", read_activity(&path, Some("spikes")).unwrap_err());
        assert!(
            err.contains("activity.safetensors") && err.contains("`spikes`"),
            "{err}"
        );
    }

    #[test]
    fn old_time_major_files_read_the_same() {
        use safetensors::tensor::{Dtype, TensorView};
        let (act, _, dir) = recorded();
        let new = read_activity(&dir.path().join("activity.safetensors"), None).unwrap();
        // `wm record` before trial-major files: [T, B, N] and only a `layout` key.
        let (t, b, n) = (act.n_steps, act.batch_size, act.n_units);
        let data = le_bytes(&act.rates, |v| v.to_le_bytes());
        let old = dir.path().join("old.safetensors");
        let meta = HashMap::from([("layout".to_string(), "[time, trial, unit]".to_string())]);
        let view = TensorView::new(Dtype::F32, vec![t, b, n], &data).unwrap();
        safetensors::serialize_to_file([("rates", view)], Some(meta), &old).unwrap();
        assert_eq!(read_activity(&old, None).unwrap(), new);
        // Integer counts, trial-major without metadata.
        let counts: Vec<i64> = (0..2 * 3 * 2).map(|k| k - 4).collect();
        let data = le_bytes(&counts, |v| v.to_le_bytes());
        let view = TensorView::new(Dtype::I64, vec![2, 3, 2], &data).unwrap();
        let path = dir.path().join("counts.safetensors");
        safetensors::serialize_to_file([("counts", view)], None, &path).unwrap();
        let a = read_activity(&path, Some("counts")).unwrap();
        assert_eq!(
            a.iter().copied().collect::<Vec<_>>(),
            counts.iter().map(|&c| c as f64).collect::<Vec<_>>()
        );
        // Axes named in another order are put in [trial, time, ·].
        let meta = HashMap::from([("axes_rates".to_string(), "unit,trial,time".to_string())]);
        let swapped: Vec<f32> = (0..n)
            .flat_map(|i| (0..b).flat_map(move |k| (0..t).map(move |s| (i, k, s))))
            .map(|(i, k, s)| act.rates[(s * b + k) * n + i])
            .collect();
        let data = le_bytes(&swapped, |v| v.to_le_bytes());
        let view = TensorView::new(Dtype::F32, vec![n, b, t], &data).unwrap();
        let path = dir.path().join("swapped.safetensors");
        safetensors::serialize_to_file([("rates", view)], Some(meta), &path).unwrap();
        assert_eq!(read_activity(&path, None).unwrap(), new);
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
        fn edited_npy_parsing_never_panics(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
            cut in any::<usize>(),
            fortran in any::<bool>(),
        ) {
            let data = le_bytes(&[1.0f64, 2.0, 3.0, 4.0], |v| v.to_be_bytes());
            let mut bytes = npy(">f8", fortran, "(2, 2)", &data);
            let len = bytes.len();
            for (at, v) in edits {
                bytes[at % len] = v;
            }
            bytes.truncate(cut % (len + 1));
            let _ = parse_npy(&bytes, "fuzz.npy");
        }

        #[test]
        fn npz_parsing_never_panics(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
            cut in any::<usize>(),
            base in 0u8..4,
            noise in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let (rates, counts) = two_arrays();
            let mut bytes = match base {
                0 => npz(&[("rates", &rates), ("counts", &counts)], false),
                1 => npz(&[("rates", &rates)], true),
                2 => numpy_npz(),
                _ => noise,
            };
            let len = bytes.len().max(1);
            for (at, v) in edits {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b = v;
                }
            }
            bytes.truncate(cut % (len + 1));
            let _ = parse_npz(&bytes, None, "fuzz.npz");
            let _ = parse_npz(&bytes, Some("counts"), "fuzz.npz");
        }

        #[test]
        fn run_config_parsing_never_panics(text in "\\PC{0,200}") {
            let _ = toml::from_str::<crate::train::RunConfig>(&text);
        }
    }
}
