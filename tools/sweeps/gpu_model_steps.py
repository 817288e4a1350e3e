"""Table of tools/sweeps/gpu_model_steps.sh: DC-VAE and AnomalyDAE training step and inference on the GPU, ours
(Google Benchmark JSON of bench_dcvae and bench_anomalydae) against PyTorch eager and torch.compile (JSON lines of
tools/reference/dcvae_bench.py and anomalydae_scaling.py). Prints a markdown table, writes it to OUT_STEM.md and
a bar chart of both ratios to OUT_STEM.png. Ratio = torch time / ours (> 1: ours faster).
    python3 gpu_model_steps.py BENCH_DCVAE_JSON BENCH_ANOMALYDAE_JSON TORCH_JSONL OUT_STEM
"""
import json
import os
import sys

from gpu_table import bench_rows, fmt
from ratio_chart import ratio_bars


def ours_times(path):
    """{(model, shape, step): ms} from our benchmarks' JSON (a missing or broken file gives nothing)."""
    out = {}
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return out
    try:
        rows = bench_rows(path)
    except ValueError:
        return out
    for parts, us, b in rows:  # dcvae_train/demo/cuda, anomalydae_epoch/cuda/1000/iterations:3/real_time
        kind = parts[0]
        if kind in ("dcvae_train", "dcvae_infer") and parts[2:3] == ["cuda"]:
            out[("DC-VAE", parts[1], "train" if kind.endswith("train") else "infer")] = us / 1e3
        elif kind in ("anomalydae_epoch", "anomalydae_infer") and parts[1:2] == ["cuda"] and len(parts) > 2:
            out[("AnomalyDAE", "N=" + parts[2], "train" if kind.endswith("epoch") else "infer")] = us / 1e3
    return out


def torch_times(path, flags):
    """{(model, shape, step, mode): ms or a status string} from the reference scripts' JSON lines; the float32
    math settings and versions they report are added to `flags`."""
    out = {}
    for line in open(path) if os.path.exists(path) else []:
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        for f in ("gpu", "torch", "cudnn_tf32", "matmul_tf32"):
            if f in r:
                flags.setdefault(f, set()).add(str(r[f]))
        mode = r.get("mode", "eager")
        if r.get("impl") == "torch-dense":
            key = ("AnomalyDAE", "N=%d" % r["nodes"])
            if r.get("status") != "ok":
                out[key + ("train", mode)] = out[key + ("infer", mode)] = r.get("status", "failed")
                continue
            out[key + ("train", mode)] = 1e3 * r["seconds_per_epoch"]
            if r.get("infer_seconds") is not None:
                out[key + ("infer", mode)] = 1e3 * r["infer_seconds"]
        elif "config" in r and r.get("device") == "cuda":
            for step in ("train", "infer"):
                out[("DC-VAE", r["config"], step, mode)] = r[f"{step}_ms"]
    return out


def order(key):
    model, shape, step = key
    size = int(shape[2:]) if shape.startswith("N=") else (0 if shape == "demo" else 1)
    return (model != "DC-VAE", size, step != "train")


def main(dcvae_json, adae_json, torch_jsonl, stem):
    ours = ours_times(dcvae_json)
    ours.update(ours_times(adae_json))
    flags = {}
    theirs = torch_times(torch_jsonl, flags)
    keys = sorted(set(ours) | {k[:3] for k in theirs}, key=order)
    rows, labels, ratios = [], [], []
    for k in keys:
        o = ours.get(k)
        cells, rs = [], []
        for mode in ("eager", "compile"):
            t = theirs.get(k + (mode,))
            r = t / o if isinstance(t, float) and o else None
            cells += [fmt(t, 3) if isinstance(t, float) else (t or "n/a"), fmt(r, 2)]
            rs.append(r)
        rows.append([k[0], k[1], k[2], fmt(o, 3)] + cells)
        labels.append(" ".join(k))
        ratios.append(rs)
    title = ("DC-VAE and AnomalyDAE on the GPU: one training step (zero_grad, forward, loss, backward, Adam) and one "
             "inference pass, ours vs PyTorch eager and torch.compile on the same shapes (DC-VAE: batch 32 of "
             "settings/model_settings.json = demo, settings/dcvae_telco_original.json = original; AnomalyDAE: one "
             "full-batch epoch on synthetic graphs, torch dense as PyGOD). Ratio = torch time / ours (> 1: ours "
             "faster).")
    if flags:
        title += " PyTorch at its defaults: " + ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in sorted(flags.items())) + "."
    header = ["model", "shape", "step", "ours ms", "torch eager ms", "ratio eager", "torch.compile ms",
              "ratio compile"]
    lines = [title, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines) + "\n"
    open(stem + ".md", "w").write(text)
    print(text)
    series = [(mode, [rs[i] for rs in ratios]) for i, mode in enumerate(("eager", "torch.compile"))]
    ratio_bars(stem + ".png", labels, series, "torch time / ours (> 1: ours faster)", "Model steps on the GPU, ours vs PyTorch", log=True)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:5])
