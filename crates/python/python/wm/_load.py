"""Reading wm's folders and files into Python values and numpy arrays.

wm writes TOML (configs, run records, summaries), CSV with a header (tables),
and safetensors (weights, activity, spikes). `load` reads any of them, or a
whole folder of them, without anything beyond numpy (and tomli before
Python 3.11).
"""

from __future__ import annotations

import csv
import json
import os
import struct
import sys
from pathlib import Path
from typing import Any, Dict, Union

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older interpreters only
    import tomli as tomllib

__all__ = ["load"]

# safetensors dtype names -> numpy little-endian dtypes.
_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U64": "<u8",
    "U32": "<u4",
    "U16": "<u2",
    "U8": "u1",
    "BOOL": "?",
}

PathLike = Union[str, "os.PathLike[str]"]


def load(path: PathLike) -> Any:
    """Read a wm results folder, network folder or single file.

    A folder becomes a dict with one entry per file or subfolder, keyed by
    the name without its suffix:

    * ``*.toml`` (``run``, ``summary``, ``config``, ``result`` ...) -> dict of
      Python values. A run record's embedded ``config`` text is parsed too,
      into ``run["config"]`` (the text stays in ``run["config_text"]``).
    * ``*.csv`` -> dict of column name -> numpy array (float64 or int64
      where every value parses, bool for true/false columns, else str;
      empty cells in numeric columns are NaN).
    * ``*.safetensors`` -> dict of tensor name -> numpy array, with the file's
      metadata under ``"__metadata__"``. Activity is returned
      ``[trial, time, unit]``: files written by older wm versions
      (metadata ``layout = "[time, trial, unit]"``) are transposed.
    * ``*.npy`` / ``*.npz`` -> numpy arrays.
    * subfolders -> nested dicts; other files (figures, Markdown, temporary
      files) are skipped.

    Raises ValueError naming the file for malformed content, and
    FileNotFoundError for a missing path.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or folder")
    if p.is_dir():
        return _load_dir(p)
    return _load_file(p)


def _load_dir(folder: Path) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name.endswith(".tmp"):
            continue
        if entry.is_dir():
            out[entry.name] = _load_dir(entry)
        elif entry.suffix in _LOADERS:
            key = entry.stem if entry.stem not in out else entry.name
            out[key] = _load_file(entry)
    return out


def _load_file(p: Path) -> Any:
    loader = _LOADERS.get(p.suffix)
    if loader is None:
        raise ValueError(
            f"{p}: unknown file type {p.suffix!r}; allowed: "
            + ", ".join(sorted(_LOADERS))
        )
    return loader(p)


def _load_toml(p: Path) -> Dict[str, Any]:
    try:
        with open(p, "rb") as f:
            value = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{p}: not valid TOML: {e}") from None
    text = value.get("config")
    if isinstance(text, str):
        try:
            value["config"] = tomllib.loads(text)
            value["config_text"] = text
        except tomllib.TOMLDecodeError:
            pass  # a free-text field named config stays as it is
    return value


def _column(values: list) -> np.ndarray:
    if values and all(v in ("true", "false") for v in values):
        return np.array([v == "true" for v in values], dtype=bool)
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    try:
        return np.array([float(v) if v != "" else np.nan for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=str)


def _load_csv(p: Path) -> Dict[str, np.ndarray]:
    try:
        with open(p, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{p}: not a CSV table: {e}") from None
    if not rows:
        raise ValueError(f"{p}: empty file (a wm table has a header line)")
    header, body = rows[0], rows[1:]
    for k, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(
                f"{p}: line {k} has {len(row)} fields, the header has {len(header)}"
            )
    return {name: _column([row[j] for row in body]) for j, name in enumerate(header)}


def _load_safetensors(p: Path) -> Dict[str, Any]:
    data = p.read_bytes()
    if len(data) < 8:
        raise ValueError(f"{p}: not a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{p}: header length {n} exceeds the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{p}: safetensors header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{p}: safetensors header is not a JSON object")
    body = memoryview(data)[8 + n :]
    meta = header.pop("__metadata__", None) or {}
    out: Dict[str, Any] = {}
    for name, info in header.items():
        try:
            dtype = np.dtype(_DTYPES[info["dtype"]])
            shape = tuple(int(d) for d in info["shape"])
            start, stop = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{p}: tensor {name!r} has a malformed or unsupported entry {info!r}") from None
        count = int(np.prod(shape, dtype=np.int64))
        if not (0 <= start <= stop <= len(body)) or stop - start != count * dtype.itemsize:
            raise ValueError(
                f"{p}: tensor {name!r}: bytes {start}..{stop} do not hold shape {shape} of {info['dtype']}"
            )
        out[name] = np.frombuffer(body[start:stop], dtype=dtype).reshape(shape).copy()
    if meta.get("layout") == "[time, trial, unit]":
        # Activity from wm before the one array convention: [time, trial, .].
        for name, value in out.items():
            if value.ndim == 3:
                out[name] = np.ascontiguousarray(value.transpose(1, 0, 2))
        meta = dict(meta, layout="[trial, time, unit]")
    out["__metadata__"] = meta
    return out


def _load_npy(p: Path) -> np.ndarray:
    try:
        return np.load(p, allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"{p}: {e}") from None


def _load_npz(p: Path) -> Dict[str, np.ndarray]:
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError) as e:
        raise ValueError(f"{p}: {e}") from None


_LOADERS = {
    ".toml": _load_toml,
    ".csv": _load_csv,
    ".safetensors": _load_safetensors,
    ".npy": _load_npy,
    ".npz": _load_npz,
}
