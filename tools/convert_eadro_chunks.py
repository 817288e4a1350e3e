#!/usr/bin/python3
"""Converts the Eadro / MUAD chunk pickles to MUAD's chunk folder (models/muad/data.h), so run_muad can
run on the real data:  "data": {"kind": "folder", "dir": "<out>"}.

Input (MUAD's Dataset/chunk/): chunk_train.pkl and chunk_test.pkl, each a dict
    chunk_id -> {"metrics": [S, T, 7], "traces": [S, T, 1] (Eadro's own: [S, T, 2], 2nd channel zero),
                 "logs": [S, L], "culprit": int}
and metadata.json with "node_num" and "edges" (DGL's ([src...], [dst...]) pair, or a list of [src, dst]).
Labels follow MUAD's code: anomalous when culprit >= 1 (--label-rule ge0 for culprit >= 0, if your data
codes "no fault" as -1). Chunks keep the pickles' order; start_s is that running index (the pickles carry
no time), so a "blocked" reading of it is only as good as that order.

    python3 tools/convert_eadro_chunks.py --train chunk_train.pkl --test chunk_test.pkl \
        --metadata metadata.json --out data/muad_sn [--services services.csv]
    python3 tools/convert_eadro_chunks.py --self-test      # writes a tiny pickle, converts it, checks it
"""
import argparse
import csv
import json
import os
import pickle
import shutil
import sys
import tempfile

try:
    import numpy as np
except ImportError:  # the CTest self-test reads exit code 77 as "skipped"
    print("convert_eadro_chunks: numpy is not installed for " + sys.executable, file=sys.stderr)
    sys.exit(77 if "--self-test" in sys.argv else 1)


def fail(path, key, what):
    print(f"error: {path}: {key}: {what}", file=sys.stderr)
    sys.exit(1)


def read_edges(meta, path):
    e = meta.get("edges")
    if e is None:
        fail(path, "edges", "missing")
    # DGL's (src list, dst list), as MUAD's metadata.json has it; otherwise a list of [src, dst] pairs.
    # Exactly two edges given as pairs look like the DGL form and are read as it (MUAD's own format).
    if len(e) == 2 and all(isinstance(x, (list, tuple)) for x in e) and len(e[0]) == len(e[1]):
        pairs = list(zip(e[0], e[1]))
    elif all(isinstance(x, (list, tuple)) and len(x) == 2 for x in e):
        pairs = [tuple(x) for x in e]
    else:
        fail(path, "edges", "expected [[src...], [dst...]] or a list of [src, dst]")
    return [(int(a), int(b)) for a, b in pairs]


