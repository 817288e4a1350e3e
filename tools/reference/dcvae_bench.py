#!/usr/bin/env python3
"""PyTorch reference timing for DC-VAE, next to experiments/benchmarks/bench_dcvae.cpp.

A compact re-implementation of ad::dcvae::Network (models/dcvae/network.h): causal dilated Conv1d (left
padding of (k-1)*d), tanh encoder / elu decoder blocks with BatchNorm1d(momentum 0.01, eps 1e-3) after the
activation, z_mean / z_log_var at dilation D[L-2], x_mean / x_log_var at D[0], the reparameterization, and
the loss (Gaussian NLL with x_log_var as log std, plus KL to N(0, 1), both means). Times, per batch:
  train: zero_grad + forward (train mode, sampled z) + loss + backward + Adam step (+ loss.item(), as ours)
  infer: forward in eval mode under no_grad with z = z_mean
for the configurations in settings/model_settings.json (demo) and settings/dcvae_telco_original.json
(original), on the CPU and on CUDA when torch.cuda.is_available(). Prints one JSON line per (config, device):
  {"config", "device", "train_windows_per_s", "infer_windows_per_s", ...}
The data layout is PyTorch's native [B, C, T] (ours is [B, T, C]); no transposes are timed.
With --compile the network's forward is wrapped in torch.compile (PyTorch 2.x; the loss and Adam stay eager)
and the lines carry "mode": "compile" (else "eager"); compilation happens in the untimed warm-up.
  /usr/bin/python3 tools/reference/dcvae_bench.py [--min-time 1.0] [--device all|cpu|cuda] [--threads N] [--compile]
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = [("demo", "model_settings.json"), ("original", "dcvae_telco_original.json")]


class CausalConv(nn.Module):
    def __init__(self, cin, cout, k, d):
        super().__init__()
        self.pad = (k - 1) * d
        self.conv = nn.Conv1d(cin, cout, k, dilation=d)

    def forward(self, x):
        return self.conv(F.pad(x, (self.pad, 0)))


class Block(nn.Module):
    def __init__(self, cin, cout, k, d, act):
        super().__init__()
        self.conv = CausalConv(cin, cout, k, d)
        self.act = act
        self.bn = nn.BatchNorm1d(cout, eps=1e-3, momentum=0.01)  # Keras momentum 0.99

    def forward(self, x):
        return self.bn(self.act(self.conv(x)))


class DCVAE(nn.Module):
    def __init__(self, s):
        super().__init__()
        U, D, k, M, J = s["cnn_units"], s["dil_rate"], s.get("kernel", 2), s["M"], s["J"]
        L = len(U)
        enc = [Block(M, U[0], k, D[0], torch.tanh)]
        for i in range(L - 2):
            enc.append(Block(U[i], U[i + 1], k, D[i + 1], torch.tanh))
        self.enc = nn.ModuleList(enc)
        self.z_mean = CausalConv(U[L - 2], J, k, D[L - 2])
        self.z_log_var = CausalConv(U[L - 2], J, k, D[L - 2])
        dec = [Block(J, U[-1], k, D[-1], F.elu)]
        for i in range(-2, -L, -1):
            dec.append(Block(U[i + 1], U[i], k, D[i], F.elu))
        self.dec = nn.ModuleList(dec)
        self.x_mean = CausalConv(U[-(L - 1)], M, k, D[0])
        self.x_log_var = CausalConv(U[-(L - 1)], M, k, D[0])

    def forward(self, x, sample):
        h = x
        for b in self.enc:
            h = b(h)
        zm, zlv = self.z_mean(h), self.z_log_var(h)
        z = zm + torch.exp(0.5 * zlv) * torch.randn_like(zm) if sample else zm
        h = z
        for b in self.dec:
            h = b(h)
        return zm, zlv, self.x_mean(h), self.x_log_var(h)


def loss_fn(x, zm, zlv, xm, xls):
    rec = (0.5 * ((x - xm) * torch.exp(-xls)) ** 2 + xls + 0.5 * math.log(2 * math.pi)).mean()
    kl = (-0.5 * (1 + zlv - zm ** 2 - torch.exp(zlv))).mean()
    return rec + kl


def load_settings(file):
    with open(os.path.join(REPO, "settings", file)) as f:
        return json.load(f)


def make_batch(s, device):
    g = torch.Generator().manual_seed(12345)
    B, T, M = s["batch_size"], s["T"], s["M"]
    t = torch.arange(T, dtype=torch.float32).view(1, 1, T) + 7 * torch.arange(B, dtype=torch.float32).view(B, 1, 1)
    c = torch.arange(1, M + 1, dtype=torch.float32).view(1, M, 1)
    x = torch.sin(0.1 * t * c / 4.0) + 0.3 * torch.randn(B, M, T, generator=g)
    return x.to(device)


def timed(fn, device, min_time, warmup=3):
    for _ in range(warmup):
        fn()
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    iters, t0 = 0, time.perf_counter()
    while True:
        fn()
        iters += 1
        if iters % 5 == 0 or device == "cpu":
            sync()
            el = time.perf_counter() - t0
            if el >= min_time and iters >= 5:
                return iters, el


def bench(name, s, device, min_time, compile_forward=False):
    torch.manual_seed(int(s.get("seed", 123)))
    model = DCVAE(s).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=s.get("lr", 1e-3), betas=(0.9, 0.999), eps=1e-7)
    forward = torch.compile(model) if compile_forward else model
    x = make_batch(s, device)
    B = s["batch_size"]
    last = [0.0]

    def train_step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(x, *forward(x, True))
        last[0] = loss.item()
        loss.backward()
        opt.step()

    def infer():
        with torch.no_grad():
            forward(x, False)

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    model.train()
    ti, tt = timed(train_step, device, min_time)
    model.eval()
    ii, it = timed(infer, device, min_time)
    out = {
        "config": name,
        "device": device,
        "mode": "compile" if compile_forward else "eager",
        "train_windows_per_s": B * ti / tt,
        "infer_windows_per_s": B * ii / it,
        "train_ms": 1e3 * tt / ti,
        "infer_ms": 1e3 * it / ii,
        "T": s["T"],
        "layers": f'{len(s["cnn_units"])}x{s["cnn_units"][0]}',
        "batch": B,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "final_loss": last[0],
    }
    if device == "cuda":
        out["peak_MiB"] = torch.cuda.max_memory_allocated() / 2**20
        out["gpu"] = torch.cuda.get_device_name()
        out["cudnn_tf32"] = torch.backends.cudnn.allow_tf32  # PyTorch's default (True) lets cuDNN convs use TF32
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per measurement (default 1)")
    ap.add_argument("--device", choices=["all", "cpu", "cuda"], default="all")
    ap.add_argument("--configs", default="demo,original", help="comma-separated subset of demo,original")
    ap.add_argument("--threads", type=int, default=0,
                    help="intra-op CPU threads (default 0: os.cpu_count(); 1 is steadier on a loaded machine)")
    ap.add_argument("--compile", action="store_true", help="wrap the forward in torch.compile (PyTorch 2.x)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else os.cpu_count())
    devices = ["cpu"] if a.device in ("all", "cpu") else []
    if a.device in ("all", "cuda"):
        if torch.cuda.is_available():
            devices.append("cuda")
        elif a.device == "cuda":
            sys.exit("dcvae_bench.py: torch.cuda.is_available() is False")
    wanted = a.configs.split(",")
    for name, file in CONFIGS:
        if name not in wanted:
            continue
        s = load_settings(file)
        for d in devices:
            print(json.dumps(bench(name, s, d, a.min_time, a.compile)), flush=True)


if __name__ == "__main__":
    main()
