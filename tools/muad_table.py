#!/usr/bin/python3
"""Markdown table (and a PNG when matplotlib is present) of test F1 against labels used for MUAD runs:
    tools/muad_table.py OUT_DIR entropy=RUN_DIR random=RUN_DIR full=RUN_DIR
Each RUN_DIR holds run_muad's metrics.json. Writes OUT_DIR/table.md and OUT_DIR/f1_vs_labels.png."""
import json
import os
import subprocess
import sys


def main():
    out, pairs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    runs = {k: json.load(open(os.path.join(v, "metrics.json"))) for k, v in pairs}
    any_run = next(iter(runs.values()))
    trivial = any_run["trivial_all_anomalous_f1"]
    # F1 (and, where the run recorded it, the final model's test ROC-AUC) per variant; the trivial
    # all-anomalous F1 beside every row.
    def cell(r):
        return f'{r["test_f1"]:.4f}' + (f' ({r["test_roc_auc"]:.3f})' if "test_roc_auc" in r else "")

    lines = ["| labels used | MUAD (entropy + pseudo-labels) F1 (ROC-AUC) | random querying F1 (ROC-AUC) | "
             "trivial F1 | pseudo-labels (MUAD) |",
             "|---|---|---|---|---|"]
    by_labels = {}
    for k in ("entropy", "random"):
        for r in runs.get(k, {}).get("rounds", []):
            by_labels.setdefault(r["labels"], {})[k] = r
    for n in sorted(by_labels):
        e, r = by_labels[n].get("entropy"), by_labels[n].get("random")
        lines.append(f"| {n} | {cell(e)} | " if e else f"| {n} | - | ")
        lines[-1] += f"{cell(r)} | " if r else "- | "
        lines[-1] += f"{trivial:.4f} | "
        lines[-1] += f'{e["pseudo_labels"]} ({e["pseudo_labels_wrong"]} wrong) |' if e else "- |"
    if "full" in runs:
        f = runs["full"]["rounds"][-1]
        lines.append(f'| {f["labels"]} (all training labels, one round) | {cell(f)} | | {trivial:.4f} | |')
    w = any_run["windows"]
    text = "\n".join(lines) + (f"\n\nTest windows: {w['test']} (anomalous fraction {any_run['test_positive_ratio']:.3f}); "
                               f"trivial all-anomalous F1 {trivial:.4f}. Pool {w['pool']}, validation {w['validation']}.\n")
    with open(os.path.join(out, "table.md"), "w") as fh:
        fh.write(text)
    print(text)
    plot = [sys.executable, os.path.join(os.path.dirname(__file__), "plot_muad.py"), "--compare",
            os.path.join(out, "f1_vs_labels.png")]
    keys = [k for k in ("entropy", "random", "full") if k in runs]
    plot += [dict(pairs)[k] for k in keys] + ["--labels"] + keys
    if subprocess.call(plot) != 0:
        print("(no PNG: matplotlib missing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
