#!/usr/bin/env python3
"""Plot a DC-VAE test run: per channel, the (scaled) signal, the mu +- alpha*sigma band, flagged points
and labelled anomalies. One PNG per channel plus an overview, written into <run>/plots/.

    python3 tools/plot_dcvae.py runs/dcvae/20261125-104709 [--labels experiments/data/telco_like/test_labels.csv]
"""
import argparse
import csv
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_matrix(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    stamps = [r[0] for r in body]
    cols = {name: [float(r[i + 1]) if r[i + 1] != "" else float("nan") for r in body] for i, name in enumerate(header[1:])}
    return stamps, cols


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--labels", help="label CSV of the test file (default: from the run's settings)")
    a = ap.parse_args()
    run = a.run
    stamps, x = read_matrix(os.path.join(run, "test_scaled_values.csv"))
    _, mu = read_matrix(os.path.join(run, "test_reconstruction.csv"))
    _, sig = read_matrix(os.path.join(run, "test_sigma.csv"))
    _, pred = read_matrix(os.path.join(run, "test_predictions.csv"))
    alphas = {c["channel"]: c for c in json.load(open(os.path.join(run, "alphas.json")))["channels"]}
    labels_path = a.labels or json.load(open(os.path.join(run, "metrics.json"))).get("labels")
    lab = None
    if labels_path and os.path.exists(labels_path):
        ls, lcols = read_matrix(labels_path)
        offset = ls.index(stamps[0])
        lab = {k: v[offset:offset + len(stamps)] for k, v in lcols.items()}
    out = os.path.join(run, "plots")
    os.makedirs(out, exist_ok=True)
    channels = list(x.keys())
    fig_all, axes = plt.subplots(len(channels), 1, figsize=(14, 1.6 * len(channels)), sharex=True)
    for i, c in enumerate(channels):
        t = range(len(stamps))
        up, down = alphas[c]["alpha_up"], alphas[c]["alpha_down"]
        hi = [m + up * s for m, s in zip(mu[c], sig[c])]
        lo = [m - down * s for m, s in zip(mu[c], sig[c])]
        for ax in (axes[i] if len(channels) > 1 else axes, None):
            if ax is None:
                fig, ax = plt.subplots(figsize=(14, 3.5))
            ax.fill_between(t, lo, hi, color="tab:blue", alpha=0.15, label=f"mu -{down}/+{up} sigma")
            ax.plot(t, x[c], color="black", lw=0.6, label="signal (scaled)")
            ax.plot(t, mu[c], color="tab:blue", lw=0.6, label="mu")
            if lab is not None:
                li = [j for j in t if lab[c][j] == 1]
                ax.scatter(li, [x[c][j] for j in li], s=10, facecolors="none", edgecolors="tab:orange", label="labelled")
            fi = [j for j in t if pred[c][j] == 1]
            ax.scatter(fi, [x[c][j] for j in fi], s=6, color="tab:red", label="flagged")
            ax.set_ylabel(c)
            if ax is not (axes[i] if len(channels) > 1 else axes):
                ax.set_title(f"{c}: alpha_up {up}, alpha_down {down}")
                ax.legend(loc="upper right", fontsize=7)
                fig.tight_layout()
                fig.savefig(os.path.join(out, f"{c}.png"), dpi=110)
                plt.close(fig)
    fig_all.tight_layout()
    fig_all.savefig(os.path.join(out, "overview.png"), dpi=90)
    print(f"wrote {len(channels) + 1} plots to {out}")


if __name__ == "__main__":
    main()
