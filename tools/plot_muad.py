#!/usr/bin/env python3
"""Pictures of a MUAD run folder (run_muad calls this through tools/plot_run.py at the end of every run):

  f1_vs_labels.png  test and validation F1 per active-learning round against labels used, the trivial
                    all-anomalous F1 drawn
  roc_pr.png        ROC and precision-recall of the final model's P(anomalous) on the test windows

    python3 tools/plot_muad.py --compare OUT.png RUN [RUN ...] [--labels NAME ...]
draws several runs' test F1 against labels used in one picture (experiments/reproduce_muad.sh).
"""
import argparse
import os
import sys

import numpy as np

import plot_common as pc


def rounds(run):
    return pc.read_json(os.path.join(run, "metrics.json"), {}).get("rounds", [])


def f1_figure(runs, names, trivial):
    fig, ax = pc.plt.subplots(figsize=(7, 4.2))
    for run, name in zip(runs, names):
        rs = rounds(run)
        if not rs:
            continue
        ax.plot([r["labels"] for r in rs], [r["test_f1"] for r in rs], marker="o", lw=1.5, label=f"{name}: test F1")
        if len(runs) == 1:
            ax.plot([r["labels"] for r in rs], [r["val_f1"] for r in rs], marker=".", lw=1, ls=":",
                    label=f"{name}: validation F1")
    if trivial is not None:
        ax.axhline(trivial, color="grey", ls="--", lw=1, label=f"all anomalous, {trivial:.3f}")
    ax.set(xlabel="labels used", ylabel="F1", title="MUAD: F1 against labels used", ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def figures(run, out):
    figs = []
    m = pc.read_json(os.path.join(run, "metrics.json"), {})
    if m.get("rounds"):
        name = f'{m.get("mode", "")}/{m.get("query", "")}'
        pc.save(f1_figure([run], [name], m.get("trivial_all_anomalous_f1")), out, "f1_vs_labels.png",
                "Test and validation F1 per round against labels used; dashed: the all-anomalous predictor", figs)
    rows = [r for r in pc.read_rows(os.path.join(run, "scores.csv")) if r.get("label") in ("0", "1")]
    if rows:
        scores = np.array([pc.number(r["score"]) for r in rows])
        labels = np.array([int(r["label"]) for r in rows])
        if labels.min() != labels.max():
            fig, auc, ap = pc.roc_pr_figure(scores, labels, "test windows")
            pc.save(fig, out, "roc_pr.png", f"Final model on the test windows: ROC-AUC {auc:.3f}, AP {ap:.3f}", figs)
    return figs


def tables(run):
    m = pc.read_json(os.path.join(run, "metrics.json"), {})
    rs = m.get("rounds", [])
    if not rs:
        return []
    trivial = m.get("trivial_all_anomalous_f1", float("nan"))
    body = [[r["round"], r["labels"], f'{r["pseudo_labels"]} ({r["pseudo_labels_wrong"]} wrong)', r["best_epoch"],
             f'{r["val_f1"]:.4f}', f'{r["test_f1"]:.4f}', f"{trivial:.4f}"] for r in rs]
    return [("Active-learning rounds", ["round", "labels", "pseudo-labels", "best epoch", "validation F1",
                                        "test F1", "all-anomalous F1"], body)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", metavar="OUT_PNG", required=True)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--labels", nargs="*")
    a = ap.parse_args()
    names = a.labels if a.labels and len(a.labels) == len(a.runs) else [os.path.basename(r) for r in a.runs]
    trivial = pc.read_json(os.path.join(a.runs[0], "metrics.json"), {}).get("trivial_all_anomalous_f1")
    fig = f1_figure(a.runs, names, trivial)
    fig.savefig(a.compare, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
