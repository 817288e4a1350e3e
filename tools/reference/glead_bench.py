#!/usr/bin/env python3
"""PyTorch reference timing for GLEAD, next to experiments/benchmarks/bench_glead.cpp.

The network and loss as the public code computes them (Serendipity618/GLEAD src/model.py, penalty from
src/trainer.py), written compactly: nn.Embedding(120, 150), Linear(150, 300) + tanh, Linear(300, 5), softmax
over time, A H, half-cosine distances to c_n and c_a, head-weighted hinge with the +1 denominators,
penalty mean((C C^T - I)^2), Adam(lr 0.005). Same shapes and batch mix as bench_glead:
  epoch: 34 batches of 60 windows of 20 keys (zero_grad + forward + loss + backward + step + loss.item())
  infer: 2,000 windows in batches of 1,000 under no_grad (forward + distances and attention to numpy)
Prints one JSON line per (what, device): {"what", "shape", "device", "seconds", "cpu_seconds"}.
  /usr/bin/python3 tools/reference/glead_bench.py [--min-time 2] [--device all|cpu|cuda] [--threads N]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

V, T, D, A, K = 120, 20, 150, 300, 5
BATCH, TRAIN, TEST, TEST_BATCH = 60, 2040, 2000, 1000


class Glead(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.w1 = nn.Linear(D, A)
        self.w2 = nn.Linear(A, K)
        self.c_n = nn.Parameter((torch.rand(1, K, D) - 0.5) * 2)
        self.c_a = nn.Parameter((torch.rand(1, K, D) - 0.5) * 2)

    def encode(self, ids):
        h = self.emb(ids)
        att = F.softmax(self.w2(torch.tanh(self.w1(h))), dim=1).transpose(1, 2)
        return att @ h, att

    def distances(self, m):
        return 0.5 * (1 - F.cosine_similarity(m, self.c_n, dim=2)), 0.5 * (1 - F.cosine_similarity(m, self.c_a, dim=2))


def loss_fn(model, ids, anomaly):
    m, _ = model.encode(ids)
    dn, da = model.distances(m)
    hw = lambda d, s: (torch.softmax(s * d, dim=1) * d).sum(1)
    n, a = ~anomaly, anomaly
    l1 = torch.relu(hw(dn[n], -1) - hw(da[n], 1) + 1)
    l2 = torch.relu(hw(da[a], -1) - hw(dn[a], 1) + 1)
    trip = l1.sum() / (l1.numel() + 1) + l2.sum() / (l2.numel() + 1)
    c = torch.cat((model.c_n, model.c_a), 1)
    pen = torch.mean((c @ c.transpose(1, 2) - torch.eye(2 * K, device=c.device)).squeeze() ** 2)
    return trip + pen


def timed(fn, min_time, sync):
    fn()  # warm-up
    sync()
    runs, wall, cpu = 0, 0.0, 0.0
    while wall < min_time or runs < 2:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        runs += 1
    return wall / runs, cpu / runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--device", default="all", choices=["all", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    for dev in devices:
        if dev == "cuda" and not torch.cuda.is_available():
            continue
        sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
        torch.manual_seed(1)
        model = Glead().to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=0.005)
        g = torch.Generator().manual_seed(0)
        batches = [torch.randint(0, V, (BATCH, T), generator=g).to(dev) for _ in range(TRAIN // BATCH)]
        anomaly = torch.zeros(BATCH, dtype=torch.bool, device=dev)
        anomaly[:2] = True

        def epoch():
            for ids in batches:
                opt.zero_grad()
                loss = loss_fn(model, ids, anomaly)
                loss.backward()
                opt.step()
                loss.item()

        tests = [torch.randint(0, V, (TEST_BATCH, T), generator=g).to(dev) for _ in range(TEST // TEST_BATCH)]

        def infer():
            with torch.no_grad():
                for ids in tests:
                    m, att = model.encode(ids)
                    dn, da = model.distances(m)
                    dn.cpu().numpy(), da.cpu().numpy(), att.cpu().numpy()

        for what, fn in (("epoch", epoch), ("infer", infer)):
            wall, cpu = timed(fn, args.min_time, sync)
            print(json.dumps({"what": what, "shape": "original", "device": dev, "seconds": wall, "cpu_seconds": cpu}),
                  flush=True)


if __name__ == "__main__":
    main()
