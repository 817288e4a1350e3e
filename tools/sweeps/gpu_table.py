"""Tables of the GPU sweeps (gpu_conv_vs_cudnn.sh, gpu_graph_attention.sh, gpu_anomalydae_largest.sh): reads
the Google Benchmark JSON (and the PyTorch baseline's JSON lines), prints a markdown table, writes it to
OUT_STEM.md and a bar chart of the ratio column to OUT_STEM.png. Ratio = their time / ours (> 1: ours faster).
    python3 gpu_table.py conv BENCH_CONV_JSON OUT_STEM
    python3 gpu_table.py gat BENCH_GRAPH_JSON TORCH_JSONL OUT_STEM
    python3 gpu_table.py gatv2 BENCH_GRAPH_JSON TORCH_GATV2_JSONL OUT_STEM
    python3 gpu_table.py largest RESULTS_JSONL OUT_STEM
"""
import json
import sys

from ratio_chart import ratio_bars

UNIT_TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def bench_rows(path):
    """(name parts, microseconds, the benchmark's record) for every benchmark that ran."""
    out = []
    for b in json.load(open(path)).get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type") == "aggregate":
            continue
        out.append((b["name"].split("/"), b["real_time"] * UNIT_TO_US[b.get("time_unit", "ns")], b))
    return out


def args_of(parts):
    """{"C": "16", ...} from name parts like "C:16"."""
    return dict(p.split(":", 1) for p in parts if ":" in p)


def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


def write(stem, title, header, rows, labels, ratios, ratio_name):
    lines = [title, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines) + "\n"
    open(stem + ".md", "w").write(text)
    print(text)
    ratio_bars(stem + ".png", labels, [("", ratios)], ratio_name, title.split(".")[0])


CONV_PATHS = ["auto", "tile", "wide", "gemm", "gemm_tf32"]  # bench_conv's `path` arg 0..4


def conv(bench_json, stem):
    ours, cudnn = {}, {}
    for parts, us, _ in bench_rows(bench_json):
        a = args_of(parts)
        key = (int(a["C"]), int(a["T"]), int(a["d"]), int(a["B"]))
        if parts[0] == "OurDilatedConv":
            ours[(key, CONV_PATHS[int(a.get("path", "0"))])] = us
        elif parts[0] == "CudnnDilatedConv":
            cudnn[(key, a.get("tf32", "0"))] = us
    rows, labels, ratios = [], [], []
    for key in sorted({k for k, _ in ours}):
        t = {p: ours.get((key, p)) for p in CONV_PATHS}
        f, ft = cudnn.get((key, "0")), cudnn.get((key, "1"))
        o = t["auto"]
        r = f / o if f and o else None
        rt = ft / t["gemm_tf32"] if ft and t["gemm_tf32"] else None
        rows.append([str(k) for k in key] + [fmt(t[p]) for p in CONV_PATHS] +
                    [fmt(f), fmt(ft), fmt(r, 2), fmt(rt, 2)])
        labels.append("C%d T%d d%d B%d" % key)
        ratios.append(r)
    write(stem, "Dilated causal conv (K 2), forward + both backward passes: ours by path (auto = the ops' choice by "
          "shape; tile 32x32, wide 64x64 register-blocked, im2col + cuBLAS GEMM in f32 and TF32) vs cuDNN (NCHW, H 1; "
          "FMA math and TF32). Ratio = cuDNN time / ours (> 1: ours faster): auto vs cuDNN FMA, GEMM TF32 vs cuDNN "
          "TF32.",
          ["C", "T", "dilation", "B"] + ["%s us" % p for p in CONV_PATHS] +
          ["cuDNN FMA us", "cuDNN TF32 us", "auto vs FMA", "gemm_tf32 vs TF32"],
          rows, labels, ratios, "cuDNN FMA time / ours (auto)")


