#!/usr/bin/env python3
"""Markdown table of AnomalyDAE graph-mode runs beside the published numbers, and a score-distribution plot.

    python3 tools/anomalydae_table.py OUT_DIR NAME=RUN_DIR [NAME=RUN_DIR ...]

Reads RUN_DIR/metrics.json and RUN_DIR/node_scores.csv; writes OUT_DIR/table.md and OUT_DIR/scores.png
(the plot only when matplotlib is installed). Published ROC-AUC (%): AnomalyDAE paper (BlogCatalog 97.81,
Flickr 97.22, ACM 90.05) and BOND's DOMINANT (inj_cora 82.7, enron 73.1). Our BlogCatalog is a re-injection
with the same protocol, not the paper's file (see ../shared/data/README.md): compare magnitudes only.
"""
import csv
import json
import os
import sys

PAPER = {"BlogCatalog": "97.81 (AnomalyDAE paper; different injection draw)", "Flickr": "97.22 (AnomalyDAE paper)",
         "ACM": "90.05 (AnomalyDAE paper)", "inj_cora": "82.7 (BOND, DOMINANT)", "enron": "73.1 (BOND, DOMINANT)"}


def main():
    out = sys.argv[1]
    rows = ["| dataset | nodes | anomalies | epochs | ROC-AUC % | AUC last train step % | AP | Recall@k | published ROC-AUC % | seconds |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    dists = []
    for arg in sys.argv[2:]:
        name, run = arg.split("=", 1)
        m = json.load(open(os.path.join(run, "metrics.json")))
        nm = m.get("nodes_metrics", {})
        fmt = lambda v, s=100: f"{v * s:.2f}" if isinstance(v, (int, float)) else "-"
        rows.append(f"| {name} | {m['nodes']} | {nm.get('anomalies', '-')} | {m['epochs']} | {fmt(nm.get('roc_auc'))} | "
                    f"{fmt(nm.get('roc_auc_last_train_step'))} | {fmt(nm.get('average_precision'), 1)} | "
                    f"{fmt(nm.get('recall_at_k'), 1)} | {PAPER.get(name, 'n/a')} | {m['train_seconds']:.0f} |")
        with open(os.path.join(run, "node_scores.csv")) as f:
            r = list(csv.DictReader(f))
        dists.append((name, [float(x["score"]) for x in r if x["label"] == "0"],
                      [float(x["score"]) for x in r if x["label"] == "1"]))
    text = "\n".join(rows) + "\n"
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "table.md"), "w").write(text)
    print(text)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, axes = plt.subplots(1, max(1, len(dists)), figsize=(4 * max(1, len(dists)), 3), squeeze=False)
    for ax, (name, normal, anom) in zip(axes[0], dists):
        ax.hist(normal, bins=50, alpha=0.6, density=True, label="normal")
        ax.hist(anom, bins=50, alpha=0.6, density=True, label="anomalous")
        ax.set_title(name)
        ax.set_xlabel("score")
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scores.png"), dpi=100)
    print("wrote", os.path.join(out, "scores.png"))


if __name__ == "__main__":
    main()
