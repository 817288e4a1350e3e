#!/usr/bin/env python3
"""Synthetic dynamic networks for DeepSphere (ours; the original train.pkl/test.pkl are not public).

A case is T weighted adjacency matrices of N nodes (undirected: every matrix is symmetric, zero diagonal).

Normal cases
  base graph   Erdos-Renyi G(N, p) (--graph er) or a stochastic block model with --blocks blocks, edge
               probability p_in inside a block and p_out between blocks (--graph sbm); the graph and its base
               weights w_ij ~ U(0.5, 1.5) are drawn once and shared by every case (the "normal" network).
  dynamics     x_t(i,j) = w_ij * (1 + A sin(2 pi (t + s) / P + phi_ij)) + noise, noise ~ N(0, sigma^2);
               phi_ij is fixed per edge, the start s ~ U[0, P) per case, so cases are shifted windows of the
               same periodic process. Non-edges are 0 plus noise, clipped at 0 (weights are not negative).
Anomalous cases (a fraction --contamination of the cases, each split drawn independently)
  one perturbation per case, over a time window [t0, t0 + L) (L ~ U{2..T/2}; a spike lasts one step):
    shift   k random edges move by +/- --shift-sigmas * sigma * U(1, 5/3)           (a shift of several sigma)
    clique  m random nodes become fully connected with weight U(1.5, 2) * --magnitude (a clique appearing)
    drop    k random edges fall to 0                                              (an edge dropping out)
    spike   k random edges jump by U(1.5, 3) * --magnitude times their base weight, one step (a spike)
  Every perturbed entry, both (i, j) and (j, i), is recorded with its deviation = perturbed - normal value
  (entries whose value did not change are not recorded).

Files (in --out, for each split in train, test):
  <split>_data.npy        float32 [cases, T, N, N]
  <split>_labels.csv      case,label              label 1 = anomaly
  <split>_kinds.csv       case,kind               normal, shift, clique, drop or spike (for people; not read)
  <split>_deviations.csv  case,t,i,j,deviation    one row per perturbed entry
The output depends only on the flags (numpy's default_rng(seed)).
  python3 tools/generate_dynamic_networks.py --out experiments/data/dynnet_rho0.1 --contamination 0.1
"""
import argparse
import csv
import os
import sys

import numpy as np

KINDS = ("shift", "clique", "drop", "spike")


def base_graph(rng, args):
    n = args.nodes
    if args.graph == "er":
        prob = np.full((n, n), args.p)
    else:
        block = np.arange(n) % args.blocks
        prob = np.where(block[:, None] == block[None, :], args.p_in, args.p_out)
    upper = np.triu(rng.random((n, n)) < prob, 1)
    adj = upper | upper.T
    w = np.triu(rng.uniform(0.5, 1.5, (n, n)), 1)
    w = (w + w.T) * adj
    phase = np.triu(rng.uniform(0, 2 * np.pi, (n, n)), 1)
    return adj, w, phase + phase.T


def normal_case(rng, args, w, phase):
    t = np.arange(args.steps)[:, None, None] + rng.uniform(0, args.period)
    x = w[None] * (1 + args.amplitude * np.sin(2 * np.pi * t / args.period + phase[None]))
    noise = np.triu(rng.normal(0, args.sigma, (args.steps, args.nodes, args.nodes)), 1)
    x = x + noise + noise.transpose(0, 2, 1)
    return np.clip(x, 0, None)


def random_edges(rng, adj, k):
    iu = np.argwhere(np.triu(adj, 1))
    pick = iu[rng.choice(len(iu), size=min(k, len(iu)), replace=False)]
    return [tuple(e) for e in pick]


