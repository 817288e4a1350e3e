#!/usr/bin/python3
"""Ours vs PyTorch on the CPU, in one run, as ratios: DC-VAE (training step and inference, demo and original
configurations) and AnomalyDAE (one full-batch training epoch and one inference pass, forward with both errors and
the node scores, on synthetic graphs of --nodes sizes).

Every repeat runs each program once, in an order that rotates from repeat to repeat (ours, torch A, torch B,
... then torch A, torch B, ..., ours, ...), so a change of machine load hits every column alike; the 1-minute
load average (/proc/loadavg) is read before each program and printed beside its figures. The table gives, per
row, the median over repeats with [min-max], and ratio = ours / torch for throughput (> 1: ours faster);
OUT/cpu_vs_torch.png draws those ratios, one colour per torch column, on a log scale (tools/sweeps/ratio_chart.py;
needs matplotlib, which /usr/bin/python3 has after tools/setup.sh).

Programs:
  ours      $BUILD/experiments/bench_dcvae, $BUILD/experiments/bench_anomalydae (Google Benchmark, JSON)
  torch     tools/reference/dcvae_bench.py and tools/reference/anomalydae_scaling.py (dense, PyGOD-style) under
            each --python given (default /usr/bin/python3); --compile adds a torch.compile column for every
            Python whose torch has it (2.x), for both models (its first step and pass, where it compiles, untimed).
Both sides use the same thread count (--threads, default 2: OMP_NUM_THREADS for ours, torch.set_num_threads for
torch). Ours runs as its programs start by default (OMP_WAIT_POLICY=passive, OpenBLAS kernels chosen from the
CPU: runtime/cpu_threads.h); --blas-core NAME exports OPENBLAS_CORETYPE=NAME for ours instead (e.g. Prescott to
see the SSE kernels OpenBLAS picks by itself on a VM that hides the CPU model).

  /usr/bin/python3 tools/sweeps/cpu_vs_torch.py --build build --out /tmp/cpu_vs_torch \\
      --python /usr/bin/python3 --python /path/to/venv/bin/python --compile --repeats 3
Writes OUT/cpu_vs_torch.md (the table) and OUT/raw.jsonl (every measurement); --out defaults to /tmp/cpu_vs_torch.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from ratio_chart import ratio_bars

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "..", "reference")


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(f"cpu_vs_torch: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}\n")
        return None
    return p.stdout


def torch_label(py):
    out = run([py, "-c", "import torch; print(torch.__version__)"])
    return None if out is None else "torch " + out.strip().split("+")[0]


def has_compile(py):  # no torch.compile (torch 1.x) is an answer, not a failure: nothing printed
    return subprocess.run([py, "-c", "import torch, sys; sys.exit(0 if hasattr(torch, 'compile') else 1)"],
                          capture_output=True).returncode == 0


def ours_dcvae(a, env):
    out = run([os.path.join(a.build, "experiments", "bench_dcvae"), "--benchmark_filter=/cpu",
               "--benchmark_format=json", f"--benchmark_min_time={a.min_time}"], env)
    if out is None:
        return {}, {}
    j = json.loads(out)
    res = {}
    for b in j["benchmarks"]:
        if b.get("error_occurred"):
            continue
        kind, config = b["name"].split("/")[:2]
        res[("dcvae", config, "train" if kind.endswith("train") else "infer")] = b["items_per_second"]
    return res, j.get("context", {})


def ours_anomalydae(a, env):
    sizes = "|".join(str(n) for n in a.nodes)
    out = run([os.path.join(a.build, "experiments", "bench_anomalydae"),
               f"--benchmark_filter=anomalydae_(epoch|infer)/cpu/({sizes})/", "--benchmark_format=json"], env)
    if out is None:
        return {}, {}
    j = json.loads(out)
    res = {}
    for b in j["benchmarks"]:  # anomalydae_epoch/cpu/1000/iterations:3/real_time, time in ms
        if not b.get("error_occurred"):
            step = "train" if b["name"].startswith("anomalydae_epoch/") else "infer"
            res[("anomalydae", f"N {int(b['nodes'])}", step)] = 1e3 / b["real_time"]  # epochs or passes/s
    return res, j.get("context", {})


def torch_dcvae(a, py, compile_mode, env):
    cmd = [py, os.path.join(REF, "dcvae_bench.py"), "--device", "cpu", "--min-time", str(a.min_time),
           "--threads", str(a.threads)] + (["--compile"] if compile_mode else [])
    out = run(cmd, env)
    res = {}
    for line in (out or "").splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            for mode in ("train", "infer"):
                res[("dcvae", r["config"], mode)] = r[f"{mode}_windows_per_s"]
    return res


def torch_anomalydae(a, py, compile_mode, env):
    cmd = [py, os.path.join(REF, "anomalydae_scaling.py"), "--device", "cpu", "--nodes", *map(str, a.nodes),
           "--epochs", "3", "--infer", "--threads", str(a.threads)] + (["--compile"] if compile_mode else [])
    out = run(cmd, env)
    res = {}
    for line in (out or "").splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            row = ("anomalydae", f"N {r['nodes']}")
            ok = r.get("status") == "ok"  # else why not, e.g. oom-predicted: its dense N x N tensors pass --max-gib
            res[row + ("train",)] = 1.0 / r["seconds_per_epoch"] if ok else r.get("status", "failed")
            res[row + ("infer",)] = 1.0 / r["infer_seconds"] if ok else r.get("status", "failed")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", default="/tmp/cpu_vs_torch", help="folder for the table and raw.jsonl")
    ap.add_argument("--python", action="append", help="a Python with torch (repeatable; default /usr/bin/python3)")
    ap.add_argument("--compile", action="store_true", help="also torch.compile where the torch has it")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per DC-VAE measurement")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="dcvae,anomalydae")
    ap.add_argument("--nodes", type=int, nargs="+", default=[1000, 3000], help="AnomalyDAE graph sizes")
    ap.add_argument("--blas-core", default="", help="OPENBLAS_CORETYPE for ours (default: chosen at start)")
    ap.add_argument("--torch-passive", action="store_true",
                    help="also a column per torch run with OMP_WAIT_POLICY=passive (ours' policy): on a loaded "
                         "machine torch's spinning OpenMP threads lose most of their time")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    models = a.models.split(",")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    if a.blas_core:
        env["OPENBLAS_CORETYPE"] = a.blas_core

    programs = [("ours", None, False, None)]
    for py in a.python or ["/usr/bin/python3"]:
        label = torch_label(py)
        if label is None:
            print(f"cpu_vs_torch: {py} has no torch: skipped")
            continue
        programs.append((label, py, False, None))
        if a.torch_passive:
            programs.append((label + " passive", py, False, dict(os.environ, OMP_WAIT_POLICY="passive")))
        if a.compile and has_compile(py):
            programs.append((label + " compile", py, True, None))
            if a.torch_passive:
                programs.append((label + " compile passive", py, True,
                                 dict(os.environ, OMP_WAIT_POLICY="passive")))

    samples = {}  # (program, row) -> [(value, load)]
    statuses = {}  # (program, row) -> why a row was not measured (a torch side's "oom-predicted")
    context = {}
    raw = open(os.path.join(a.out, "raw.jsonl"), "w")
    for rep in range(a.repeats):
        order = programs[rep % len(programs):] + programs[:rep % len(programs)]
        for name, py, comp, torch_env in order:
            load = load1()
            if py is None:
                res = {}
                if "dcvae" in models:
                    r, context = ours_dcvae(a, env)
                    res.update(r)
                if "anomalydae" in models:
                    r, ctx = ours_anomalydae(a, env)
                    res.update(r)
                    context = context or ctx
            else:
                res = torch_dcvae(a, py, comp, torch_env) if "dcvae" in models else {}
                if "anomalydae" in models:
                    res.update(torch_anomalydae(a, py, comp, torch_env))
            for row, v in res.items():
                if isinstance(v, str):
                    statuses[(name, row)] = v
                else:
                    samples.setdefault((name, row), []).append((v, load))
                raw.write(json.dumps({"repeat": rep, "program": name, "row": row, "value": v, "load1": load}) + "\n")
            print(f"repeat {rep + 1}/{a.repeats}: {name} done (load {load:.2f})", flush=True)
    raw.close()

    def order(row):  # DC-VAE demo before original, graphs by size (N 3000 before N 10000), train before infer
        model, config, step = row
        size = int(config[2:]) if config.startswith("N ") else 0
        return model != "dcvae", config != "demo", size, config, step != "train"

    rows = sorted({row for (_, row) in list(samples) + list(statuses)}, key=order)
    names = [p[0] for p in programs]

    def cell(name, row):
        v = samples.get((name, row))
        if not v:
            return statuses.get((name, row), "n/a"), None
        vals = [x for x, _ in v]
        loads = [l for _, l in v]
        med = statistics.median(vals)

        def num(x):  # 4,645.6 and 0.137 (an epoch of seconds keeps its digits)
            return f"{x:,.1f}" if x >= 10 else f"{x:#.3g}"

        return f"{num(med)} [{num(min(vals))}-{num(max(vals))}] (load {min(loads):.1f}-{max(loads):.1f})", med

    unit = {("dcvae", "train"): "windows/s", ("dcvae", "infer"): "windows/s", ("anomalydae", "train"): "epochs/s",
            ("anomalydae", "infer"): "passes/s"}
    head = ["model", "config", "step"] + [f"{n}" for n in names] + [f"ours / {n}" for n in names[1:]]
    lines = [f"CPU, {a.threads} threads, {a.repeats} repeats alternating programs; median [min-max] of "
             f"windows/s (DC-VAE) or epochs and inference passes/s (AnomalyDAE), 1-minute load average beside each; "
             f"ratio > 1: ours faster. Ours: OpenBLAS {context.get('openblas_core', '?')}, OpenMP wait "
             f"{context.get('omp_wait_policy', '?')}. AnomalyDAE torch side: dense (PyGOD-style) on a synthetic "
             f"graph of the same size, degree and attributes (not the same graph).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" * (len(head) - 3)]
    ratios = []  # per row, ours / each torch column (None: either side missing)
    for row in rows:
        cells, meds = [], []
        for n in names:
            text, med = cell(n, row)
            cells.append(text)
            meds.append(med)
        ratios.append([meds[0] / m if meds[0] and m else None for m in meds[1:]])
        lines.append("| " + " | ".join([row[0], row[1], row[2] + f" ({unit[row[0], row[2]]})"] + cells +
                                       [f"{r:.2f}" if r else "n/a" for r in ratios[-1]]) + " |")
    text = "\n".join(lines) + "\n"
    open(os.path.join(a.out, "cpu_vs_torch.md"), "w").write(text)
    print(text)
    loads = [l for v in samples.values() for _, l in v] or [load1()]
    try:
        drawn = ratio_bars(os.path.join(a.out, "cpu_vs_torch.png"), [" ".join(r) for r in rows],
                           [(n, [rs[i] for rs in ratios]) for i, n in enumerate(names[1:])],
                           "ours / torch, throughput (> 1: ours faster)",
                           f"Ours vs PyTorch on the CPU, {a.threads} threads, median of {a.repeats} alternating "
                           f"repeats, 1-minute load average {min(loads):.1f}-{max(loads):.1f}", log=True)
        print(f"wrote {os.path.join(a.out, 'cpu_vs_torch.png')}" if drawn else "no ratio measured: no PNG")
    except ImportError:
        print("matplotlib not installed: no PNG (bash tools/setup.sh installs it)")


if __name__ == "__main__":
    main()
