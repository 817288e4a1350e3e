#!/usr/bin/python3
"""Time per training epoch and peak memory of a dense PyTorch AnomalyDAE, the way PyGOD runs it
(full batch, the N x N adjacency densified with to_dense_adj, sigmoid(Z Z^T) formed in full), on synthetic
graphs of growing size. The other column of tools/sweeps/anomalydae_scaling.sh.

    /usr/bin/python3 tools/reference/anomalydae_scaling.py --nodes 1000 3000 10000 --attrs 64 --epochs 3

One JSON line per size: {"impl": "torch-dense", "nodes", "edges", "seconds_per_epoch", "peak_bytes", "status"}.
Before a size would need more than --max-gib for its dense N x N tensors (adjacency, target, logits/attention,
reconstruction, their gradients: about 8 of them), it is recorded as "oom-predicted" with the bytes it would need
instead of being run, so the sweep finishes on small machines; on a GPU (--device cuda) a real
torch.cuda.OutOfMemoryError is caught and recorded as "oom".
"""
import argparse
import json
import resource
import time

import numpy as np
import torch


def synthetic(n, d, deg, seed):
    rng = np.random.default_rng(seed)
    src = np.repeat(np.arange(n), max(1, deg // 2))
    dst = rng.integers(0, n, size=src.size)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    x = (rng.uniform(size=(n, d)) < 0.1).astype(np.float32)
    return np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])]), x


class DenseAnomalyDAE(torch.nn.Module):
    def __init__(self, n, d, hidden=256, embed=128):
        super().__init__()
        self.w1 = torch.nn.Linear(d, hidden)
        self.proj = torch.nn.Linear(hidden, embed, bias=False)
        self.a1 = torch.nn.Linear(embed, 1)
        self.a2 = torch.nn.Linear(embed, 1)
        self.b = torch.nn.Parameter(torch.zeros(embed))
        self.w3 = torch.nn.Linear(n, hidden)
        self.w4 = torch.nn.Linear(hidden, embed)

    def forward(self, x, adj_norm, mask):
        f = self.proj(torch.relu(self.w1(x)))
        e = adj_norm * self.a1(f) + adj_norm * self.a2(f).T
        e = torch.nn.functional.leaky_relu(e, 0.2).masked_fill(~mask, float("-inf"))
        zv = torch.softmax(e, 1) @ f + self.b
        za = self.w4(torch.relu(self.w3(x.T)))
        return torch.sigmoid(zv @ zv.T), zv @ za.T


def run(n, d, deg, epochs, device, seed):
    edges, xn = synthetic(n, d, deg, seed)
    x = torch.tensor(xn, device=device)
    a = torch.zeros(n, n, device=device)
    a[edges[0], edges[1]] = 1
    ai = a + torch.eye(n, device=device)
    dinv = ai.sum(1).pow(-0.5)
    adj_norm = dinv[:, None] * ai * dinv[None, :]
    mask = ai > 0
    model = DenseAnomalyDAE(n, d).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    eta, theta, alpha = 5.0, 40.0, 0.7
    times = []
    for _ in range(epochs + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        s_hat, x_hat = model(x, adj_norm, mask)
        attr = (((x_hat - x) * (1 + (eta - 1) * x)) ** 2).sum(1).sqrt()
        stru = (((s_hat - ai) * (1 + (theta - 1) * ai)) ** 2).sum(1).sqrt()
        loss = (alpha * attr + (1 - alpha) * stru).mean()
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return int(edges.shape[1] // 2), float(np.median(times[1:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, nargs="+", default=[1000, 3000, 10000])
    ap.add_argument("--attrs", type=int, default=64)
    ap.add_argument("--degree", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--max-gib", type=float, default=16.0)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for n in args.nodes:
        need = 8 * 4 * n * n
        rec = {"impl": "torch-dense", "device": args.device, "nodes": n, "attrs": args.attrs}
        if args.device == "cpu" and need > args.max_gib * 2**30:
            rec.update(status="oom-predicted", needed_bytes=need)
            print(json.dumps(rec), flush=True)
            continue
        try:
            if args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            edges, sec = run(n, args.attrs, args.degree, args.epochs, args.device, 0)
            peak = (torch.cuda.max_memory_allocated() if args.device == "cuda"
                    else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
            rec.update(status="ok", edges=edges, seconds_per_epoch=sec, peak_bytes=peak)
        except RuntimeError as e:  # torch.cuda.OutOfMemoryError is a RuntimeError in 1.13
            if "out of memory" not in str(e):
                raise
            rec.update(status="oom", needed_bytes=need)
            if args.device == "cuda":
                torch.cuda.empty_cache()
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
