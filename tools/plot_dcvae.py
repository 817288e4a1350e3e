#!/usr/bin/env python3
"""Pictures of a DC-VAE run folder, written into <run>/plots/, and <run>/report.html.

    python3 tools/plot_dcvae.py runs/dcvae/20261125-104709 [--labels experiments/data/telco_like/test_labels.csv]

  loss.png             training and validation loss per epoch (history.csv)
  channel_<c>.png      per channel: the scaled test signal, mu and the band mu - alpha_down*sigma .. mu +
                       alpha_up*sigma, flagged points (red) and labelled anomalies (orange spans); a long
                       series is split into stacked panels of at most PANEL_STEPS steps so it stays readable
  overview.png         every channel in one figure, flags and labels only

run_dcvae calls this at the end of every run (tools/plot_run.py); whatever the folder lacks (a train-only run
has no test files) is skipped.
"""
import os

import numpy as np

import plot_common as pc

PANEL_STEPS = 1000  # steps per panel row: ~1 pixel per step at this figure width
LABELS_OVERRIDE = None  # --labels: a label CSV instead of the one metrics.json names


def label_matrix(stamps, labels_path):
    """Per-channel 0/1 labels aligned with the test stamps, or None when there is no label file."""
    if not labels_path or not os.path.exists(labels_path):
        return None
    lstamps, lcols = pc.read_matrix(labels_path)
    if stamps[0] not in lstamps:
        return None
    start = lstamps.index(stamps[0])
    return {c: v[start:start + len(stamps)] for c, v in lcols.items()}


def runs_of_ones(v):
    """[first, last] index pairs of the maximal runs of 1s in a 0/1 array."""
    v = np.r_[0, (np.asarray(v) == 1).astype(int), 0]
    edges = np.flatnonzero(np.diff(v))
    return list(zip(edges[0::2], edges[1::2] - 1))


def loss_figure(run, out, figures):
    rows = pc.read_rows(os.path.join(run, "history.csv"))
    if not rows:
        return
    epochs = [int(r["epoch"]) for r in rows]
    series = [("train loss", [pc.number(r["loss"]) for r in rows]),
              ("validation loss", [pc.number(r.get("val_loss")) for r in rows])]
    fig = pc.loss_figure(epochs, series, "DC-VAE loss per epoch (negative ELBO per window)", log_scale=False)
    pc.save(fig, out, "loss.png", "Training and validation loss per epoch (history.csv).", figures)


