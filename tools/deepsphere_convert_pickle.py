#!/usr/bin/env python3
"""Converts the original DeepSphere pickles (picsolab/DeepSphere main.py: data/train.pkl, data/test.pkl) into our
files, for users who have them (they are not public any more):

    /usr/bin/python3 tools/deepsphere_convert_pickle.py --train data/train.pkl --test data/test.pkl --out DIR

Input (as main.py reads it): a dict with "data" [cases, T, N, N], "label" [cases] and, in the test pickle,
"diff": one entry per case, {} (no anomalous entry) or {"coord": (t[], i[], j[]), "value": v[]}.
Output, per split: <split>_data.npy (float32 [cases, T, N, N]), <split>_labels.csv (case,label, label 1 =
anomaly), and <split>_deviations.csv (case,t,i,j,deviation) when the pickle has "diff".
Label polarity: the original's accuracy compares "label" with model.label, which is True inside the sphere, so
its 1 most likely means normal; by default we flip it (--original-label-means normal). Pass
--original-label-means anomaly to keep the labels as they are.
Checks: the data must be 4-D with square N x N matrices and finite; labels 0/1 (or bool), one per case; every
deviation inside the data. One "error: <file>: <what>" line and exit code 1 otherwise, nothing written.

    /usr/bin/python3 tools/deepsphere_convert_pickle.py --self-test DIR
writes a tiny train.pkl / test.pkl into DIR, converts them into DIR/converted and checks the result
(tests/models/test_deepsphere.cpp runs this and then reads DIR/converted with the C++ loader).
"""
import argparse
import csv
import os
import pickle
import sys

import numpy as np


class ConvertError(Exception):
    pass


def load_split(path, polarity):
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise ConvertError(f"{path}: cannot read the pickle ({e})")
    if not isinstance(obj, dict) or "data" not in obj or "label" not in obj:
        raise ConvertError(f"{path}: expected a dict with 'data' and 'label'")
    data = np.asarray(obj["data"])
    if data.ndim != 4 or data.shape[2] != data.shape[3]:
        raise ConvertError(f"{path}: data: expected shape (cases, T, N, N), got {data.shape}")
    data = data.astype(np.float32)
    if not np.isfinite(data).all():
        c, t, i, j = np.argwhere(~np.isfinite(data))[0]
        raise ConvertError(f"{path}: data: case {c}, t {t}, i {i}, j {j} is not finite")
    label = np.asarray(obj["label"]).reshape(-1).astype(float)
    if label.shape[0] != data.shape[0]:
        raise ConvertError(f"{path}: label: {label.shape[0]} labels for {data.shape[0]} cases")
    if not np.isin(label, (0, 1)).all():
        raise ConvertError(f"{path}: label: values other than 0/1")
    label = label.astype(int)
    if polarity == "normal":
        label = 1 - label
    deviations = None
    if "diff" in obj:
        C, T, N, _ = data.shape
        if len(obj["diff"]) != C:
            raise ConvertError(f"{path}: diff: {len(obj['diff'])} entries for {C} cases")
        deviations = []
        for c, d in enumerate(obj["diff"]):
            if not d:
                continue
            ts, is_, js = (np.asarray(a).reshape(-1) for a in d["coord"])
            vs = np.asarray(d["value"]).reshape(-1)
            if not (len(ts) == len(is_) == len(js) == len(vs)):
                raise ConvertError(f"{path}: diff[{c}]: coord and value lengths differ")
            for t, i, j, v in zip(ts, is_, js, vs):
                if not (0 <= t < T and 0 <= i < N and 0 <= j < N):
                    raise ConvertError(f"{path}: diff[{c}]: entry ({t}, {i}, {j}) outside (T {T}, N {N})")
                deviations.append((c, int(t), int(i), int(j), float(v)))
    return data, label, deviations


def write_split(out, split, data, label, deviations):
    np.save(os.path.join(out, f"{split}_data.npy"), data)
    with open(os.path.join(out, f"{split}_labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case", "label"])
        w.writerows(enumerate(label.tolist()))
    if deviations is not None:
        with open(os.path.join(out, f"{split}_deviations.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["case", "t", "i", "j", "deviation"])
            w.writerows((c, t, i, j, f"{v:.9g}") for c, t, i, j, v in deviations)


def convert(train, test, out, polarity):
    splits = [(name, load_split(path, polarity)) for name, path in (("train", train), ("test", test)) if path]
    os.makedirs(out, exist_ok=True)  # only after every input was read and checked
    for name, (data, label, deviations) in splits:
        write_split(out, name, data, label, deviations)
        print(f"{name}: {data.shape[0]} cases, {int(label.sum())} anomalous, "
              f"{'no' if deviations is None else len(deviations)} deviations -> {out}/{name}_*")


def self_test(folder):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    train = {"data": rng.random((3, 2, 2, 2)), "label": np.array([1, 1, 0])}  # original polarity: 1 = normal
    test_data = rng.random((2, 2, 2, 2))
    diff = [{}, {"coord": (np.array([1]), np.array([0]), np.array([1])), "value": np.array([0.25])}]
    test = {"data": test_data, "label": np.array([True, False]), "diff": diff}
    for name, obj in (("train", train), ("test", test)):
        with open(os.path.join(folder, f"{name}.pkl"), "wb") as f:
            pickle.dump(obj, f)
    out = os.path.join(folder, "converted")
    convert(os.path.join(folder, "train.pkl"), os.path.join(folder, "test.pkl"), out, "normal")
    back = np.load(os.path.join(out, "test_data.npy"))
    assert back.dtype == np.float32 and np.allclose(back, test_data.astype(np.float32)), "data round trip"
    assert open(os.path.join(out, "train_labels.csv")).read().split() == ["case,label", "0,0", "1,0", "2,1"]
    assert open(os.path.join(out, "test_labels.csv")).read().split() == ["case,label", "0,0", "1,1"]
    assert open(os.path.join(out, "test_deviations.csv")).read().split() == ["case,t,i,j,deviation", "1,1,0,1,0.25"]
    assert not os.path.exists(os.path.join(out, "train_deviations.csv"))
    bad = os.path.join(folder, "bad.pkl")
    with open(bad, "wb") as f:
        pickle.dump({"data": rng.random((2, 2, 2, 3)), "label": [0, 1]}, f)
    try:
        convert(bad, None, os.path.join(folder, "never"), "normal")
        raise AssertionError("a (2, 2, 2, 3) array was accepted")
    except ConvertError as e:
        assert "expected shape (cases, T, N, N)" in str(e), str(e)
    assert not os.path.exists(os.path.join(folder, "never")), "nothing is written after an error"
    print("self-test ok:", out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train")
    ap.add_argument("--test")
    ap.add_argument("--out")
    ap.add_argument("--original-label-means", choices=["normal", "anomaly"], default="normal")
    ap.add_argument("--self-test", metavar="DIR")
    args = ap.parse_args()
    try:
        if args.self_test:
            self_test(args.self_test)
        else:
            if not args.out or not (args.train or args.test):
                ap.error("--out and at least one of --train / --test are required")
            convert(args.train, args.test, args.out, args.original_label_means)
    except ConvertError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
