"""The ours-vs-PyTorch table of model_vs_torch.sh: Google Benchmark JSON (names "what/shape/device", times in
ms) against the PyTorch script's JSON lines (what, shape, device, seconds, cpu_seconds), matched by
(what, shape, device). Ratio = torch time / ours (> 1: ours faster), for wall clock and process CPU time.
    python3 vs_torch_table.py MODEL OURS_JSON TORCH_JSONL OUT_MD THREADS
"""
import json
import sys


def main():
    model, ours_path, theirs_path, md_path, threads = sys.argv[1:6]
    ours = {}
    for b in json.load(open(ours_path))["benchmarks"]:
        what, shape, device = b["name"].split("/")[:3]
        ours[(what, shape, device)] = (b["real_time"], b["cpu_time"])  # ms (the benches use kMillisecond)
    theirs = {}
    for line in open(theirs_path):
        if line.startswith("{"):
            r = json.loads(line)
            theirs[(r["what"], r["shape"], r["device"])] = (r["seconds"] * 1000, r["cpu_seconds"] * 1000)
    out = [f"{model}, ours vs PyTorch, {threads} thread(s) (ratio = torch / ours; > 1: ours faster). Wall clock "
           "and process CPU time (CPU time is the steadier on a shared machine).", "",
           "| what | shape | device | ours ms (wall) | torch ms (wall) | ratio (wall) | ours ms (CPU) | torch ms (CPU) "
           "| ratio (CPU) |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    f = lambda v: "n/a" if v is None else f"{v:.1f}"
    for k in sorted(set(ours) | set(theirs)):
        o, t = ours.get(k, (None, None)), theirs.get(k, (None, None))
        r = [f"{t[i] / o[i]:.2f}" if o[i] and t[i] else "n/a" for i in (0, 1)]
        out.append(f"| {k[0]} | {k[1]} | {k[2]} | {f(o[0])} | {f(t[0])} | {r[0]} | {f(o[1])} | {f(t[1])} | {r[1]} |")
    text = "\n".join(out) + "\n"
    open(md_path, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
