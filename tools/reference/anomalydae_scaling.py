#!/usr/bin/python3
"""Time per training epoch and peak memory of a dense PyTorch AnomalyDAE, the way PyGOD runs it
(full batch, the N x N adjacency densified with to_dense_adj, sigmoid(Z Z^T) formed in full), on synthetic
graphs of growing size. The other column of tools/sweeps/anomalydae_scaling.sh.

    /usr/bin/python3 tools/reference/anomalydae_scaling.py --nodes 1000 3000 10000 --attrs 64 --epochs 3

One JSON line per size: {"impl": "torch-dense", "mode", "nodes", "edges", "seconds_per_epoch", "peak_bytes", "status"}
(+ "infer_seconds" with --infer: the forward under no_grad with both errors and the node scores, median of
--epochs passes after one warm-up). --compile wraps the model in torch.compile (PyTorch 2.x; "mode": "compile",
else "eager"); the first epoch and the first inference pass, where it compiles, are not timed. --device cuda
times on the GPU (each epoch ends with torch.cuda.synchronize()).
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


def score_of(s_hat, x_hat, x, ai, eta=5.0, theta=40.0, alpha=0.7):
    attr = (((x_hat - x) * (1 + (eta - 1) * x)) ** 2).sum(1).sqrt()
    stru = (((s_hat - ai) * (1 + (theta - 1) * ai)) ** 2).sum(1).sqrt()
    return alpha * attr + (1 - alpha) * stru


def run(n, d, deg, epochs, device, seed, compile_model=False, infer=False):
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
    forward = torch.compile(model) if compile_model else model
    times = []
    for _ in range(epochs + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        s_hat, x_hat = forward(x, adj_norm, mask)
        loss = score_of(s_hat, x_hat, x, ai).mean()
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    infer_s = None
    if infer:
        passes = []
        for _ in range(epochs + 1):
            t0 = time.perf_counter()
            with torch.no_grad():
                s_hat, x_hat = forward(x, adj_norm, mask)
                score_of(s_hat, x_hat, x, ai)
            if device == "cuda":
                torch.cuda.synchronize()
            passes.append(time.perf_counter() - t0)
        infer_s = float(np.median(passes[1:]))
    return int(edges.shape[1] // 2), float(np.median(times[1:])), infer_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, nargs="+", default=[1000, 3000, 10000])
    ap.add_argument("--attrs", type=int, default=64)
    ap.add_argument("--degree", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--max-gib", type=float, default=16.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--compile", action="store_true", help="wrap the model in torch.compile (PyTorch 2.x)")
    ap.add_argument("--infer", action="store_true", help="also time inference (forward + scores, no_grad)")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("anomalydae_scaling.py: --device cuda but torch.cuda.is_available() is False")
    if args.threads:
        torch.set_num_threads(args.threads)
    for n in args.nodes:
        need = 8 * 4 * n * n
        rec = {"impl": "torch-dense", "mode": "compile" if args.compile else "eager", "device": args.device,
               "nodes": n, "attrs": args.attrs}
        if args.device == "cpu" and need > args.max_gib * 2**30:
            rec.update(status="oom-predicted", needed_bytes=need)
            print(json.dumps(rec), flush=True)
            continue
        try:
            if args.device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            edges, sec, infer_s = run(n, args.attrs, args.degree, args.epochs, args.device, 0, args.compile, args.infer)
            peak = (torch.cuda.max_memory_allocated() if args.device == "cuda"
                    else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
            rec.update(status="ok", edges=edges, seconds_per_epoch=sec, peak_bytes=peak)
            if infer_s is not None:
                rec["infer_seconds"] = infer_s
            if args.device == "cuda":  # PyTorch's defaults, as a PyGOD user runs it: say which float32 math
                rec.update(gpu=torch.cuda.get_device_name(), matmul_tf32=torch.backends.cuda.matmul.allow_tf32)
        except RuntimeError as e:  # torch.cuda.OutOfMemoryError is a RuntimeError in 1.13
            if "out of memory" not in str(e):
                raise
            rec.update(status="oom", needed_bytes=need)
            if args.device == "cuda":
                torch.cuda.empty_cache()
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