def convert(train, test, metadata, out, services=None, label_rule="ge1"):
    with open(metadata) as f:
        meta = json.load(f)
    if "node_num" not in meta:
        fail(metadata, "node_num", "missing")
    S = int(meta["node_num"])
    edges = read_edges(meta, metadata)
    for k, (a, b) in enumerate(edges):
        if not (0 <= a < S and 0 <= b < S):
            fail(metadata, f"edges[{k}]", f"names unknown service ({a}, {b}); node_num is {S}")
    names = [f"node{i}" for i in range(S)]
    if services:
        with open(services) as f:
            rows = list(csv.reader(f))[1:]
        if len(rows) != S:
            fail(services, "rows", f"{len(rows)} services, metadata node_num is {S}")
        names = [r[1] for r in rows]
    metrics, traces, logs, chunks = [], [], [], []
    for split, path in ((0, train), (1, test)):
        with open(path, "rb") as f:
            data = pickle.load(f)
        if not isinstance(data, dict):
            fail(path, "top level", "expected a dict chunk_id -> chunk")
        for cid, ch in data.items():
            for key in ("metrics", "traces", "logs", "culprit"):
                if key not in ch:
                    fail(path, f"chunk {cid}", f"missing \"{key}\"")
            m = np.asarray(ch["metrics"], dtype=np.float32)
            t = np.asarray(ch["traces"], dtype=np.float32)
            lg = np.asarray(ch["logs"], dtype=np.float32)
            for key, a, dims in (("metrics", m, 3), ("traces", t, 3), ("logs", lg, 2)):
                if a.ndim != dims or a.shape[0] != S:
                    fail(path, f"chunk {cid}: {key}", f"shape {a.shape}: expected {dims} dims with {S} services first")
                if not np.isfinite(a).all():
                    fail(path, f"chunk {cid}: {key}", "non-finite value")
            if metrics and (m.shape != metrics[0].shape or lg.shape != logs[0].shape or t.shape[1] != traces[0].shape[1]):
                fail(path, f"chunk {cid}", "shapes differ from the first chunk's")
            culprit = int(ch["culprit"])
            label = int(culprit >= 1) if label_rule == "ge1" else int(culprit >= 0)
            metrics.append(m)
            traces.append(t[:, :, :1])  # Eadro's second trace channel is all zero
            logs.append(lg)
            chunks.append((str(cid), len(chunks), label, max(culprit, 0) if label else 0, split))
    if not chunks:
        fail(train, "chunks", "no chunks")
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=out, prefix=".partial-")
    np.save(os.path.join(tmp, "metrics.npy"), np.stack(metrics))
    np.save(os.path.join(tmp, "traces.npy"), np.stack(traces))
    np.save(os.path.join(tmp, "logs.npy"), np.stack(logs))
    with open(os.path.join(tmp, "chunks.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["chunk", "start_s", "label", "culprit", "split"])
        for cid, idx, lab, cul, sp in chunks:
            w.writerow([cid, idx, lab, min(cul, S), sp])
    with open(os.path.join(tmp, "services.csv"), "w") as f:
        f.write("node_id,service\n" + "".join(f"{i},{n}\n" for i, n in enumerate(names)))
    with open(os.path.join(tmp, "edges.csv"), "w") as f:
        f.write("src,dst\n" + "".join(f"{a},{b}\n" for a, b in edges))
    for name in os.listdir(tmp):  # whole files only: nothing half-written under `out`
        os.replace(os.path.join(tmp, name), os.path.join(out, name))
    os.rmdir(tmp)
    return len(chunks)


def self_test():
    rng = np.random.default_rng(0)
    S, T, L = 4, 10, 15
    d = tempfile.mkdtemp(prefix="muad_convert_")
    try:
        def chunk(c):
            return {"metrics": rng.normal(size=(S, T, 7)), "traces": np.concatenate(
                [rng.normal(size=(S, T, 1)), np.zeros((S, T, 1))], axis=2), "logs": rng.normal(size=(S, L)),
                "culprit": c}
        train = {f"c{i}": chunk(c) for i, c in enumerate([0, 2, 0, 4])}
        test = {"t0": chunk(1), "t1": chunk(0)}
        for name, obj in (("chunk_train.pkl", train), ("chunk_test.pkl", test)):
            with open(os.path.join(d, name), "wb") as f:
                pickle.dump(obj, f)
        with open(os.path.join(d, "metadata.json"), "w") as f:
            json.dump({"node_num": S, "edges": [[0, 0, 1], [1, 2, 3]]}, f)
        out = os.path.join(d, "out")
        n = convert(os.path.join(d, "chunk_train.pkl"), os.path.join(d, "chunk_test.pkl"),
                    os.path.join(d, "metadata.json"), out)
        assert n == 6, n
        m = np.load(os.path.join(out, "metrics.npy"))
        tr = np.load(os.path.join(out, "traces.npy"))
        assert m.shape == (6, S, T, 7) and m.dtype == np.float32, m.shape
        assert tr.shape == (6, S, T, 1)
        assert np.allclose(m[1], train["c1"]["metrics"].astype(np.float32))
        with open(os.path.join(out, "chunks.csv")) as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["chunk", "start_s", "label", "culprit", "split"], rows[0]
        assert [r[2] for r in rows[1:]] == ["0", "1", "0", "1", "1", "0"], rows
        assert [r[4] for r in rows[1:]] == ["0", "0", "0", "0", "1", "1"], rows
        with open(os.path.join(out, "edges.csv")) as f:
            assert f.read() == "src,dst\n0,1\n0,2\n1,3\n"
        print("convert_eadro_chunks self-test: ok")
        return 0
    finally:
        shutil.rmtree(d)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train")
    ap.add_argument("--test")
    ap.add_argument("--metadata")
    ap.add_argument("--out")
    ap.add_argument("--services", help="services.csv (node_id,service) for the names; default node<i>")
    ap.add_argument("--label-rule", choices=["ge1", "ge0"], default="ge1")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not (a.train and a.test and a.metadata and a.out):
        ap.error("--train, --test, --metadata and --out are required")
    n = convert(a.train, a.test, a.metadata, a.out, a.services, a.label_rule)
    print(f"{n} chunks written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