def perturb(rng, args, x, adj, w, kind):
    T, n = args.steps, args.nodes
    y = x.copy()
    if kind == "spike":
        t0, length = int(rng.integers(0, T)), 1
    else:
        length = int(rng.integers(2, max(3, T // 2 + 1)))
        t0 = int(rng.integers(0, T - length + 1))
    window = slice(t0, t0 + length)
    if kind == "clique":
        nodes = rng.choice(n, size=args.clique_size, replace=False)
        weight = rng.uniform(1.5, 2.0) * args.magnitude
        for a in nodes:
            for b in nodes:
                if a != b:
                    y[window, a, b] = weight
    else:
        for i, j in random_edges(rng, adj, args.edges):
            if kind == "shift":
                delta = rng.choice([-1, 1]) * args.shift_sigmas * args.sigma * rng.uniform(1, 5 / 3)
                vals = np.clip(y[window, i, j] + delta, 0, None)
            elif kind == "drop":
                vals = np.zeros(length)
            else:  # spike
                vals = y[window, i, j] + rng.uniform(1.5, 3.0) * args.magnitude * w[i, j]
            y[window, i, j] = vals
            y[window, j, i] = vals
    return y


def make_split(rng, args, adj, w, phase, cases):
    data = np.empty((cases, args.steps, args.nodes, args.nodes), dtype=np.float32)
    anomalous = np.zeros(cases, dtype=bool)
    anomalous[rng.choice(cases, size=int(round(args.contamination * cases)), replace=False)] = True
    labels, deviations = [], []
    for c in range(cases):
        x = normal_case(rng, args, w, phase)
        kind = "normal"
        if anomalous[c]:
            kind = KINDS[int(rng.integers(0, len(KINDS)))] if args.kinds == "all" else args.kinds
            y = perturb(rng, args, x, adj, w, kind)
            for t, i, j in np.argwhere(np.abs(y - x) > 0):
                deviations.append((c, int(t), int(i), int(j), float(np.float32(y[t, i, j]) - np.float32(x[t, i, j]))))
            x = y
        data[c] = x
        labels.append((c, int(anomalous[c]), kind))
    return data, labels, deviations


def write_split(out, split, data, labels, deviations):
    np.save(os.path.join(out, f"{split}_data.npy"), data)
    with open(os.path.join(out, f"{split}_labels.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["case", "label"])
        wr.writerows([(c, label) for c, label, _ in labels])
    with open(os.path.join(out, f"{split}_kinds.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["case", "kind"])
        wr.writerows([(c, kind) for c, _, kind in labels])
    with open(os.path.join(out, f"{split}_deviations.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["case", "t", "i", "j", "deviation"])
        for c, t, i, j, d in deviations:
            wr.writerow([c, t, i, j, f"{d:.7g}"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--nodes", type=int, default=12)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--train-cases", type=int, default=500)
    ap.add_argument("--test-cases", type=int, default=500)
    ap.add_argument("--contamination", type=float, default=0.1, help="fraction of anomalous cases (both splits)")
    ap.add_argument("--graph", choices=["er", "sbm"], default="sbm")
    ap.add_argument("--p", type=float, default=0.3, help="ER edge probability")
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--p-in", type=float, default=0.6)
    ap.add_argument("--p-out", type=float, default=0.05)
    ap.add_argument("--period", type=float, default=6.0)
    ap.add_argument("--amplitude", type=float, default=0.3)
    ap.add_argument("--sigma", type=float, default=0.05, help="noise standard deviation")
    ap.add_argument("--shift-sigmas", type=float, default=3.0)
    ap.add_argument("--edges", type=int, default=2, help="edges perturbed by shift / drop / spike")
    ap.add_argument("--clique-size", type=int, default=3)
    ap.add_argument("--magnitude", type=float, default=0.3, help="scales the clique weight and the spike height")
    ap.add_argument("--kinds", choices=["all"] + list(KINDS), default="all")
    args = ap.parse_args(argv)
    if not 0 <= args.contamination < 1:
        sys.exit("error: --contamination must be in [0, 1)")
    if args.nodes < max(2, args.clique_size) or args.steps < 2:
        sys.exit("error: need --nodes >= max(2, --clique-size) and --steps >= 2")
    rng = np.random.default_rng(args.seed)
    adj, w, phase = base_graph(rng, args)
    os.makedirs(args.out, exist_ok=True)
    for split, cases in (("train", args.train_cases), ("test", args.test_cases)):
        data, labels, deviations = make_split(rng, args, adj, w, phase, cases)
        write_split(args.out, split, data, labels, deviations)
        print(f"{split}: {cases} cases, {sum(l[1] for l in labels)} anomalous, {len(deviations)} perturbed entries,"
              f" data {data.shape}", file=sys.stderr)


if __name__ == "__main__":
    main()
