#!/usr/bin/env python3
"""PyTorch baseline for the graph-attention sweep (tools/sweeps/gpu_graph_attention.sh): one training step of
AnomalyDAE's sparse graph attention (forward, then backward through autograd) on the same degree-family graphs
as experiments/benchmarks/degree_graphs.h (same closed formulas, duplicates merged with summed values), written
the way PyTorch users write it: gather per edge, scatter-max / exp / scatter-add softmax, index_add aggregation.
  e_ij = a_ij (f_src[i] + f_dst[j]); attn = softmax over row i of LeakyReLU_0.2(e); out_i = sum_j attn_ij feat_j
When torch_geometric imports, PyG's GATConv (one head, C -> C, which also applies its own linear layer) is timed
on the same edges as a second baseline. One JSON line per (family, nodes, C) on stdout: median milliseconds.
  /usr/bin/python3 tools/reference/gat_torch_step.py --device cuda --nodes 20000 1000000 --channels 64
--op gatv2: MUAD's GATv2 with the max over heads instead (bench_graph's gatv2_step_by_degree; H = --heads heads
of D = --channels channels, src/dst/att given, the projections not included), the same way:
  e^h_ij = sum_d att[h,d] LeakyReLU_0.2(src[j,h,d] + dst[i,h,d]); softmax over row i per head;
  out_i[d] = max_h sum_j attn^h_ij src[j,h,d]
One JSON line per (family, nodes, H, D).
"""
import argparse
import json
import math
import sys
import time
import warnings

import torch

warnings.filterwarnings("ignore", message=".*scatter_reduce.*")

FAMILIES = ["deg0-3", "uniform16", "powerlaw", "hub"]


def degree_family_graph(family, n, device):
    """Row-sorted (rows, cols, vals) of the family's graph, duplicates summed (as csr_from_triplets does)."""
    i = torch.arange(n, dtype=torch.int64)
    if family == 0:
        deg = i % 4
    elif family == 1:
        deg = torch.full((n,), 16, dtype=torch.int64)
    elif family == 2:
        deg = torch.tensor([min(n, max(1, int(math.floor(4.0 * math.sqrt(n / (r + 1)))))) for r in range(n)],
                           dtype=torch.int64)
    else:
        deg = torch.full((n,), 2, dtype=torch.int64)
    rows = torch.repeat_interleave(i, deg)
    starts = torch.cumsum(deg, 0) - deg
    k = torch.arange(rows.numel(), dtype=torch.int64) - torch.repeat_interleave(starts, deg)
    # (i * 2654435761 + (k + 1) * 40503) mod n without int64 overflow: reduce each factor first.
    cols = ((rows % n) * (2654435761 % n) % n + ((k + 1) % n) * (40503 % n) % n) % n
    if family == 3:
        j = torch.arange(n, dtype=torch.int64)
        rows = torch.cat([rows, torch.zeros(n, dtype=torch.int64), j])
        cols = torch.cat([cols, j, torch.zeros(n, dtype=torch.int64)])
    key = torch.unique(rows * n + cols, sorted=True, return_counts=True)
    rows, cols = key[0] // n, key[0] % n
    return rows.to(device), cols.to(device), key[1].to(torch.float32).to(device)


def gat_step(rows, cols, vals, n, feat, f_src, f_dst, dout):
    e = vals * (f_src[rows] + f_dst[cols])
    e = torch.nn.functional.leaky_relu(e, 0.2)
    m = torch.full((n,), -math.inf, device=e.device).scatter_reduce(0, rows, e, reduce="amax", include_self=True)
    p = torch.exp(e - m[rows])
    s = torch.zeros(n, device=e.device).index_add_(0, rows, p)
    attn = p / s[rows]
    out = torch.zeros_like(feat).index_add_(0, rows, attn.unsqueeze(1) * feat[cols])
    out.backward(dout)


