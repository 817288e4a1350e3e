#!/usr/bin/env python3
"""Golden values for runtime/metrics.{h,cpp}, from scikit-learn and prts (independent implementations).

    pip install numpy scikit-learn prts      # tested with scikit-learn 1.9.1, prts 1.0.0.3
    python3 tools/reference/metrics_reference.py   # writes tests/golden/metrics/metrics_reference.json

CI never runs this; tests/runtime/test_metrics.cpp only reads the JSON.
prts's public ts_precision/ts_recall raise AssertionError when `real` or `pred` has no 1s (its _prepare_data
indexes the empty array of anomaly indices and asserts both 0 and 1 occur). For those cases we call its scoring
core (_update_precision/_update_recall) on empty range arrays, which is what our C++ mirrors, and mark the case
with "prts_raises": true.
"""
import json
import os
import warnings

import numpy as np
import prts
from prts.time_series_metrics.precision import TimeSeriesPrecision
from prts.time_series_metrics.recall import TimeSeriesRecall
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support, roc_auc_score

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "metrics", "metrics_reference.json")
COMBOS = [(a, c, b) for a in (0.0, 0.5, 1.0) for c in ("one", "reciprocal") for b in ("flat", "front", "middle", "back")]
rng = np.random.default_rng(20240611)


def runs(n, n_runs, max_len):
    v = np.zeros(n, dtype=int)
    for _ in range(n_runs):
        s = int(rng.integers(0, n))
        v[s:s + int(rng.integers(1, max_len + 1))] = 1
    return v


def ranges(v):
    idx = np.flatnonzero(v)
    if len(idx) == 0:
        return np.zeros((0, 2), dtype=int)
    cut = np.flatnonzero(np.diff(idx) != 1)
    return np.stack([idx[np.r_[0, cut + 1]], idx[np.r_[cut, len(idx) - 1]]], axis=1)


def range_metrics(real, pred):
    out, raises = [], False
    for alpha, card, bias in COMBOS:
        try:
            p = prts.ts_precision(real, pred, alpha=alpha, cardinality=card, bias=bias)
            r = prts.ts_recall(real, pred, alpha=alpha, cardinality=card, bias=bias)
        except AssertionError:
            raises = True
            p = TimeSeriesPrecision(alpha, card, bias)._update_precision(ranges(real), ranges(pred))
            r = TimeSeriesRecall(alpha, card, bias)._update_recall(ranges(real), ranges(pred))
        out.append({"alpha": alpha, "cardinality": card, "bias": bias, "precision": float(p), "recall": float(r)})
    return out, raises


def best_f1(scores, labels):
    best = None
    for t in sorted(set(scores.tolist()), reverse=True):  # highest threshold wins ties
        f = f1_score(labels, (scores >= t).astype(int), zero_division=0)
        if best is None or f > best[1]:
            best = (t, f)
    return best


def case(name, scores, labels, pred, threshold=None, ks=None):
    scores, labels, pred = np.asarray(scores, float), np.asarray(labels, int), np.asarray(pred, int)
    if threshold is None:
        threshold = float(np.quantile(scores, rng.uniform(0.5, 0.95), method="nearest"))  # a score value: tests >=
    yhat = (scores >= threshold).astype(int)
    p, r, f, _ = precision_recall_fscore_support(labels, yhat, average="binary", zero_division=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auc = roc_auc_score(labels, scores) if len(set(labels.tolist())) == 2 else None
        ap = average_precision_score(labels, scores)
    rm, raises = range_metrics(labels, pred)
    bt, bf = best_f1(scores, labels)
    c = {
        "name": name, "scores": scores.tolist(), "labels": labels.tolist(), "pred": pred.tolist(),
        "roc_auc": auc, "average_precision": float(ap),
        "threshold": threshold,
        "prf": {"precision": float(p), "recall": float(r), "f1": float(f),
                "tp": int(((yhat == 1) & (labels == 1)).sum()), "fp": int(((yhat == 1) & (labels == 0)).sum()),
                "fn": int(((yhat == 0) & (labels == 1)).sum())},
        "best_f1": {"threshold": bt, "f1": float(bf)},
        "range": rm, "prts_raises": raises,
    }
    if labels.sum() > 0:  # PyGOD eval_recall_at_k; ties by lower index (stable sort)
        order = np.argsort(-scores, kind="stable")
        ks = ks or sorted({1, int(labels.sum()), len(scores)})
        c["recall_at_k"] = [{"k": k, "value": float(labels[order[:k]].sum() / labels.sum())} for k in ks]
    return c


def noisy_scores(labels, ties=False):
    s = labels * rng.uniform(0.3, 1.5) + rng.normal(0, 1, len(labels))
    return np.round(s, 1) if ties else s


cases = []
# Hand-picked edge cases.
lab = np.array([0, 1, 1, 0, 0, 0, 1, 0, 0, 0])
cases.append(case("all_zero_prediction", noisy_scores(lab), lab, np.zeros(10, int)))
cases.append(case("all_zero_labels", rng.normal(size=12), np.zeros(12, int), np.r_[np.zeros(6, int), np.ones(6, int)]))
cases.append(case("single_point", [0.1, 0.9], [0, 1], [0, 1]))
cases.append(case("length_one", [0.3], [1], [1]))
lab = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1])
cases.append(case("ranges_touch_both_ends", noisy_scores(lab), lab, np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 1])))
lab = np.array([0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0])
cases.append(case("one_pred_covers_three_real", noisy_scores(lab, True), lab, np.r_[np.zeros(1, int), np.ones(9, int), np.zeros(2, int)]))
lab = np.r_[np.zeros(2, int), np.ones(12, int), np.zeros(2, int)]
cases.append(case("three_pred_in_one_real", noisy_scores(lab, True), lab, np.array([0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0])))
lab = np.array([0, 0, 1, 1, 1, 1, 0, 0])
cases.append(case("all_scores_tied", np.full(8, 0.5), lab, np.ones(8, int), threshold=0.5))
cases.append(case("all_labels_one", rng.normal(size=6), np.ones(6, int), np.array([0, 1, 1, 0, 1, 1])))
cases.append(case("perfect", np.r_[np.zeros(5), np.ones(3)], np.r_[np.zeros(5, int), np.ones(3, int)], np.r_[np.zeros(5, int), np.ones(3, int)]))
cases.append(case("threshold_above_all", rng.normal(size=9), np.array([0, 1, 0, 0, 1, 1, 0, 0, 0]), np.array([1, 0, 0, 0, 0, 1, 1, 1, 0]), threshold=10.0))
# Random cases: lengths 2..300, anomaly ratios from sparse to dense, ties in half of them.
for i in range(21):
    n = int(rng.choice([2, 5, 17, 40, 99, 150, 300])) if i < 14 else int(rng.integers(2, 301))
    lab = runs(n, int(rng.integers(1, 6)), max(1, int(n * rng.uniform(0.02, 0.2))))
    if lab.sum() == 0 or lab.sum() == n:
        lab[0] = 1 - lab[0]
    if i % 3 == 0:  # prediction near the truth: shifted and stretched copies of real ranges
        pred = np.roll(lab, int(rng.integers(-3, 4))) | runs(n, 1, 3)
    else:
        pred = runs(n, int(rng.integers(1, 8)), max(1, int(n * 0.1)))
    if pred.sum() == 0:
        pred[int(rng.integers(0, n))] = 1
    cases.append(case(f"random_{i}_n{n}", noisy_scores(lab, ties=i % 2 == 0), lab, pred))

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/metrics_reference.py", "sklearn_version": __import__("sklearn").__version__,
               "prts_version": "1.0.0.3", "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")