def channel_figure(c, x, mu, sig, up, down, pred, lab):
    n = len(x)
    panels = max(1, -(-n // PANEL_STEPS))
    fig, axes = pc.plt.subplots(panels, 1, figsize=(14, 2.6 * panels + 0.6), squeeze=False)
    t = np.arange(n)
    for p, ax in enumerate(axes[:, 0]):
        s = slice(p * PANEL_STEPS, min(n, (p + 1) * PANEL_STEPS))
        ax.fill_between(t[s], mu[s] - down * sig[s], mu[s] + up * sig[s], color="tab:blue", alpha=0.18, lw=0,
                        label=f"mu - {down} sigma .. mu + {up} sigma")
        ax.plot(t[s], mu[s], color="tab:blue", lw=0.6, label="mu")
        ax.plot(t[s], x[s], color="black", lw=0.6, label="signal (scaled)")
        if lab is not None:
            for k, (a, b) in enumerate(runs_of_ones(lab[s])):
                ax.axvspan(t[s][a] - 0.5, t[s][b] + 0.5, color="tab:orange", alpha=0.3, lw=0,
                           label="labelled anomaly" if k == 0 else None)
        flagged = np.flatnonzero(pred[s] == 1)
        ax.scatter(t[s][flagged], x[s][flagged], s=9, color="tab:red", zorder=3, label="flagged")
        ax.set_xlim(s.start - 0.5, s.start + min(n, PANEL_STEPS) - 0.5)  # every panel on the same scale
        ax.set_ylabel(c)
    legend = {}  # one legend for all panels: a label range may appear only in a later panel
    for ax in axes[:, 0]:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(name, handle)
    axes[0, 0].legend(legend.values(), legend.keys(), loc="lower right", bbox_to_anchor=(1, 1), fontsize=7, ncol=5,
                      frameon=False)
    axes[-1, 0].set_xlabel("test step (after the first T-1 steps of context)")
    fig.suptitle(f"channel {c}: alpha_up {up}, alpha_down {down}", fontsize=10)
    fig.tight_layout()
    return fig


def figures(run, out):
    figs = []
    loss_figure(run, out, figs)
    needed = ["test_scaled_values.csv", "test_reconstruction.csv", "test_sigma.csv", "test_predictions.csv", "alphas.json"]
    if not all(os.path.exists(os.path.join(run, f)) for f in needed):
        return figs
    stamps, x = pc.read_matrix(os.path.join(run, "test_scaled_values.csv"))
    _, mu = pc.read_matrix(os.path.join(run, "test_reconstruction.csv"))
    _, sig = pc.read_matrix(os.path.join(run, "test_sigma.csv"))
    _, pred = pc.read_matrix(os.path.join(run, "test_predictions.csv"))
    alphas = {c["channel"]: c for c in pc.read_json(os.path.join(run, "alphas.json"))["channels"]}
    metrics = pc.read_json(os.path.join(run, "metrics.json"), {})
    lab = label_matrix(stamps, LABELS_OVERRIDE or metrics.get("labels"))
    channels = list(x)
    for c in channels:
        up, down = alphas[c]["alpha_up"], alphas[c]["alpha_down"]
        fig = channel_figure(c, x[c], mu[c], sig[c], up, down, pred[c], lab[c] if lab else None)
        pc.save(fig, out, f"channel_{c}.png", f"Channel {c}: scaled test signal, mu, the alpha band, flagged "
                "points (red) and labelled anomalies (orange).", figs)
    fig, axes = pc.plt.subplots(len(channels), 1, figsize=(14, 0.9 * len(channels) + 1), sharex=True, squeeze=False)
    for ax, c in zip(axes[:, 0], channels):
        ax.plot(x[c], color="black", lw=0.4)
        if lab:
            for a, b in runs_of_ones(lab[c]):
                ax.axvspan(a - 0.5, b + 0.5, color="tab:orange", alpha=0.35, lw=0)
        f = np.flatnonzero(pred[c] == 1)
        ax.scatter(f, x[c][f], s=4, color="tab:red", zorder=3)
        ax.set_ylabel(c, rotation=0, ha="right", fontsize=8)
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("test step")
    fig.suptitle("all channels: flagged (red) and labelled (orange)", fontsize=10)
    fig.tight_layout()
    pc.save(fig, out, "overview.png", "All channels at once: flagged points and labelled anomalies.", figs)
    return figs


def tables(run):
    """The test metrics per channel beside the trivial baseline "flag every step" (point-wise)."""
    metrics = pc.read_json(os.path.join(run, "metrics.json"))
    if not metrics or "channels" not in metrics:
        return []
    steps = len(pc.read_rows(os.path.join(run, "test_predictions.csv")))
    header = ["channel", "alpha up/down", "range P", "range R", "range F1", "point P", "point R", "point F1",
              "labelled", "flagged", "flag-all point F1 (baseline)"]
    rows, base = [], []
    for c in metrics["channels"]:
        p = c["labelled_points"] / steps if steps else float("nan")
        flag_all = 2 * p / (1 + p) if c["labelled_points"] else float("nan")
        if c["labelled_points"]:
            base.append(flag_all)
        rows.append([c["channel"], f'{c["alpha_up"]}/{c["alpha_down"]}', c["range_precision"], c["range_recall"],
                     c["range_f1"], c["point_precision"], c["point_recall"], c["point_f1"], c["labelled_points"],
                     c["flagged_points"], flag_all])
    if "mean_range_f1" in metrics:
        rows.append(["mean over labelled channels", "", "", "", metrics["mean_range_f1"], "", "", metrics["mean_point_f1"],
                     "", "", float(np.mean(base)) if base else float("nan")])
    title = (f"Test on {metrics.get('file', '?')} ({steps} steps). Range metrics: prts, alpha 0, reciprocal, front. "
             "Baseline: every step flagged, point-wise F1 = 2p/(1+p), p = labelled fraction.")
    out = [(title, header, rows)]
    summary = metrics.get("summary")  # model rows beside trivial rows ("flag everything", ...), scored in C++
    if summary:
        keys = [k for k in summary[0] if k != "row"]
        out.insert(0, ("Summary: the model's rows and the trivial detectors' rows, scored the same way.",
                       ["row"] + keys, [[r.get("row", "")] + [r.get(k) for k in keys] for r in summary]))
    return out


if __name__ == "__main__":
    import argparse
    import sys

    import plot_run

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--labels", help="label CSV of the test file (default: the one metrics.json names)")
    a = ap.parse_args()
    LABELS_OVERRIDE = a.labels
    raise SystemExit(plot_run.plot_run("dcvae", a.run, sys.modules[__name__]))