def gat(bench_json, torch_jsonl, stem):
    ours = {}
    for parts, us, b in bench_rows(bench_json):
        if parts[0] != "graph_attention_step_by_degree":
            continue
        a = args_of(parts)
        ours[(b.get("label", a["family"]), int(a["nodes"]), int(a["C"]))] = (us / 1e3, b.get("edges"), b.get("max_degree"))
    theirs = {}
    for line in open(torch_jsonl):
        if line.startswith("{"):
            r = json.loads(line)
            theirs[(r["family"], r["nodes"], r["C"])] = r
    rows, labels, ratios = [], [], []
    for key in sorted(set(ours) | set(theirs), key=lambda k: (k[1], k[0], k[2])):
        o = ours.get(key, (None, None, None))
        t = theirs.get(key, {})
        ts, pyg = t.get("torch_scatter_ms"), t.get("pyg_gatconv_ms")
        oe, te = o[1], t.get("edges")
        edges = "n/a" if oe is None and te is None else str(int(oe if oe is not None else te))
        if oe is not None and te is not None and int(oe) != int(te):
            edges += f" (torch {te}: different graphs!)"
        r = ts / o[0] if ts and o[0] else None
        rows.append([key[0], str(key[1]), str(key[2]), edges,
                     fmt(o[2], 0), fmt(o[0], 3), fmt(ts, 3) if ts else t.get("torch_scatter_error", "n/a"),
                     fmt(r, 2), fmt(pyg, 3) if pyg else "n/a"])
        labels.append(f"{key[0]} n{key[1]}")
        ratios.append(r)
    write(stem, "Graph attention, one training step (forward + backward), ours (load-balanced kernels) vs PyTorch "
          "(scatter softmax + index_add, autograd) on the same graphs. Ratio = torch time / ours (> 1: ours faster).",
          ["degrees", "nodes", "C", "edges", "max degree", "ours ms", "torch ms", "ratio", "PyG GATConv ms"],
          rows, labels, ratios, "torch time / ours")


def gatv2(bench_json, torch_jsonl, stem):
    ours = {}
    for parts, us, b in bench_rows(bench_json):
        if parts[0] != "gatv2_step_by_degree":
            continue
        a = args_of(parts)
        key = (b.get("label", a["family"]), int(a["nodes"]), int(a["H"]), int(a["D"]))
        ours[key] = (us / 1e3, b.get("edges"), b.get("max_degree"))
    theirs = {}
    for line in open(torch_jsonl):
        if line.startswith("{"):
            r = json.loads(line)
            theirs[(r["family"], r["nodes"], r["H"], r["D"])] = r
    rows, labels, ratios = [], [], []
    for key in sorted(set(ours) | set(theirs), key=lambda k: (k[1], k[0], k[2], k[3])):
        o = ours.get(key, (None, None, None))
        t = theirs.get(key, {})
        ts = t.get("torch_scatter_ms")
        oe, te = o[1], t.get("edges")
        edges = "n/a" if oe is None and te is None else str(int(oe if oe is not None else te))
        if oe is not None and te is not None and int(oe) != int(te):
            edges += f" (torch {te}: different graphs!)"
        r = ts / o[0] if ts and o[0] else None
        rows.append([key[0], str(key[1]), str(key[2]), str(key[3]), edges, fmt(o[2], 0), fmt(o[0], 3),
                     fmt(ts, 3) if ts else t.get("torch_scatter_error", "n/a"), fmt(r, 2)])
        labels.append(f"{key[0]} n{key[1]}")
        ratios.append(r)
    write(stem, "GATv2 with the max over heads (MUAD's graph stage), one training step (forward + backward), ours "
          "(load-balanced kernels) vs PyTorch (scatter softmax per head + index_add, autograd) on the same graphs. "
          "Ratio = torch time / ours (> 1: ours faster).",
          ["degrees", "nodes", "H", "D", "edges", "max degree", "ours ms", "torch ms", "ratio"],
          rows, labels, ratios, "torch time / ours")


def largest(results_jsonl, stem):
    recs = [json.loads(l) for l in open(results_jsonl) if l.startswith("{")]
    rows, labels, ratios = [], [], []
    for r in recs:
        dense_gib = 4.0 * r["nodes"] ** 2 / 2**30
        rows.append([str(r["nodes"]), str(r.get("edges", "n/a")), r["status"], fmt(r.get("epoch_s"), 2),
                     fmt(r.get("peak_MiB"), 0), fmt(dense_gib, 1)])
        labels.append(str(r["nodes"]))
        ratios.append(None)
    ok = [r["nodes"] for r in recs if r["status"] == "ok"]
    title = ("AnomalyDAE full-batch training epoch on the GPU by graph size (synthetic graph, ~8 neighbours, official "
             "dimensions); largest that trains: %s nodes. The dense N x N f32 adjacency a PyGOD-style run forms is "
             "shown for comparison." % (max(ok) if ok else "none"))
    write(stem, title, ["nodes", "edges", "status", "epoch s", "peak MiB", "dense N x N adjacency GiB"], rows, labels,
          ratios, "")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "conv" and len(sys.argv) == 4:
        conv(*sys.argv[2:4])
    elif cmd == "gat" and len(sys.argv) == 5:
        gat(*sys.argv[2:5])
    elif cmd == "gatv2" and len(sys.argv) == 5:
        gatv2(*sys.argv[2:5])
    elif cmd == "largest" and len(sys.argv) == 4:
        largest(*sys.argv[2:4])
    else:
        sys.exit(__doc__)
