#!/usr/bin/python3
"""Ours vs PyTorch on the CPU, in one run, as ratios: DC-VAE (training step and inference, demo and original
configurations) and AnomalyDAE (one full-batch training epoch on synthetic graphs).

Every repeat runs each program once, in an order that rotates from repeat to repeat (ours, torch A, torch B,
... then torch A, torch B, ..., ours, ...), so a change of machine load hits every column alike; the 1-minute
load average (/proc/loadavg) is read before each program and printed beside its figures. The table gives, per
row, the median over repeats with [min-max], and ratio = ours / torch for throughput (> 1: ours faster).

Programs:
  ours      $BUILD/experiments/bench_dcvae, $BUILD/experiments/bench_anomalydae (Google Benchmark, JSON)
  torch     tools/reference/dcvae_bench.py and tools/reference/anomalydae_scaling.py (dense, PyGOD-style) under
            each --python given (default /usr/bin/python3); --compile adds a torch.compile column for every
            Python whose torch has it (2.x).
Both sides use the same thread count (--threads, default 2: OMP_NUM_THREADS for ours, torch.set_num_threads for
torch). Ours runs as its programs start by default (OMP_WAIT_POLICY=passive, OpenBLAS kernels chosen from the
CPU: runtime/cpu_threads.h); --blas-core NAME exports OPENBLAS_CORETYPE=NAME for ours instead (e.g. Prescott to
see the SSE kernels OpenBLAS picks by itself on a VM that hides the CPU model).

  /usr/bin/python3 tools/sweeps/cpu_vs_torch.py --build build --out /tmp/cpu_vs_torch \\
      --python /usr/bin/python3 --python /path/to/venv/bin/python --compile --repeats 3
Writes OUT/cpu_vs_torch.md (the table) and OUT/raw.jsonl (every measurement).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

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


def has_compile(py):
    return run([py, "-c", "import torch, sys; sys.exit(0 if hasattr(torch, 'compile') else 1)"]) is not None


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
               f"--benchmark_filter=anomalydae_epoch/cpu/({sizes})/", "--benchmark_format=json"], env)
    if out is None:
        return {}
    res = {}
    for b in json.loads(out)["benchmarks"]:
        if not b.get("error_occurred"):
            res[("anomalydae", f"N {int(b['nodes'])}", "train")] = 1e3 / b["real_time"]  # epochs/s (ms unit)
    return res


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


def torch_anomalydae(a, py, env):
    out = run([py, os.path.join(REF, "anomalydae_scaling.py"), "--nodes", *map(str, a.nodes), "--epochs", "3",
               "--threads", str(a.threads)], env)
    res = {}
    for line in (out or "").splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            if r.get("status") == "ok":
                res[("anomalydae", f"N {r['nodes']}", "train")] = 1.0 / r["seconds_per_epoch"]
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
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
                    res.update(ours_anomalydae(a, env))
            else:
                res = torch_dcvae(a, py, comp, torch_env) if "dcvae" in models else {}
                if "anomalydae" in models and not comp:
                    res.update(torch_anomalydae(a, py, torch_env))
            for row, v in res.items():
                samples.setdefault((name, row), []).append((v, load))
                raw.write(json.dumps({"repeat": rep, "program": name, "row": row, "value": v, "load1": load}) + "\n")
            print(f"repeat {rep + 1}/{a.repeats}: {name} done (load {load:.2f})", flush=True)
    raw.close()

    rows = sorted({row for (_, row) in samples}, key=lambda r: (r[0], r[1] != "demo", r[1], r[2] != "train"))
    names = [p[0] for p in programs]

    def cell(name, row):
        v = samples.get((name, row))
        if not v:
            return "n/a", None
        vals = [x for x, _ in v]
        loads = [l for _, l in v]
        med = statistics.median(vals)
        return f"{med:,.1f} [{min(vals):,.1f}-{max(vals):,.1f}] (load {min(loads):.1f}-{max(loads):.1f})", med

    unit = {"dcvae": "windows/s", "anomalydae": "epochs/s"}
    head = ["model", "config", "step"] + [f"{n}" for n in names] + [f"ours / {n}" for n in names[1:]]
    lines = [f"CPU, {a.threads} threads, {a.repeats} repeats alternating programs; median [min-max] of "
             f"windows/s (DC-VAE) or epochs/s (AnomalyDAE), 1-minute load average beside each; ratio > 1: ours "
             f"faster. Ours: OpenBLAS {context.get('openblas_core', '?')}, OpenMP wait "
             f"{context.get('omp_wait_policy', '?')}. AnomalyDAE torch side: dense (PyGOD-style) on a synthetic "
             f"graph of the same size, degree and attributes (not the same graph).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" * (len(head) - 3)]
    for row in rows:
        cells, meds = [], []
        for n in names:
            text, med = cell(n, row)
            cells.append(text)
            meds.append(med)
        ratios = [f"{meds[0] / m:.2f}" if meds[0] and m else "n/a" for m in meds[1:]]
        lines.append("| " + " | ".join([row[0], row[1], row[2] + f" ({unit[row[0]]})"] + cells + ratios) + " |")
    text = "\n".join(lines) + "\n"
    open(os.path.join(a.out, "cpu_vs_torch.md"), "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
