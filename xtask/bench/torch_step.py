"""PyTorch (CPU) reference for `cargo xtask bench`: one training step of the
vanilla ReLU RNN of Orhan & Ma (forward over T steps, BPTT backward, Adam),
single-threaded, at the sizes wm's own benchmark uses.

Prints one JSON object per size: {"n": N, "t": T, "b": B, "ms_per_step": ...},
the fastest of the repetitions. PyTorch's dense products cost the same at any
activity, so a trained network's size is timed on this random model.
Run: python3 xtask/bench/torch_step.py [--reps 10] [--sizes 500x100x50,256x150x50]
"""
import argparse
import json
import time

import torch

SIZES = [(500, 100, 50), (256, 150, 64), (100, 100, 50)]
N_IN, N_OUT = 50, 1


def step_fn(n, t, b):
    g = torch.Generator().manual_seed(0)
    w_in = (torch.randn(N_IN, n, generator=g) * 0.05).requires_grad_()
    w_hh = (0.9 * torch.eye(n) + torch.randn(n, n, generator=g) * 0.2 / n**0.5).requires_grad_()
    b_h = torch.zeros(n, requires_grad=True)
    w_out = (torch.randn(n, N_OUT, generator=g) * 0.05).requires_grad_()
    b_out = torch.zeros(N_OUT, requires_grad=True)
    params = [w_in, w_hh, b_h, w_out, b_out]
    opt = torch.optim.Adam(params, lr=5e-4)
    x = torch.poisson(torch.full((t, b, N_IN), 0.04), generator=g)
    y = torch.rand(t, b, N_OUT, generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        # unbind, not u[k]: indexing a tracked tensor per step makes every
        # step's backward fill a full [T, B, N] zero tensor (O(T²)).
        us = (x @ w_in + b_h).unbind(0)
        h = torch.zeros(b, n)
        hs = []
        for k in range(t):
            h = torch.relu(us[k] + h @ w_hh)
            hs.append(h)
        out = torch.stack(hs) @ w_out + b_out
        loss = ((out - y) ** 2).mean()
        loss.backward()
        opt.step()

    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--sizes", default=None, help="N x T x B, comma-separated")
    args = ap.parse_args()
    sizes = SIZES
    if args.sizes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    torch.set_num_threads(1)
    for n, t, b in sizes:
        step = step_fn(n, t, b)
        for _ in range(2):
            step()
        # The fastest step, as wm's benchmark reports (interference on a shared
        # machine only ever slows a step down).
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1e3)
        ms = min(times)
        print(json.dumps({"n": n, "t": t, "b": b, "ms_per_step": ms}), flush=True)


if __name__ == "__main__":
    main()
