#!/usr/bin/env python3
"""Pictures of a TraceDAE / AnomalyDAE run folder, written into <run>/plots/, and <run>/report.html.

    python3 tools/plot_tracedae.py runs/tracedae_traces/20261125-104709

  loss.png        loss and its attribute and structure terms per epoch (train_log.csv); in graph mode with
                  labels, the ROC-AUC measured during training beside it
  scores.png      histograms of the scores of normal and anomalous traces (traces mode) or nodes (graph mode),
                  with the train threshold (traces mode)
  roc_pr.png      ROC and precision-recall curves, ROC-AUC and AP in the legends, chance levels drawn
  top_traces.png  traces mode: the TOP_TRACES highest-scoring test traces' call graphs, nodes coloured by
                  score, the TOP_SPANS most anomalous spans of each ringed and named (needs call_edges.csv)

run_tracedae calls this at the end of every run (tools/plot_run.py); whatever the folder lacks is skipped.
"""
import os
from collections import defaultdict

import numpy as np

import plot_common as pc

TOP_TRACES, TOP_SPANS = 6, 3


def scored_items(run):
    """(what, scores, labels 0/1, threshold or None) of the labelled traces or nodes, or None."""
    metrics = pc.read_json(os.path.join(run, "metrics.json"), {})
    if metrics.get("mode") == "traces":
        rows = [r for r in pc.read_rows(os.path.join(run, "trace_scores.csv")) if r["label"] in ("0", "1")]
        what, threshold = "test traces", metrics.get("threshold")
    else:
        rows = [r for r in pc.read_rows(os.path.join(run, "node_scores.csv")) if r.get("label") in ("0", "1", "0.0", "1.0")]
        what, threshold = "nodes", None
    if not rows:
        return None
    scores = np.array([pc.number(r["score"]) for r in rows])
    labels = np.array([int(float(r["label"])) for r in rows])
    if labels.min() == labels.max():
        return None  # a single class: no ROC, no two histograms
    return what, scores, labels, threshold


