#!/usr/bin/env python3
"""Markdown table of AnomalyDAE graph-mode runs beside the published numbers, and a score-distribution plot.

    python3 tools/anomalydae_table.py OUT_DIR NAME=RUN_DIR [NAME=RUN_DIR ...]

Reads RUN_DIR/metrics.json and RUN_DIR/node_scores.csv; writes OUT_DIR/table.md, and OUT_DIR/scores.png
(score histograms) and OUT_DIR/roc.png (ROC curves, AUC in the legend) when matplotlib is installed. Each run
folder also holds its own pictures and report.html (the end-of-run hook, tools/plot_run.py). Published ROC-AUC (%): AnomalyDAE paper (BlogCatalog 97.81,
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
        import plot_common as pc
    except ImportError:
        print("matplotlib or numpy not installed: no figures (bash tools/setup.sh installs them)")
        return
    if not dists:
        return
    fig, axes = pc.plt.subplots(1, len(dists), figsize=(4 * len(dists), 3.2), squeeze=False)
    for ax, (name, normal, anom) in zip(axes[0], dists):
        bins = pc.np.histogram_bin_edges(normal + anom, bins=50)
        ax.hist(normal, bins=bins, alpha=0.55, density=True, color=pc.NORMAL_COLOUR, label=f"normal ({len(normal)})")
        ax.hist(anom, bins=bins, alpha=0.55, density=True, color=pc.ANOMALY_COLOUR, label=f"anomalous ({len(anom)})")
        ax.set(title=name, xlabel="score", yscale="log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    figures = []
    pc.save(fig, out, "scores.png", "score histograms", figures)
    fig, ax = pc.plt.subplots(figsize=(5, 4.5))
    for name, normal, anom in dists:
        fpr, tpr, auc = pc.roc_curve(normal + anom, [0] * len(normal) + [1] * len(anom))
        ax.plot(fpr, tpr, lw=1.3, label=f"{name}, ROC-AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="random scores, 0.500")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="AnomalyDAE, ROC per dataset")
    ax.legend(fontsize=8)
    fig.tight_layout()
    pc.save(fig, out, "roc.png", "ROC curves", figures)
    print("wrote", ", ".join(os.path.join(out, f) for f, _ in figures))


if __name__ == "__main__":
    main()
