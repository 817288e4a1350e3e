"""Helpers shared by the tools/plot_<model>.py scripts: reading run files, ROC and precision-recall curves,
score histograms, loss curves, and saving figures. Kept small so a researcher can read it in one sitting.

Curves follow scikit-learn (roc_curve, precision_recall_curve, average_precision_score) so the AUC and AP in
a legend match the ones the C++ side writes to metrics.json (runtime/metrics.h follows sklearn too).
"""
import csv
import json
import math
import os

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, works over ssh and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

NORMAL_COLOUR, ANOMALY_COLOUR = "tab:blue", "tab:red"


def read_json(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def read_rows(path):
    """A CSV file as a list of dicts (header row as keys); [] when the file is absent."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(text):
    """CSV cell to float: empty, 'nan' or unparsable cells become NaN."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def read_matrix(path):
    """A "timestamp,c0,c1,..." CSV as (stamps, {column: np.array}) — the DC-VAE matrix files."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    stamps = [r[0] for r in body]
    cols = {name: np.array([number(r[i + 1]) for r in body]) for i, name in enumerate(header[1:])}
    return stamps, cols


def save(fig, out_dir, name, caption, figures):
    """Writes fig to out_dir/name, closes it, and appends (name, caption) to the figure list."""
    fig.savefig(os.path.join(out_dir, name), dpi=100)
    plt.close(fig)
    figures.append((name, caption))


def _distinct_thresholds(scores, labels):
    """Cumulative true/false positives at each distinct score, highest first (sklearn's _binary_clf_curve)."""
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last_of_run = np.r_[np.where(np.diff(s))[0], len(s) - 1]
    tps = np.cumsum(y)[last_of_run]
    fps = (1 + last_of_run) - tps
    return tps, fps


def roc_curve(scores, labels):
    """(false positive rates, true positive rates, area) with ties counted half, as sklearn."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, int)
    tps, fps = _distinct_thresholds(scores, labels)
    tpr = np.r_[0.0, tps / max(tps[-1], 1)]
    fpr = np.r_[0.0, fps / max(fps[-1], 1)]
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # renamed in numpy 2
    return fpr, tpr, float(trapezoid(tpr, fpr))


def pr_curve(scores, labels):
    """(recalls, precisions, average precision); AP = sum (R_n - R_{n-1}) P_n, no interpolation (sklearn)."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, int)
    tps, fps = _distinct_thresholds(scores, labels)
    precision = tps / (tps + fps)
    recall = tps / max(tps[-1], 1)
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return np.r_[0.0, recall], np.r_[1.0, precision], ap


def roc_pr_figure(scores, labels, what):
    """ROC and precision-recall side by side, AUC and AP in the legends, the chance level drawn for each."""
    fpr, tpr, auc = roc_curve(scores, labels)
    rec, prec, ap = pr_curve(scores, labels)
    prevalence = float(np.mean(labels))
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    a.plot(fpr, tpr, color=ANOMALY_COLOUR, lw=1.5, label=f"model, ROC-AUC {auc:.3f}")
    a.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="random scores, 0.500")
    a.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC, {what}", xlim=(0, 1), ylim=(0, 1.01))
    b.step(rec, prec, where="post", color=ANOMALY_COLOUR, lw=1.5, label=f"model, AP {ap:.3f}")
    b.axhline(prevalence, color="grey", ls="--", lw=1, label=f"random scores, AP {prevalence:.3f}")
    b.set(xlabel="recall", ylabel="precision", title=f"precision-recall, {what}", xlim=(0, 1), ylim=(0, 1.01))
    for ax in (a, b):
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, auc, ap


def score_histogram(scores, labels, what, threshold=None):
    """Histograms of normal and anomalous scores on shared bins, each normalised to its own count."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, int)
    fig, ax = plt.subplots(figsize=(7.5, 4))
    bins = np.histogram_bin_edges(scores, bins=60)
    for value, name, colour in ((0, "normal", NORMAL_COLOUR), (1, "anomalous", ANOMALY_COLOUR)):
        part = scores[labels == value]
        if len(part):
            ax.hist(part, bins=bins, density=True, alpha=0.55, color=colour, label=f"{name} ({len(part)})")
    if threshold is not None and math.isfinite(threshold):
        ax.axvline(threshold, color="black", ls="--", lw=1, label=f"threshold {threshold:.4g}")
    ax.set(xlabel="anomaly score", ylabel="density (each class on its own)", title=f"score distribution, {what}")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def loss_figure(epochs, series, title, log_scale=True):
    """One line per (name, values) in series against the epochs; NaN values (not measured) are skipped.
    log_scale: a log y axis, when every value drawn is positive."""
    fig, ax = plt.subplots(figsize=(7.5, 4))
    drawn = []
    for name, values in series:
        values = np.asarray(values, float)
        keep = np.isfinite(values)
        if keep.any():
            ax.plot(np.asarray(epochs)[keep], values[keep], marker="." if keep.sum() < 60 else None, lw=1.2, label=name)
            drawn.append(values[keep])
    if log_scale and drawn and min(v.min() for v in drawn) > 0:
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="loss", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fmt(value, digits=4):
    """A table cell: numbers rounded, missing values as '-'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool) or isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)
