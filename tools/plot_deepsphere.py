#!/usr/bin/env python3
"""Pictures and tables of a run_deepsphere run folder (called by tools/plot_run.py at the end of every run).

figures(run, out):
  top_case_residual.png   heat map of the residual x - x_hat of the highest-scored test case, one panel per
                          step, symmetric colour scale; the entries the nested rule flagged are outlined
  loss.png                the loss and its four terms per epoch (train_log.csv)
  case_roc_pr.png         ROC and precision-recall of the case scores (when the test cases have labels)
  case_scores.png         score histograms of normal and anomalous cases with the decision threshold
tables(run): case-level and nested metrics beside their trivial baselines (metrics.json).
By hand:  /usr/bin/python3 tools/plot_deepsphere.py RUN_FOLDER   (writes into RUN_FOLDER/plots/)
"""
import csv
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_common as pc  # noqa: E402

plt = pc.plt


def heat_map(run, out, figs):
    res = np.load(os.path.join(run, "top_case_residual.npy"))
    metrics = pc.read_json(os.path.join(run, "metrics.json"), {})
    case = metrics.get("top_case", 0)
    names = pc.read_json(os.path.join(run, "nodes.json"), None)
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
    im = None
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
            short = [n.replace("ts-", "").replace("-service", "")[:12] for n in names]
            ax.set_xticks(range(N))
            ax.set_yticks(range(N))
            ax.set_xticklabels(short, rotation=90, fontsize=4)
            ax.set_yticklabels(short, fontsize=4)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="residual x - x_hat")
    fig.suptitle(f"{metrics.get('model', 'deepsphere')}: residual of test case {case} (highest score)")
    pc.save(fig, out, "top_case_residual.png",
            f"Residual x - x_hat of test case {case}, the highest case score, per time step (rows: source, "
            "columns: target); outlined: entries the nested rule flagged.", figs)


def figures(run, out):
    figs = []
    if os.path.exists(os.path.join(run, "top_case_residual.npy")):
        heat_map(run, out, figs)
    log = os.path.join(run, "train_log.csv")
    if pc.read_rows(log):
        rows = pc.read_rows(log)
        col = {name: np.array([pc.number(r[name]) for r in rows]) for name in rows[0]} if rows else {}
        series = [(n, col[n]) for n in ("loss", "radius_term", "residue_term", "distance_term", "recon_term")]
        fig = pc.loss_figure(col["epoch"], series, "training loss and its terms")
        pc.save(fig, out, "loss.png", "Training loss per epoch (one full-batch Adam step each) and its four terms.", figs)
    scores = os.path.join(run, "case_scores.csv")
    if os.path.exists(scores):
        rows = pc.read_rows(scores)
        if rows and "label" in rows[0]:
            s = np.array([float(r["score"]) for r in rows])
            y = np.array([int(r["label"]) for r in rows])
            metrics = pc.read_json(os.path.join(run, "metrics.json"), {})
            if 0 < y.sum() < len(y):
                fig, _, _ = pc.roc_pr_figure(s, y, "test cases")
                pc.save(fig, out, "case_roc_pr.png", "ROC and precision-recall of the case scores.", figs)
            fig = pc.score_histogram(s, y, "test cases", metrics.get("case", {}).get("threshold"))
            pc.save(fig, out, "case_scores.png", "Case scores of normal and anomalous test cases, with the "
                    "decision threshold (DeepSphere: d - |R| > |R| tolerance).", figs)
    return figs


def tables(run):
    m = pc.read_json(os.path.join(run, "metrics.json"))
    if not m:
        return []
    out = []
    c = m.get("case", {})
    if "prf" in c:
        b = c.get("baselines", {})
        out.append((f"Case level, {m['test']['cases']} test cases ({m.get('model')}). Baselines: every case "
                    "anomalous; the distance to the mean training case as a score.",
                    ["metric", "model", "baseline"],
                    [["AUC", c.get("auc"), b.get("distance_to_mean_case_auc")],
                     ["F1 at the model's rule", c["prf"]["f1"], b.get("all_anomalous_f1")],
                     ["best F1 over thresholds", c.get("best_f1"), b.get("distance_to_mean_case_best_f1")],
                     ["accuracy", c.get("accuracy"), b.get("majority_accuracy")]]))
    n = m.get("nested", {})
    if "rmse" in n:
        out.append(("Nested anomalies (entries). Baselines: no deviation predicted (RMSE); |x - the entry's "
                    "training mean| as a score (AUC).",
                    ["metric", "model", "baseline"],
                    [["RMSE of the residual vs the injected deviations", n["rmse"], n["rmse_baseline_zero"]],
                     ["entry AUC of |residual|", n["entry_auc"], n["entry_auc_baseline_entry_mean"]],
                     [f"rule (k = {n['rule']['k_sigma']}) precision / recall / F1",
                      f"{n['rule']['prf']['precision']:.3f} / {n['rule']['prf']['recall']:.3f} / {n['rule']['prf']['f1']:.3f}",
                      ""]]))
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: plot_deepsphere.py RUN_FOLDER")
    target = os.path.join(sys.argv[1], "plots")
    os.makedirs(target, exist_ok=True)
    for name, _ in figures(sys.argv[1], target):
        print(os.path.join(target, name))
