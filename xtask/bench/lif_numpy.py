"""The LIF network's step loop in plain numpy, for `cargo bench -p wm-spiking`.

The straightforward implementation of the same update (Kim, Li & Sejnowski
2019, PNAS; `spiking/LIF_network_fnc.m` of github.com/rkim35/spikeRNN): 200
units, 50 trials batched as rows, 0.05-ms steps, membrane update with a 2-ms
refractory period, voltage noise, dense propagation of the spikes
through W, double-exponential synapses. Prints `neuron_steps_per_s <value>`
(units × trials × steps per second), comparable with the Rust benchmark.

Usage: python3 xtask/bench/lif_numpy.py [steps] (default 4000; the full
fixation set is 21,000 steps)
"""
import sys
import time

import numpy as np


def run(steps, n=200, trials=50, seed=0):
    rng = np.random.default_rng(seed)
    sign = np.where(rng.random(n) < 0.2, -1.0, 1.0)
    mask = (rng.random((n, n)) < 0.2) & ~np.eye(n, dtype=bool)
    w = np.abs(rng.standard_normal((n, n))) * 1.5 / np.sqrt(n * 0.2) * sign[None, :] * mask / 40.0
    tau_d = rng.uniform(20.0, 125.0, n)
    dt, tau_m, tau_r = 0.05, 10.0, 2.0
    v_th, v_reset, bias, noise, refr = -40.0, -65.0, -40.0, 0.1, 40
    decay = np.exp(-dt / tau_d)
    rise = np.exp(-dt / tau_r)
    gain = 1.0 / (tau_r / 1000.0 * tau_d / 1000.0)
    v = rng.uniform(-65.0, 30.0, (trials, n))
    last = np.zeros((trials, n))
    s = np.zeros((trials, n))
    h = np.zeros((trials, n))
    spikes_total = 0
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        current = s + bias
        active = (i - last) > refr
        v = np.where(active, v + dt / tau_m * (current - v), v)
        v += noise * rng.standard_normal((trials, n))
        fired = v >= v_th
        v[fired] = v_reset
        last[fired] = i
        spikes_total += int(fired.sum())
        j = fired.astype(float) @ w.T
        s = s * decay + h * (dt / 1000.0)
        h = h * rise + j * gain
    secs = time.perf_counter() - t0
    return n * trials * steps / secs, spikes_total


if __name__ == "__main__":
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    rate, spikes = run(steps)
    print(f"neuron_steps_per_s {rate:.3e} ({spikes} spikes)")
