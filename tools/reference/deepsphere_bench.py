#!/usr/bin/env python3
"""PyTorch reference timing for DeepSphere, next to experiments/benchmarks/bench_deepsphere.cpp.

The network of tools/reference/deepsphere_reference.py (the official model: LSTM(D, 30) encoder, attention
sum, hypersphere terms, zero-fed LSTM decoder reversed in time, Linear(30, D), official loss) in float32,
with tf.nn.dropout-style input dropout (keep 0.98). Times one full-batch training epoch = zero_grad +
forward + loss + backward + Adam step + loss.item(), on random cases of the benchmark's two shapes:
  synthetic 300 cases, T 8, N 10;  callgraph 813 cases, T 5, N 38.
Prints one JSON line per (shape, device): {"shape", "device", "seconds_per_epoch" (wall clock),
"cpu_seconds_per_epoch" (process CPU time: steadier on a shared machine), "cases_per_s"}.
  /usr/bin/python3 tools/reference/deepsphere_bench.py [--min-time 2] [--threads N] [--device all|cpu|cuda]
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepsphere_reference as ref  # noqa: E402

SHAPES = [("synthetic", 300, 8, 10), ("callgraph", 813, 5, 38)]


def build(T, N, H=30):
    ref.T, ref.N, ref.H, ref.D = T, N, H, N * N  # the reference module reads its sizes from module globals
    return ref.DeepSphere()


def time_epoch(shape, device, min_time):
    name, B, T, N = shape
    torch.manual_seed(1)
    model = build(T, N).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(B, T, N * N, device=device)

    def epoch():
        opt.zero_grad()
        x_in = torch.nn.functional.dropout(x, p=0.02, training=True)
        x_hat, d2, residue, weight, terms = model.forward_with_input(x, x_in)
        loss = sum(terms)
        loss.backward()
        opt.step()
        return loss.item()

    epoch()
    n, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while True:
        epoch()
        n += 1
        spent = time.perf_counter() - start
        if spent >= min_time and n >= 3:
            break
    cpu = time.process_time() - cpu_start
    return {"what": "epoch", "shape": name, "device": device, "seconds": spent / n, "cpu_seconds": cpu / n,
            "cases_per_s": B * n / spent}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", choices=["all", "cpu", "cuda"], default="all")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] if args.device in ("all", "cpu") else []
    if args.device in ("all", "cuda") and torch.cuda.is_available():
        devices.append("cuda")
    for shape in SHAPES:
        for device in devices:
            print(json.dumps(time_epoch(shape, device, args.min_time)), flush=True)


if __name__ == "__main__":
    main()
