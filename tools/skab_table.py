#!/usr/bin/env python3
"""The SKAB table: DC-VAE under the leaderboard protocol beside the trivial detectors and the leaderboard.

    python3 tools/skab_table.py OUT_DIR REGIME=RUN_DIR[,RUN_DIR...] [REGIME=RUN_DIR ...]

RUN_DIR is a run_dcvae run folder of protocol "skab_leaderboard" (settings/dcvae_skab_valve1.json, with
score_alpha_set on, so each run scores valve1 and valve2). With several seeds its seed_<n>/ folders are
read; a run still in progress (a ".partial-" folder) gives the seeds finished so far, and the table says
how many. Several runs of one regime (other seeds) are joined with commas. Writes OUT_DIR/table.md and OUT_DIR/table.png (the PNG when matplotlib is installed).

Every row is system level (a step is flagged when any channel is; one SKAB label per step), scored on
rows 400.. of each experiment, TP/FP/TN/FN summed over experiments: F1 = TP / (TP + (FN + FP) / 2),
FAR = FP / (FP + TN), MAR = FN / (FN + TP). Mean ± sample std over seeds.
"""
import csv
import glob
import json
import math
import os
import sys

# waico/SKAB README, outlier detection, "strict" leaderboard (test rows only), all 34 files.
LEADERBOARD = [("Conv-AE", 0.78, 13.55, 28.02), ("MSET", 0.78, 39.73, 14.13), ("T-squared+Q (PCA)", 0.76, 26.62, 24.92),
               ("T-squared", 0.66, 19.21, 42.60), ("Isolation forest", 0.29, 2.56, 82.89)]
REGIME_NAMES = {"fixed_epochs": "fixed epochs", "early_stopping": "early stopping (validation windows)"}


def seed_metrics(run):
    """Per seed: the metrics.json of each finished seed (or the run's own for one seed)."""
    files = sorted(glob.glob(os.path.join(run, "seed_*", "metrics.json")))
    if not files and os.path.exists(os.path.join(run, "metrics.json")):
        files = [os.path.join(run, "metrics.json")]
    out = []
    for f in files:
        m = json.load(open(f))
        if m.get("protocol") != "skab_leaderboard":
            sys.exit(f"error: skab_table.py: {f}: not a skab_leaderboard run")
        exps = list(csv.DictReader(open(os.path.join(os.path.dirname(f), "experiments.csv"))))
        out.append((m, exps))
    if not out:
        sys.exit(f"error: skab_table.py: {run}: no finished seed (no metrics.json)")
    return out


def rows_of(m):
    """{(set, row name): row} over the scored set and the mirror."""
    rows = {}
    for key, name in (("summary", m["scored_set"]), ("mirror_summary", m.get("mirror_scored_set"))):
        for r in m.get(key, []):
            rows[(name, r["row"])] = r
    return rows


def mean_std(v):
    mean = sum(v) / len(v)
    std = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return mean, std


def cell(values, digits):
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def main():
    out = sys.argv[1]
    runs = [a.split("=", 1) for a in sys.argv[2:]]
    sets = ["valve1", "valve2"]
    lines = ["| detector | threshold | seeds | epochs kept (mean) | " +
             " | ".join(f"{s} F1 | {s} FAR % | {s} MAR %" for s in sets) + " |",
             "|---|---|---|---|" + "---|" * (3 * len(sets))]
    plot_rows = []
    trivial = None
    for regime, run in runs:
        per_seed = [m for r in run.split(",") for m in seed_metrics(r)]
        partial = ".partial-" in run
        epochs = [float(e["best_epoch"]) for _, exps in per_seed for e in exps]
        for rule in ("training residual", "alphas from"):
            cells, values = [], {}
            for s in sets:
                f1, far, mar = [], [], []
                for m, _ in per_seed:
                    for (st, name), r in rows_of(m).items():
                        if st == s and name.startswith(rule) and name.endswith("system (OR over channels)"):
                            f1.append(r["skab_f1"]), far.append(r["far_percent"]), mar.append(r["mar_percent"])
                if not f1:
                    cells += ["-", "-", "-"]
                    continue
                cells += [cell(f1, 3), cell(far, 2), cell(mar, 2)]
                values[s] = (mean_std(f1), mean_std(far), mean_std(mar))
            label = "training residual (per channel, q 0.999 × 4/3)" if rule == "training residual" else \
                "alphas chosen on the other valve"
            n = f"{len(per_seed)}" + (" (run unfinished)" if partial else "")
            lines.append(f"| DC-VAE, {REGIME_NAMES.get(regime, regime)} | {label} | {n} | "
                         f"{sum(epochs) / len(epochs):.2f} | " + " | ".join(cells) + " |")
            plot_rows.append((f"DC-VAE {regime.replace('_', ' ')}\n{rule.replace('from', 'from other valve')}", values))
        if trivial is None:
            trivial = {}
            for s in sets:
                for (st, name), r in rows_of(per_seed[0][0]).items():
                    if st == s and name.startswith("system: flag"):
                        trivial.setdefault(name, {})[s] = r
    for name in ("system: flag everything", "system: flag nothing"):
        r = trivial.get(name, {})
        cells = []
        for s in sets:
            x = r.get(s)
            cells += [f"{x['skab_f1']:.3f}", f"{x['far_percent']:.2f}", f"{x['mar_percent']:.2f}"] if x else ["-"] * 3
        lines.append(f"| {name.replace('system: ', '').capitalize()} (same scored rows) | - | - | - | " +
                     " | ".join(cells) + " |")
        plot_rows.append((name.replace("system: ", ""), {s: ((r[s]["skab_f1"], 0), (r[s]["far_percent"], 0),
                                                             (r[s]["mar_percent"], 0)) for s in sets if s in r}))
    lb = ["", "SKAB leaderboard (waico/SKAB README, outlier detection, test rows of all 34 files; not the same "
              "files as above: valve1 and valve2 are 20 of the 34):", "",
          "| detector | F1 | FAR % | MAR % |", "|---|---|---|---|"]
    lb += [f"| {n} | {f1:.2f} | {far:.2f} | {mar:.2f} |" for n, f1, far, mar in LEADERBOARD]
    text = "\n".join(lines + lb) + "\n"
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "table.md"), "w").write(text)
    print(text)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no table.png")
        return
    fig, axes = plt.subplots(1, 3, figsize=(16, 0.6 * (len(plot_rows) + len(LEADERBOARD)) + 2), sharey=True)
    labels = [r[0] for r in plot_rows] + [f"leaderboard: {n}\n(34 files)" for n, *_ in LEADERBOARD]
    y = list(range(len(labels)))
    for k, (ax, title) in enumerate(zip(axes, ["F1", "FAR %", "MAR %"])):
        for j, s in enumerate(sets):
            vals = [r[1].get(s, ((math.nan, 0),) * 3)[k] for r in plot_rows]
            ax.barh([i + 0.2 * (j - 0.5) * 2 for i in range(len(plot_rows))], [v[0] for v in vals], height=0.38,
                    xerr=[v[1] for v in vals], label=s, color=["tab:blue", "tab:orange"][j])
        ax.barh([len(plot_rows) + i for i in range(len(LEADERBOARD))], [row[1 + k] for row in LEADERBOARD],
                height=0.5, color="tab:gray", label="leaderboard (34 files)")
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(labels, fontsize=8)
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle("SKAB leaderboard protocol: system level, rows 400.. of each experiment, mean ± std over seeds")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "table.png"), dpi=110)
    print(f"wrote {os.path.join(out, 'table.md')} and table.png")


if __name__ == "__main__":
    main()
