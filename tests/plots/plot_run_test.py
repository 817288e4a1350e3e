#!/usr/bin/env python3
"""CTest: a tiny real run of run_<model> leaves valid PNGs and a report.html in its run folder.

    python3 tests/plots/plot_run_test.py MODEL PROGRAM OUT_DIR      (from the source root)

Runs PROGRAM on the shipped example data cut to a few hundred rows (or a small generated set), with small settings (the end-of-run
hook calls tools/plot_run.py), then checks every PNG the model's plot script must write: the PNG signature,
an IHDR chunk with a correct CRC and a sane width and height, an IEND chunk; and report.html: no script,
every <img> pointing at a valid PNG, and (TraceDAE) the ROC-AUC in the caption equal to metrics.json's.
Exit 77 (CTest: skipped) when the program says it found no Python with matplotlib.
Only the standard library: the checks must not trust matplotlib to judge its own output.
"""
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser

SKIP = 77


def check_png(path):
    """Raises AssertionError unless path is a PNG with a valid IHDR (CRC checked) and an IEND chunk."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: no PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, f"{path}: first chunk is {kind!r} of {length} bytes, not IHDR"
    width, height = struct.unpack(">II", data[16:24])
    crc = struct.unpack(">I", data[29:33])[0]
    assert crc == zlib.crc32(data[12:29]), f"{path}: IHDR CRC mismatch"
    assert 50 <= width <= 10000 and 50 <= height <= 20000, f"{path}: implausible size {width}x{height}"
    assert data[-12:-4] == b"\x00\x00\x00\x00IEND", f"{path}: no IEND chunk at the end (truncated?)"
    return width, height


class Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.scripts = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])
        if tag == "script":
            self.scripts += 1


def head(src, dst, rows):
    with open(src) as f, open(dst, "w") as g:
        for i, line in enumerate(f):
            if i > rows:
                break
            g.write(line)


def settings_file(path):
    """A settings file as a dict; whole-line // comments (which the C++ reader allows) dropped."""
    return json.loads("\n".join(line for line in open(path) if not line.strip().startswith("//")))


def tiny_dcvae(data, out):
    """12 channels, 500 train steps, 400 alpha and test steps, a small network, 2 epochs."""
    src = "experiments/data/telco_like"
    for name, rows in (("train", 500), ("val", 400), ("val_labels", 400), ("test", 400), ("test_labels", 400)):
        head(f"{src}/{name}.csv", f"{data}/{name}.csv", rows)
    s = settings_file("settings/model_settings.json")
    s.update({"T": 16, "cnn_units": [4, 4], "dil_rate": [1, 2], "J": 2, "epochs": 2, "device": "cpu",
              "output_dir": out, "summary": False,
              "data": {"train": f"{data}/train.csv", "alpha": f"{data}/val.csv", "alpha_labels": f"{data}/val_labels.csv",
                       "test": f"{data}/test.csv", "test_labels": f"{data}/test_labels.csv"}})
    channels = open(f"{data}/test.csv").readline().strip().split(",")[1:]
    expected = ["loss.png", "overview.png"] + [f"channel_{c}.png" for c in channels]
    return s, expected


def tiny_tracedae(data, out):
    """About 150 training and 100 test traces (whole traces: the span files are grouped by trace)."""
    src = "experiments/data/traces_tt_like"
    head(f"{src}/train_spans.csv", f"{data}/train_spans.csv", 1500)
    head(f"{src}/test_spans.csv", f"{data}/test_spans.csv", 1000)
    shutil.copy(f"{src}/test_labels.csv", f"{data}/test_labels.csv")
    s = settings_file("settings/tracedae_traces.json")
    s.update({"train_spans": f"{data}/train_spans.csv", "test_spans": f"{data}/test_spans.csv",
              "test_labels": f"{data}/test_labels.csv", "embed_dim": 16, "hidden_dim": 16, "epochs": 3,
              "device": "cpu", "output_dir": out})
    return s, ["loss.png", "scores.png", "roc_pr.png", "top_traces.png"]


