#!/usr/bin/python3
"""PyTorch timing of MUAD's training epoch, next to experiments/benchmarks/bench_muad.cpp.

The network of models/muad/network.h in eager PyTorch (nn.GRU, nn.Linear, nn.LayerNorm, ...) with GATv2
written the way a dense framework does it on a batch of identical small graphs: per graph a [dst, src, heads]
logit tensor, masked to the call edges, softmax over sources (nodes without in-edges get zeros), max over
heads; global attention pooling as a per-graph softmax. Same sizes as the C++ benchmark: 500 chunks of 12
services x 10 s (7 metrics, 1 latency, 15 log templates), batches of 50, hidden 64, 4 heads; per batch
zero_grad + forward (sampled z) + loss + backward + Adam step. Random inputs (the data do not change the
work). Prints one JSON line: {"seconds_per_epoch", "cpu_seconds_per_epoch", "threads"}.
  /usr/bin/python3 tools/reference/muad_bench.py [--min-time 2] [--threads 1]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EDGES = [(1, 1), (1, 10), (1, 6), (1, 2), (1, 7), (1, 8), (1, 5), (1, 3), (10, 10), (10, 2), (10, 0), (2, 2),
         (0, 0), (0, 5), (7, 7), (7, 4), (7, 9), (5, 5), (3, 3), (11, 1), (11, 10), (11, 11), (11, 0), (11, 5)]
S, T, M, L, H, HEADS, B, N = 12, 10, 7, 15, 64, 4, 50, 500


class Gatv2MaxPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc_src, self.fc_dst = nn.Linear(H, HEADS * H), nn.Linear(H, HEADS * H)
        self.att = nn.Parameter(torch.randn(HEADS, H) * 0.1)
        self.gate = nn.Linear(H, 1)
        mask = torch.zeros(S, S, dtype=torch.bool)
        for s, d in EDGES:
            mask[d, s] = True
        self.register_buffer("mask", mask)

    def forward(self, x):  # x [B*S, H] -> [B, H]
        fs = self.fc_src(x).view(-1, S, HEADS, H)
        fd = self.fc_dst(x).view(-1, S, HEADS, H)
        e = (F.leaky_relu(fs.unsqueeze(1) + fd.unsqueeze(2), 0.2) * self.att).sum(-1)  # [B, dst, src, heads]
        e = e.masked_fill(~self.mask.view(1, S, S, 1), float("-inf"))
        a = torch.nan_to_num(torch.softmax(e, dim=2))  # rows without in-edges: zeros
        out = torch.einsum("bdsh,bshc->bdhc", a, fs).max(dim=2).values  # [B, S, H]
        w = torch.softmax(self.gate(out), dim=1)
        return (w * out).sum(1)


class Modality(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.enc0 = nn.GRU(1 if kind == 0 else M, H) if kind < 2 else nn.Linear(L, H)
        self.graph = Gatv2MaxPool()
        self.enc = nn.Sequential(nn.Linear(H, 2 * H), nn.LayerNorm(2 * H), nn.Tanh())
        self.fc_mu, self.fc_var = nn.Linear(2 * H, H), nn.Linear(2 * H, H)
        self.att_mu, self.att_var = nn.Linear(H, H), nn.Linear(H, H)
        self.cls, self.conf = nn.Linear(H, 2), nn.Linear(H, 1)

    def forward(self, x, y):
        e = self.enc0(x)[1][0] if self.kind < 2 else self.enc0(x)
        a = self.enc(self.graph(e))
        mu0, v0 = torch.sigmoid(self.fc_mu(a)), self.fc_var(a)
        mu = mu0 * torch.softmax(self.att_mu(mu0), -1)
        v = v0 * torch.softmax(self.att_var(v0), -1)
        z = mu + torch.exp(0.5 * v) * torch.randn_like(mu)
        kl = (-0.5 * torch.sum(1 + v - mu ** 2 - v.exp(), -1)).mean()
        logit = self.cls(z)
        c = torch.sigmoid(self.conf(z)).squeeze(-1)
        pt = torch.softmax(logit, 1).gather(1, y.unsqueeze(1)).squeeze(1)
        return z * c.unsqueeze(-1), F.mse_loss(c, pt) + F.cross_entropy(logit, y), kl


class Muad(nn.Module):
    def __init__(self):
        super().__init__()
        self.mods = nn.ModuleList([Modality(0), Modality(1), Modality(2)])
        self.mm = nn.Sequential(nn.Linear(3 * H, H), nn.ReLU(), nn.Linear(H, 2))
        self.fused_conf = nn.Linear(3 * H, 1)

    def forward(self, traces, metrics, logs, y):
        parts = [m(x, y) for m, x in zip(self.mods, (traces, metrics, logs))]
        h = torch.cat([p[0] for p in parts], -1)
        logits = self.mm(h)
        fc = torch.sigmoid(self.fused_conf(h.detach())).squeeze(-1)
        pt = torch.softmax(logits, 1).gather(1, y.unsqueeze(1)).squeeze(1).detach()
        return (F.cross_entropy(logits, y) + 0.6 * sum(p[1] for p in parts) + sum(p[2] for p in parts) / 3 +
                F.mse_loss(fc, pt))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Muad()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    batches = [(torch.randn(T, B * S, 1), torch.randn(T, B * S, M), torch.randn(B * S, L),
                torch.randint(0, 2, (B,))) for _ in range(N // B)]

    def epoch():
        total = 0.0
        for tr, me, lg, y in batches:
            opt.zero_grad()
            loss = net(tr, me, lg, y)
            loss.backward()
            opt.step()
            total += loss.item()
        return total

    epoch()  # warm-up
    n, wall, cpu = 0, 0.0, 0.0
    while wall < a.min_time or n < 2:
        t0, c0 = time.perf_counter(), time.process_time()
        epoch()
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        n += 1
    print(json.dumps({"what": "epoch", "shape": "sn500", "device": "cpu", "seconds": wall / n, "cpu_seconds": cpu / n,
                      "threads": a.threads, "epochs": n}))


if __name__ == "__main__":
    main()