def loss_figure(run, out, figures):
    rows = pc.read_rows(os.path.join(run, "train_log.csv"))
    if not rows:
        return
    epochs = np.array([int(r["epoch"]) for r in rows])
    col = lambda k: np.array([pc.number(r.get(k)) for r in rows])
    auc = col("roc_auc")
    fig, axes = pc.plt.subplots(1, 2 if np.isfinite(auc).any() else 1, figsize=(12, 4), squeeze=False)
    ax = axes[0, 0]
    for name, key in (("loss (weighted sum)", "loss"), ("attribute error (mean)", "attribute_error"),
                      ("structure error (mean)", "structure_error")):
        ax.plot(epochs, col(key), lw=1.2, label=name)
    ax.set(xlabel="epoch", ylabel="value", title="AnomalyDAE training loss per epoch", yscale="log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if axes.shape[1] == 2:
        keep = np.isfinite(auc)
        axes[0, 1].plot(epochs[keep], auc[keep], marker=".", color="tab:red", label="model")
        axes[0, 1].axhline(0.5, color="grey", ls="--", lw=1, label="random scores")
        axes[0, 1].set(xlabel="epoch", ylabel="ROC-AUC", title="ROC-AUC of the training step's scores")
        axes[0, 1].grid(alpha=0.3)
        axes[0, 1].legend(fontsize=8)
    fig.tight_layout()
    pc.save(fig, out, "loss.png", "Loss and its two error terms per epoch (train_log.csv).", figures)


def tree_layout(n, edges, depth):
    """x = depth, y = leaf order of a depth-first walk from the roots: a call tree read top to bottom."""
    children = defaultdict(list)
    has_parent = set()
    for a, b in edges:
        parent, child = (a, b) if depth[a] <= depth[b] else (b, a)
        if child not in has_parent and depth[parent] < depth[child]:
            children[parent].append(child)
            has_parent.add(child)
    y, counter = {}, [0]

    def place(v):
        stack, order = [v], []
        while stack:  # iterative: deep traces must not hit Python's recursion limit
            u = stack.pop()
            order.append(u)
            stack.extend(reversed(children[u]))
        for u in reversed(order):
            if children[u]:
                y[u] = float(np.mean([y[c] for c in children[u]]))
            else:
                y[u] = counter[0]
                counter[0] += 1

    for v in range(n):
        if v not in has_parent:
            place(v)
    return np.array([depth[v] for v in range(n)], float), np.array([y[v] for v in range(n)], float)


def top_traces_figure(run, out, figures):
    nodes = pc.read_rows(os.path.join(run, "node_scores.csv"))
    edges_path = os.path.join(run, "call_edges.csv")
    traces = pc.read_rows(os.path.join(run, "trace_scores.csv"))
    if not traces or not nodes or "depth" not in nodes[0] or not os.path.exists(edges_path):
        return
    by_trace, edges = defaultdict(list), defaultdict(list)
    for r in nodes:
        by_trace[r["trace_id"]].append(r)
    for r in pc.read_rows(edges_path):
        edges[r["trace_id"]].append((int(r["a"]), int(r["b"])))
    top = sorted(traces, key=lambda r: -pc.number(r["score"]))[:TOP_TRACES]
    all_scores = np.array([pc.number(r["score"]) for r in nodes])
    vmin, vmax = np.nanpercentile(all_scores, 1), np.nanmax(all_scores)
    cols = min(3, len(top))
    rows = -(-len(top) // cols)
    fig, axes = pc.plt.subplots(rows, cols, figsize=(6 * cols, 5.5 * rows), squeeze=False, constrained_layout=True)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, t in zip(axes.ravel(), top):
        tn = by_trace[t["trace_id"]]
        score = np.array([pc.number(r["score"]) for r in tn])
        x, y = tree_layout(len(tn), edges[t["trace_id"]], [int(r["depth"]) for r in tn])
        for a, b in edges[t["trace_id"]]:
            ax.plot([x[a], x[b]], [y[a], y[b]], color="#999", lw=0.7, zorder=1)
        sc = ax.scatter(x, y, c=score, cmap="viridis", vmin=vmin, vmax=vmax, s=40, zorder=2)
        named = []
        for k, i in enumerate(np.argsort(-score)[:TOP_SPANS]):
            ax.scatter([x[i]], [y[i]], s=160, facecolors="none", edgecolors="red", lw=1.6, zorder=3)
            ax.annotate(str(k + 1), (x[i], y[i]), xytext=(7, 5), textcoords="offset points", fontsize=9,
                        color="darkred", weight="bold")
            named.append(f"{k + 1}. {tn[i]['service']}:{tn[i]['operation']}  score {score[i]:.3g}")
        ax.text(0.0, -0.02, "\n".join(named), transform=ax.transAxes, va="top", fontsize=8, color="darkred")
        label = {"1": "anomalous", "0": "normal"}.get(t["label"], "unlabelled")
        kind = f", {t['kind']}" if t.get("kind") and t["kind"] != "normal" else ""
        ax.set_title(f"trace {t['trace_id']}: score {pc.number(t['score']):.4g}\n{label}{kind}, "
                     f"{len(tn)} nodes", fontsize=9)
        ax.invert_yaxis()
        ax.margins(x=0.25, y=0.08)
    fig.colorbar(sc, ax=axes, shrink=0.6, label="node score")
    pc.save(fig, out, "top_traces.png", f"The {len(top)} highest-scoring test traces' call graphs (call depth left to "
            f"right); nodes coloured by score, the {TOP_SPANS} most anomalous spans of each ringed and named.", figures)


def figures(run, out):
    figs = []
    loss_figure(run, out, figs)
    items = scored_items(run)
    if items:
        what, scores, labels, threshold = items
        pc.save(pc.score_histogram(scores, labels, what, threshold), out, "scores.png",
                f"Scores of normal and anomalous {what}, each class normalised to its own count.", figs)
        fig, auc, ap = pc.roc_pr_figure(scores, labels, what)
        pc.save(fig, out, "roc_pr.png", f"ROC (AUC {auc:.4f}) and precision-recall (AP {ap:.4f}) on the {what}; "
                "dashed: random scores.", figs)
    top_traces_figure(run, out, figs)
    return figs


def metric_rows(x):
    """Model values beside what a trivial detector gets: random scores, or flagging every item."""
    p = x["anomalies"] / x["count"]
    flag_all_f1 = 2 * p / (1 + p)
    rows = [["ROC-AUC", x["roc_auc"], 0.5, "random scores"],
            ["average precision", x["average_precision"], p, "random scores (= anomaly fraction)"],
            [f"Recall@{x['k']}", x["recall_at_k"], x["k"] / x["count"], "random ranking (expected)"],
            ["best F1 over thresholds", x["best_f1"]["f1"], flag_all_f1, "flag everything"]]
    if "at_train_threshold" in x:
        t = x["at_train_threshold"]
        rows += [["precision at the train threshold", t["precision"], p, "flag everything"],
                 ["recall at the train threshold", t["recall"], 1.0, "flag everything"],
                 ["F1 at the train threshold", t["f1"], flag_all_f1, "flag everything"]]
    for k, v in x.get("recall_by_kind_at_train_threshold", {}).items():
        rows.append([f"recall on {k} anomalies (train threshold)", v, 1.0, "flag everything"])
    for key in ("roc_auc_last_train_step", "roc_auc_attribute_error", "roc_auc_structure_error"):
        if key in x:
            rows.append([key.replace("_", " "), x[key], 0.5, "random scores"])
    for k, v in x.get("roc_auc_by_kind", {}).items():
        rows.append([f"ROC-AUC on {k} anomalies", v, 0.5, "random scores"])
    return rows


def tables(run):
    metrics = pc.read_json(os.path.join(run, "metrics.json"), {})
    out = []
    header = ["metric", "model", "trivial baseline", "baseline"]
    for key, what in (("traces_metrics", "test traces"), ("nodes_metrics", "nodes")):
        x = metrics.get(key)
        if x and "roc_auc" in x:
            out.append((f"{metrics.get('dataset', '')} {what}: {x['count']} items, {x['anomalies']} anomalous.",
                        header, metric_rows(x)))
    return out


if __name__ == "__main__":
    import argparse
    import sys

    import plot_run

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    raise SystemExit(plot_run.plot_run("tracedae", ap.parse_args().run, sys.modules[__name__]))