def tiny_deepsphere(data, out):
    """The shipped synthetic dynamic networks (600 cases of 10 nodes x 8 steps), 3 epochs."""
    s = settings_file("settings/deepsphere_synthetic.json")
    s["train"]["epochs"] = 3
    s.update({"device": "cpu", "output_dir": out})
    return s, ["top_case_residual.png", "loss.png", "case_roc_pr.png", "case_scores.png"]


def tiny_muad(data, out):
    """200 s of generated telemetry, a small network, one epoch, one round of queries."""
    s = settings_file("settings/muad_synthetic.json")
    s["data"]["seconds"] = 200
    s["model"]["hidden"] = 16
    s["training"]["epochs"] = 1
    s["active"].update({"passes": 1, "query_size": 20, "label_budget": 30})
    s["output_dir"] = out
    return s, ["f1_vs_labels.png", "roc_pr.png"]


def tiny_glead(data, out):
    """8,000 generated log entries (about 800 windows), a small network, 10 epochs."""
    s = settings_file("settings/glead_synthetic.json")
    s["data"]["synthetic_entries"] = 8000
    s["split"].update({"train_unlabelled_normal": 200, "val_normal": 50, "val_anomalous": 10})
    s.update({"epochs": 10, "hidden_size": 16, "attention_size": 16, "device": "cpu", "output_dir": out})
    return s, ["flagged_attention.png", "prototype_keys.png", "loss.png", "window_roc_pr.png", "window_scores.png"]


TINY_RUNS = {"dcvae": tiny_dcvae, "glead": tiny_glead, "tracedae": tiny_tracedae, "deepsphere": tiny_deepsphere, "muad": tiny_muad}


def main():
    model, program, out = sys.argv[1:4]
    out = os.path.abspath(os.path.join(out, model))
    shutil.rmtree(out, ignore_errors=True)
    data = os.path.join(out, "data")
    os.makedirs(data)
    settings, expected = TINY_RUNS[model](data, os.path.join(out, "runs"))
    json.dump(settings, open(os.path.join(data, "settings.json"), "w"), indent=1)
    p = subprocess.run([program, "--settings", os.path.join(data, "settings.json")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(p.stdout[-3000:])
    assert p.returncode == 0, f"{program} exited with {p.returncode}"
    if re.search(r"^plots: skipped, no Python with matplotlib", p.stdout, re.M):
        print("SKIPPED: no Python with matplotlib and numpy here (bash tools/setup.sh installs them)")
        return SKIP
    runs = [d for d in glob.glob(os.path.join(out, "runs", "*")) if ".partial-" not in d]
    assert len(runs) == 1, f"expected one finished run folder, found {runs}"
    run = runs[0]
    for name in expected:
        w, h = check_png(os.path.join(run, "plots", name))
        print(f"ok {name} {w}x{h}")
    page = open(os.path.join(run, "report.html")).read()
    parser = Images()
    parser.feed(page)
    assert parser.scripts == 0, "report.html holds a <script>"
    assert sorted(os.path.basename(s) for s in parser.srcs) == sorted(expected), f"report images {parser.srcs}"
    for src in parser.srcs:
        assert not os.path.isabs(src) and not src.startswith(("http:", "https:")), f"non-relative image {src}"
        check_png(os.path.join(run, src))
    assert "<table>" in page and "baseline" in page, "report.html has no metrics table with a baseline"
    if model == "tracedae":
        m = json.load(open(os.path.join(run, "metrics.json")))["traces_metrics"]
        shown = float(re.search(r"ROC \(AUC ([0-9.]+)\)", page).group(1))
        assert abs(shown - m["roc_auc"]) < 1e-4, f"plotted ROC-AUC {shown} differs from metrics.json {m['roc_auc']}"
        print(f"ok ROC-AUC in the figure {shown} == metrics.json {m['roc_auc']:.4f}")
    print(f"ok report.html with {len(parser.srcs)} images: {run}/report.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
