"""wm.load on files written here and by wm itself, and the Python functions
against the `wm` command line on the same data."""

import csv
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

import references as ref
import wm

ROOT = Path(__file__).resolve().parents[3]


def cli():
    """The `wm` binary: $WM_CLI (CI sets it, so a missing binary fails there),
    else the workspace's release build; skipped when neither exists."""
    path = os.environ.get("WM_CLI")
    if path:
        assert Path(path).is_file(), f"WM_CLI={path} does not exist"
        return path
    default = ROOT / "target" / "release" / "wm"
    if not default.is_file():
        pytest.skip("no wm binary (cargo build --release -p wm-cli)")
    return str(default)


def write_safetensors(path, tensors, metadata):
    """safetensors by hand: u64 header length, JSON header, raw data."""
    header, body, offset = {"__metadata__": metadata}, b"", 0
    names = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64", np.dtype("<u4"): "U32", np.dtype("<i8"): "I64"}
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        body += raw
        offset += len(raw)
    h = json.dumps(header).encode()
    Path(path).write_bytes(struct.pack("<Q", len(h)) + h + body)


def test_load_reads_every_kind_of_file(tmp_path):
    (tmp_path / "run.toml").write_text('seed = 7\nconfig = """\nn_units = 20\n[grid]\nsigma0 = [0.1, 0.2]\n"""\n')
    (tmp_path / "summary.toml").write_text("si_slope = 0.5\nn = 3\n")
    (tmp_path / "networks.csv").write_text("task,seed,si,included\n2AFC,1,2.5,true\nDE-1,2,,false\n")
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    write_safetensors(tmp_path / "weights.safetensors", {"w_hh": w, "ids": np.array([1, 2], dtype=np.int64)}, {"k": "v"})
    np.save(tmp_path / "x.npy", np.eye(2))
    (tmp_path / "REPORT.md").write_text("# report")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "summary.toml").write_text("a = 1\n")
    (tmp_path / ".w.safetensors.123.tmp").write_bytes(b"garbage")
    d = wm.load(tmp_path)
    assert set(d) == {"run", "summary", "networks", "weights", "x", "sub"}
    assert d["run"]["seed"] == 7 and d["run"]["config"]["grid"]["sigma0"] == [0.1, 0.2]
    assert "n_units = 20" in d["run"]["config_text"]
    assert d["summary"] == {"si_slope": 0.5, "n": 3}
    net = d["networks"]
    assert list(net["task"]) == ["2AFC", "DE-1"] and net["seed"].dtype == np.int64
    assert net["si"][0] == 2.5 and np.isnan(net["si"][1]) and list(net["included"]) == [True, False]
    np.testing.assert_array_equal(d["weights"]["w_hh"], w)
    assert d["weights"]["w_hh"].dtype == np.float32 and d["weights"]["__metadata__"] == {"k": "v"}
    np.testing.assert_array_equal(d["x"], np.eye(2))
    assert d["sub"]["summary"]["a"] == 1
    np.testing.assert_array_equal(wm.load(tmp_path / "weights.safetensors")["ids"], [1, 2])


def test_load_transposes_activity_of_the_old_layout(tmp_path):
    rates = np.random.default_rng(0).random((5, 3, 4)).astype(np.float32)  # [time, trial, unit]
    write_safetensors(tmp_path / "a.safetensors", {"rates": rates}, {"layout": "[time, trial, unit]"})
    got = wm.load(tmp_path / "a.safetensors")
    np.testing.assert_array_equal(got["rates"], rates.transpose(1, 0, 2))
    assert got["__metadata__"]["layout"] == "[trial, time, unit]"


def header_only(h):
    return struct.pack("<Q", len(h)) + h


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("bad.toml", b"a = = 1", "TOML"),
        ("bad.csv", b"a,b\n1\n", "line 2"),
        ("bad.csv", b"", "empty"),
        ("bad.safetensors", b"\x01\x00", "not a safetensors"),
        ("bad.safetensors", struct.pack("<Q", 10**9) + b"{}", "exceeds"),
        ("bad.safetensors", struct.pack("<Q", 3) + b"[1]x", "JSON object"),
        ("bad.safetensors", struct.pack("<Q", 3) + b"{x}", "not JSON"),
        ("bad.safetensors", header_only(b'{"w":{"dtype":"F64","shape":[4],"data_offsets":[0,32]}}') + b"\0" * 8, "do not hold"),
        ("bad.safetensors", header_only(b'{"w":{"dtype":"Q9","shape":[1],"data_offsets":[0,8]}}'), "unsupported"),
        ("bad.npy", b"\x93NUMPYxx", "bad.npy"),
        ("bad.bin", b"", "unknown file type"),
    ],
)
def test_load_rejects_malformed_files(tmp_path, name, content, match):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=match):
        wm.load(tmp_path / name)


