#!/usr/bin/env python3
"""TELCO-like multivariate time-series generator: the data `run_dcvae` ships with.

12 KPI channels at 5-minute steps with daily and weekly seasonality, a slow trend and noise, and
per-channel labelled anomalies of four kinds: spikes, level shifts, drifts and dropouts.
Writes train (no anomalies injected, no labels needed), val (labelled; DC-VAE tunes its alphas on it)
and test (labelled) as CSV: first column a timestamp, then c0..c11; label files have the same
timestamps and one 0/1 column per channel.

    python3 tools/generate_mts.py --out experiments/data/telco_like --seed 7
"""
import argparse
import os

import numpy as np

STEP_MIN = 5
PER_DAY = 24 * 60 // STEP_MIN


def base_signals(n, start, rng, m):
    t = np.arange(start, start + n)
    day = 2 * np.pi * t / PER_DAY
    week = 2 * np.pi * t / (7 * PER_DAY)
    x = np.empty((n, m))
    for c in range(m):
        rs = np.random.default_rng(1000 + c)  # channel shape fixed across splits
        level = rs.uniform(20, 100)
        amp_d = level * rs.uniform(0.2, 0.5)
        amp_w = level * rs.uniform(0.05, 0.15)
        phase = rs.uniform(0, 2 * np.pi)
        noise = level * rs.uniform(0.02, 0.06)
        harmonic = rs.uniform(0, 0.3)
        x[:, c] = (level + amp_d * (np.sin(day + phase) + harmonic * np.sin(2 * day + phase))
                   + amp_w * np.sin(week) + noise * rng.standard_normal(n))
        if c % 4 == 3:  # some counters are non-negative and bursty
            x[:, c] = np.maximum(x[:, c], 0)
    return x


def inject(x, rng, count):
    n, m = x.shape
    y = np.zeros((n, m), dtype=int)
    kinds = ["spike", "shift", "drift", "dropout"]
    for _ in range(count):
        c = rng.integers(m)
        kind = kinds[rng.integers(len(kinds))]
        scale = x[:, c].std()
        if kind == "spike":
            s = rng.integers(n)
            length = rng.integers(1, 4)
            x[s:s + length, c] += rng.choice([-1, 1]) * rng.uniform(4, 8) * scale
        elif kind == "shift":
            s = rng.integers(n - 60)
            length = rng.integers(24, 60)
            x[s:s + length, c] += rng.choice([-1, 1]) * rng.uniform(1.5, 3) * scale
        elif kind == "drift":
            s = rng.integers(n - 120)
            length = rng.integers(60, 120)
            x[s:s + length, c] += np.linspace(0, rng.choice([-1, 1]) * rng.uniform(2, 4) * scale, length)
        else:  # dropout: the counter reads zero
            s = rng.integers(n - 24)
            length = rng.integers(6, 24)
            x[s:s + length, c] = 0.0
        y[s:s + length, c] = 1
    return x, y


def write(path, stamps, values, fmt):
    m = values.shape[1]
    with open(path + ".tmp", "w") as f:
        f.write("timestamp," + ",".join(f"c{c}" for c in range(m)) + "\n")
        for s, row in zip(stamps, values):
            f.write(s + "," + ",".join(fmt % v for v in row) + "\n")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="experiments/data/telco_like")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--channels", type=int, default=12)
    ap.add_argument("--train-days", type=int, default=14)
    ap.add_argument("--val-days", type=int, default=7)
    ap.add_argument("--test-days", type=int, default=7)
    ap.add_argument("--anomalies-per-day", type=float, default=4.0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    start = np.datetime64("2024-01-01T00:00")
    offset = 0
    for split, days in (("train", a.train_days), ("val", a.val_days), ("test", a.test_days)):
        n = days * PER_DAY
        x = base_signals(n, offset, rng, a.channels)
        stamps = [str(start + np.timedelta64((offset + i) * STEP_MIN, "m")).replace("T", " ") for i in range(n)]
        if split == "train":
            write(os.path.join(a.out, "train.csv"), stamps, x, "%.4f")
        else:
            x, y = inject(x, rng, int(days * a.anomalies_per_day))
            write(os.path.join(a.out, f"{split}.csv"), stamps, x, "%.4f")
            write(os.path.join(a.out, f"{split}_labels.csv"), stamps, y, "%d")
            print(f"{split}: {n} rows, {y.any(axis=1).mean():.1%} rows with an anomaly in some channel")
        offset += n
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