def gatv2_step(rows, cols, n, src, dst, att, dout):
    H = src.shape[1]
    e = (torch.nn.functional.leaky_relu(src[cols] + dst[rows], 0.2) * att).sum(-1)  # [E, H]
    idx = rows.unsqueeze(1).expand(-1, H)
    m = torch.full((n, H), -math.inf, device=e.device).scatter_reduce(0, idx, e, reduce="amax", include_self=True)
    p = torch.exp(e - m[rows])
    s = torch.zeros(n, H, device=e.device).index_add_(0, rows, p)
    attn = p / s[rows]
    o = torch.zeros_like(src).index_add_(0, rows, attn.unsqueeze(-1) * src[cols])  # [N, H, D]
    o.max(dim=1).values.backward(dout)


def run_gatv2(a):
    for n in a.nodes:
        for fam in a.families:
            rows, cols, _ = degree_family_graph(fam, n, a.device)
            H, D = a.heads, a.channels
            src = torch.full((n, H, D), 0.5, device=a.device, requires_grad=True)
            dst = torch.full((n, H, D), -0.2, device=a.device, requires_grad=True)
            att = torch.full((1, H, D), 0.1, device=a.device, requires_grad=True)
            dout = torch.full((n, D), 0.3, device=a.device)
            rec = {"op": "gatv2", "family": FAMILIES[fam], "nodes": n, "H": H, "D": D, "edges": int(rows.numel()),
                   "device": a.device, "torch": torch.__version__}
            try:
                rec["torch_scatter_ms"] = median_ms(lambda: gatv2_step(rows, cols, n, src, dst, att, dout), a.device,
                                                    a.repeats)
            except RuntimeError as e:  # out of memory on the largest graphs
                rec["torch_scatter_error"] = str(e).splitlines()[0][:120]
            print(json.dumps(rec), flush=True)
    return 0


def median_ms(fn, device, repeats):
    fn()  # warm up
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000.0)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--nodes", type=int, nargs="+", default=[20000])
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--families", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--op", default="gat", choices=["gat", "gatv2"])
    ap.add_argument("--heads", type=int, default=4)
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        print("gat_torch_step: --device cuda but torch sees no GPU", file=sys.stderr)
        return 1
    if a.op == "gatv2":
        return run_gatv2(a)
    try:
        from torch_geometric.nn import GATConv  # noqa: F401
        have_pyg = True
    except Exception:
        have_pyg = False
    for n in a.nodes:
        for fam in a.families:
            rows, cols, vals = degree_family_graph(fam, n, a.device)
            C = a.channels
            feat = torch.full((n, C), 0.5, device=a.device, requires_grad=True)
            f_src = torch.full((n,), 0.1, device=a.device, requires_grad=True)
            f_dst = torch.full((n,), -0.2, device=a.device, requires_grad=True)
            dout = torch.full((n, C), 0.3, device=a.device)
            rec = {"family": FAMILIES[fam], "nodes": n, "C": C, "edges": int(rows.numel()), "device": a.device,
                   "torch": torch.__version__}
            try:
                rec["torch_scatter_ms"] = median_ms(lambda: gat_step(rows, cols, vals, n, feat, f_src, f_dst, dout),
                                                    a.device, a.repeats)
            except RuntimeError as e:  # out of memory on the largest graphs
                rec["torch_scatter_error"] = str(e).splitlines()[0][:120]
            if have_pyg:
                from torch_geometric.nn import GATConv
                conv = GATConv(C, C, heads=1, add_self_loops=False).to(a.device)
                edge_index = torch.stack([cols, rows])  # PyG: messages flow source -> target
                x = feat.detach().clone().requires_grad_(True)
                try:
                    rec["pyg_gatconv_ms"] = median_ms(lambda: conv(x, edge_index).backward(dout), a.device, a.repeats)
                except RuntimeError as e:
                    rec["pyg_gatconv_error"] = str(e).splitlines()[0][:120]
            print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