def test_load_reads_a_stored_results_folder():
    folder = ROOT / "experiments" / "kim-sejnowski" / "paper-networks-results"
    d = wm.load(folder)
    assert d["run"]["study"] == "kim-sejnowski" and d["run"]["config"]["networks_per_condition"] == 40
    with open(folder / "networks.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(d["networks"]["task"]) == len(rows)
    np.testing.assert_allclose(d["networks"]["mean_timescale_ms"], [float(r["mean_timescale_ms"]) for r in rows])


def test_si_agrees_with_the_cli(tmp_path):
    rng = np.random.default_rng(1)
    t = np.arange(40)[None, :, None]
    a = 2 * np.exp(-((t - rng.uniform(0, 40, (6, 1, 25))) ** 2) / 10) + 0.01
    np.save(tmp_path / "a.npy", a)
    subprocess.run([cli(), "analyze", "si", str(tmp_path / "a.npy"), "--out", str(tmp_path / "si.csv")], check=True, capture_output=True)
    table = wm.load(tmp_path / "si.csv")
    np.testing.assert_array_equal(table["trial"], np.arange(6))
    np.testing.assert_allclose(table["si"], wm.sequentiality_index(a), rtol=1e-12)


def test_timescales_agree_with_the_cli(tmp_path):
    rng = np.random.default_rng(2)
    counts = ref.ou_poisson_counts(rng, 12, 60, 20, 150.0)
    rows = []
    for u, k, b in zip(*np.nonzero(counts)):
        for _ in range(counts[u, k, b]):
            rows.append((u, k, 50.0 * b + rng.uniform(0, 50)))
    with open(tmp_path / "spikes.csv", "w") as f:
        f.write("unit,trial,time_ms\n")
        f.writelines(f"{u},{k},{t:.6f}\n" for u, k, t in rows)
    unit, trial, time_ms = np.loadtxt(tmp_path / "spikes.csv", delimiter=",", skiprows=1, unpack=True)
    binned = wm.bin_spikes(unit, trial, time_ms, bin_ms=50.0, start_ms=0.0, stop_ms=1000.0)
    np.testing.assert_array_equal(binned, counts)
    fit = wm.autocorrelation_timescales(binned, bin_ms=50.0)
    subprocess.run(
        [cli(), "analyze", "timescales", str(tmp_path / "spikes.csv"), "--stop-ms", "1000", "--out", str(tmp_path / "tau.csv")],
        check=True,
        capture_output=True,
    )
    table = wm.load(tmp_path / "tau.csv")
    np.testing.assert_allclose(table["tau_ms"], fit["tau_ms"], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(table["rate_hz"], fit["rate_hz"], rtol=1e-12)
    assert [str(x) for x in table["exclusion"]] == [str(x) for x in fit["exclusion"]] or (
        # An all-empty column parses as NaN floats.
        np.all(fit["exclusion"] == "")
    )


def test_recorded_activity_is_trial_time_unit(tmp_path):
    """`wm record` writes [trial, time, unit]; Python and `wm analyze si` read it alike."""
    (tmp_path / "run.toml").write_text(
        'task = "2AFC"\nlambda0 = 0.9\nsigma0 = 0.2\nseed = 1\n[experiment]\nn_units = 20\niterations = 20\nrecord_trials = 7\n'
    )
    net = tmp_path / "net"
    for cmd in ("train", "record"):
        subprocess.run([cli(), cmd, "--config", str(tmp_path / "run.toml"), "--out", str(net)], check=True, capture_output=True)
    d = wm.load(net)
    act = d["activity"]
    rates, target, inputs = act["rates"], act["target"], act["input"]
    # 7 recorded trials first, then the task's time steps, then 20 units.
    assert rates.ndim == 3 and rates.shape[0] == 7 and rates.shape[1] > 7 and rates.shape[2] == 20
    assert rates.shape[:2] == target.shape[:2] == inputs.shape[:2]
    assert act["__metadata__"]["layout"] == "[trial, time, unit]"
    subprocess.run([cli(), "analyze", "si", str(net / "activity.safetensors"), "--out", str(tmp_path / "si.csv")], check=True, capture_output=True)
    np.testing.assert_allclose(wm.load(tmp_path / "si.csv")["si"], wm.sequentiality_index(rates), rtol=1e-6, equal_nan=True)
