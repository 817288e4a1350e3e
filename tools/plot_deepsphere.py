#!/usr/bin/env python3
"""Heat map of the residual x - x_hat of the top anomalous test case of a run_deepsphere run folder.

    /usr/bin/python3 tools/plot_deepsphere.py runs/deepsphere/<run>

Reads top_case_residual.npy [T, N, N] (and nodes.json in the call-graph mode, for axis labels) and writes
top_case_residual.png: one panel per time step, a symmetric colour scale around 0; the entries the nested
rule flagged (nested_anomalies.csv, for that case) are outlined.
"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main(run):
    res = np.load(os.path.join(run, "top_case_residual.npy"))
    metrics = json.load(open(os.path.join(run, "metrics.json")))
    case = metrics.get("top_case", 0)
    names = None
    if os.path.exists(os.path.join(run, "nodes.json")):
        names = json.load(open(os.path.join(run, "nodes.json")))
    flagged = []
    with open(os.path.join(run, "nested_anomalies.csv")) as f:
        for row in csv.DictReader(f):
            if int(row["case"]) == case:
                flagged.append((int(row["t"]), int(row["i"]), int(row["j"])))
    T, N, _ = res.shape
    cols = min(T, 5)
    rows = (T + cols - 1) // cols
    lim = float(np.abs(res).max()) or 1.0
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for t in range(rows * cols):
        ax = axes[t // cols][t % cols]
        if t >= T:
            ax.axis("off")
            continue
        im = ax.imshow(res[t], cmap="RdBu_r", vmin=-lim, vmax=lim)
        for (ft, i, j) in flagged:
            if ft == t:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="k", lw=1.2))
        ax.set_title(f"t = {t}", fontsize=9)
        if names and N <= 40:
            ax.set_xticks(range(N))
            ax.set_yticks(range(N))
            ax.set_xticklabels([n.replace("ts-", "")[:10] for n in names], rotation=90, fontsize=4)
            ax.set_yticklabels([n.replace("ts-", "")[:10] for n in names], fontsize=4)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="residual x - x_hat")
    fig.suptitle(f"{metrics.get('model', 'deepsphere')}: residual of test case {case} (highest score); "
                 f"boxes = flagged entries")
    out = os.path.join(run, "top_case_residual.png")
    fig.savefig(out, dpi=120)
    print(out)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: plot_deepsphere.py RUN_FOLDER")
    main(sys.argv[1])
