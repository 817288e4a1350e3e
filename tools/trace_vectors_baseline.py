#!/usr/bin/env python3
"""A trivial baseline for a trace-vector run: ROC-AUC of "number of call paths a trace takes" on the same
traces a run_tracedae run scored (RUN_DIR/node_scores.csv), next to the run's own ROC-AUC. Stdlib only.

usage: python3 tools/trace_vectors_baseline.py RUN_DIR NORMAL.zip ABNORMAL.zip
"""
import bisect
import csv
import io
import json
import sys
import zipfile


def read_counts(path, label, out):
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            text = z.read(z.namelist()[0]).decode()
    else:
        text = open(path).read()
    for line in io.StringIO(text, newline=""):
        line = line.strip("\r\n")
        if line:
            trace, values = line.split(":", 1)
            out[(trace, label)] = sum(1 for v in values.split(",") if float(v) > 1e-5)


def roc_auc(scores, labels):
    neg = sorted(s for s, l in zip(scores, labels) if l == 0)
    pos = [s for s, l in zip(scores, labels) if l == 1]
    total = 0.0
    for p in pos:
        lo, hi = bisect.bisect_left(neg, p), bisect.bisect_right(neg, p)
        total += lo + 0.5 * (hi - lo)
    return total / (len(pos) * len(neg))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    run, normal, abnormal = sys.argv[1:]
    counts = {}
    read_counts(normal, 0, counts)
    read_counts(abnormal, 1, counts)
    rows = list(csv.DictReader(open(run + "/node_scores.csv")))
    labels = [int(float(r["label"])) for r in rows]
    base = [counts[(r["node"], l)] for r, l in zip(rows, labels)]
    metrics = json.load(open(run + "/metrics.json"))["nodes_metrics"]
    print(f"traces {len(rows)} ({sum(labels)} anomalous)")
    print(f"ROC-AUC  run_tracedae {metrics['roc_auc']:.4f}   baseline (call paths taken) {roc_auc(base, labels):.4f}")


if __name__ == "__main__":
    main()
