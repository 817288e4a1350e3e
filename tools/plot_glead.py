#!/usr/bin/env python3
"""Pictures and tables of a run_glead run folder (called by tools/plot_run.py at the end of every run).

figures(run, out):
  flagged_attention.png  local explanations: for up to 12 test windows the model flagged (highest scores
                         first), the attention of the window's best head h* over its entries, the threshold,
                         true anomalous entries in red, flagged ones marked
  prototype_keys.png     global explanations: per head, the keys its windows flagged most often (top_entry)
  loss.png               training loss, triplet term and penalty per epoch (history.csv)
  window_roc_pr.png      ROC and precision-recall of the window score (mean d_n - mean d_a)
  window_scores.png      window score histograms with the decision threshold 0
tables(run): window- and entry-level P/R/F1 beside the trivial baseline (metrics.json).
By hand:  /usr/bin/python3 tools/plot_glead.py RUN_FOLDER   (writes into RUN_FOLDER/plots/)
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_common as pc  # noqa: E402

plt = pc.plt


def threshold_of(run):
    s = pc.read_json(os.path.join(run, "run_all.json"), {}) or {}
    return float(s.get("settings", {}).get("entry_threshold", 0.01))


def flagged_attention(run, out, figs):
    rows = [r for r in pc.read_rows(os.path.join(run, "windows.csv")) if r["prediction"] == "1"]
    if not rows:
        return
    rows.sort(key=lambda r: -float(r["score"]))
    rows = rows[:12]
    thr = threshold_of(run)
    cols = 3
    n_rows = (len(rows) + cols - 1) // cols
    fig, axes = plt.subplots(n_rows, cols, figsize=(5.2 * cols, 2.6 * n_rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= len(rows):
            ax.axis("off")
            continue
        r = rows[i]
        att = np.array([float(v) for v in r["attention"].split()])
        keys = r["keys"].split()
        labels = [int(v) for v in r["entry_labels"].split()] if r["entry_labels"] else [0] * len(keys)
        colours = [pc.ANOMALY_COLOUR if lab else pc.NORMAL_COLOUR for lab in labels]
        ax.bar(range(len(att)), att, color=colours)
        ax.axhline(thr, color="black", ls="--", lw=0.8)
        for t in (int(v) for v in r["flagged_entries"].split()):
            ax.plot(t, att[t], "v", color="black", ms=4)
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels(keys, rotation=90, fontsize=5)
        ax.set_title(f"window {r['window']} (label {r['label']}, head {r['best_head']}, score {float(r['score']):.3f})",
                     fontsize=8)
    fig.suptitle("attention of the best head over the entries of flagged test windows "
                 "(red: anomalous entry; dashed: threshold; marker: flagged)", fontsize=9)
    fig.tight_layout()
    pc.save(fig, out, "flagged_attention.png",
            "Local explanations: attention of each flagged window's best head h* over its entries (highest scores "
            "first); red bars are truly anomalous entries, the dashed line the entry threshold, markers the entries "
            "flagged.", figs)


def prototype_keys(run, out, figs):
    m = pc.read_json(os.path.join(run, "metrics.json"), {}) or {}
    heads = m.get("top_entries") or []
    if not any(heads):
        return
    fig, axes = plt.subplots(1, len(heads), figsize=(3.4 * len(heads), 3.6), squeeze=False)
    for h, ax in enumerate(axes[0]):
        top = heads[h][:8]
        if not top:
            ax.set_title(f"head {h}: no flags", fontsize=8)
            ax.axis("off")
            continue
        names = [f"{t['key']}: {t['template'][:28]}" if t.get("template") else t["key"] for t in top]
        ax.barh(range(len(top))[::-1], [t["count"] for t in top], color=pc.ANOMALY_COLOUR)
        ax.set_yticks(range(len(top))[::-1])
        ax.set_yticklabels(names, fontsize=5)
        ax.set_title(f"head {h}", fontsize=9)
        ax.set_xlabel("times flagged", fontsize=7)
    fig.tight_layout()
    pc.save(fig, out, "prototype_keys.png",
            "Global explanations: per head (anomaly prototype), the keys most often flagged in test windows whose "
            "best head it was.", figs)


def figures(run, out):
    figs = []
    flagged_attention(run, out, figs)
    prototype_keys(run, out, figs)
    hist = pc.read_rows(os.path.join(run, "history.csv"))
    if hist:
        col = {k: np.array([pc.number(r[k]) for r in hist]) for k in hist[0]}
        fig = pc.loss_figure(col["epoch"], [("loss", col["loss"]), ("triplet", col["triplet"]),
                                            ("penalty", col["penalty"])], "training loss and its terms")
        pc.save(fig, out, "loss.png", "Training loss per epoch (mean over batches): triplet term and the "
                "prototypes' orthogonality penalty.", figs)
    rows = pc.read_rows(os.path.join(run, "windows.csv"))
    if rows:
        s = np.array([float(r["score"]) for r in rows])
        y = np.array([int(r["label"]) for r in rows])
        if 0 < y.sum() < len(y):
            fig, _, _ = pc.roc_pr_figure(s, y, "test windows")
            pc.save(fig, out, "window_roc_pr.png", "ROC and precision-recall of the window score "
                    "(mean distance to the normal prototypes minus mean distance to the anomalous ones).", figs)
        fig = pc.score_histogram(s, y, "test windows", 0.0)
        pc.save(fig, out, "window_scores.png", "Window scores of normal and anomalous test windows; GLEAD flags a "
                "window at score >= 0.", figs)
    return figs


def tables(run):
    m = pc.read_json(os.path.join(run, "metrics.json"))
    if not m:
        return []
    rows = []
    for level in ("window", "entry"):
        g, b = m.get(level), (m.get("baseline") or {}).get(level)
        if not g:
            continue
        for what in ("precision", "recall", "f1"):
            rows.append([f"{level} {what} (anomalous class)", g["1"][what], b["1"][what] if b else None])
    w = m.get("window") or {}
    rows.append(["window ROC-AUC (continuous score)", w.get("roc_auc"), None])
    rows.append(["window AUC from 0/1 predictions (the original's)", w.get("auc_from_hard_labels"),
                 (m.get("baseline") or {}).get("window", {}).get("auc_from_hard_labels")])
    return [(f"GLEAD test ({m.get('split')}); baseline: flag a window holding a key of the labelled anomalies",
             ["metric", "GLEAD", "trivial baseline"], rows)]


def main(run):
    out = os.path.join(run, "plots")
    os.makedirs(out, exist_ok=True)
    for name, caption in figures(run, out):
        print(os.path.join(out, name), "-", caption)


if __name__ == "__main__":
    main(sys.argv[1])
