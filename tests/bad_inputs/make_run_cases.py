#!/usr/bin/env python3
"""Writes the bad-input cases that need a real run folder (a checkpoint whose tensor names and shapes match
the network): runs run_dcvae and run_tracedae on tiny data, then damages or reuses the folder. The folders
are committed (case.json "generator" marks them, so make_cases.py leaves them alone); rerun this after a
change to a checkpoint's layout or the run-folder format:

  python3 tests/bad_inputs/make_run_cases.py build/experiments     # the folder with run_dcvae, run_tracedae

Cases: a checkpoint holding NaN (DC-VAE) or inf (TraceDAE) resumed by the next stage (refused with one
error line, not scored as if nothing were wrong), and --stage alpha on a finished DC-VAE "all" run, which
must remove the old alphas and every test result (they depended on them) and keep the checkpoint.
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = "make_run_cases.py"


def series(rows, seed):
    x, y = ["timestamp,a,b,c"], ["timestamp,a,b,c"]
    for t in range(rows):
        bad = rows // 2 <= t < rows // 2 + 4
        x.append("t%d,%.6f,%.6f,%.1f" % (t, math.sin(0.3 * t + seed) + (4 if bad else 0), math.cos(0.2 * t), (t % 7) * 0.1))
        y.append("t%d,%d,0,0" % (t, bad))
    return ("\n".join(x) + "\n").encode(), ("\n".join(y) + "\n").encode()


def dcvae_inputs():
    files = {}
    for name, rows, seed in (("train", 60, 0), ("alpha", 40, 1), ("test", 40, 2)):
        files[name + ".csv"], files[name + "_labels.csv"] = series(rows, seed)
    s = {"T": 9, "M": 3, "J": 2, "cnn_units": [4, 4], "dil_rate": [1, 2], "kernel": 2, "batch_size": 8, "epochs": 1,
         "seed": 1, "min_alpha": 3, "max_alpha": 3, "device": "cpu", "output_dir": "out", "plots": False,
         "data": {"train": "train.csv", "alpha": "alpha.csv", "alpha_labels": "alpha_labels.csv", "test": "test.csv",
                  "test_labels": "test_labels.csv"}}
    files["settings.json"] = json.dumps(s, indent=2).encode()
    return files


def spans(n, prefix):
    rows = ["trace_id,span_id,parent_span_id,service,operation,start_time_us,duration_us,status_code"]
    for t in range(n):
        tid = "%s%03d" % (prefix, t)
        rows.append("%s,%s-a,,front,GET /,%d,%d,200" % (tid, tid, 1000 * t, 900 + t % 7))
        rows.append("%s,%s-b,%s-a,db,query,%d,%d,200" % (tid, tid, tid, 1000 * t + 10, 300 + t % 5))
    return ("\n".join(rows) + "\n").encode()


def tracedae_inputs():
    s = {"mode": "traces", "train_spans": "train.csv", "test_spans": "test.csv", "embed_dim": 4, "hidden_dim": 8,
         "epochs": 1, "seed": 1, "device": "cpu", "output_dir": "out", "plots": False}
    return {"settings.json": json.dumps(s, indent=2).encode(), "train.csv": spans(12, "t"), "test.csv": spans(4, "u")}


def run_in(work, files, command):
    """Writes `files` into `work`, runs `command` there, returns the one run folder it made under out/."""
    for rel, data in files.items():
        with open(os.path.join(work, rel), "wb") as f:
            f.write(data)
    p = subprocess.run(command, cwd=work, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("%s failed:\n%s" % (" ".join(command), p.stderr[-2000:]))
    runs = os.listdir(os.path.join(work, "out"))
    assert len(runs) == 1, runs
    return os.path.join(work, "out", runs[0])


def poison_checkpoint(run_dir, value):
    """Writes `value` over the first element of the first F32 tensor and refreshes run.json's checksum."""
    path = os.path.join(run_dir, "checkpoint.safetensors")
    b = bytearray(open(path, "rb").read())
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    name = sorted(k for k, v in header.items() if k != "__metadata__" and v["dtype"] == "F32"
                  and v["data_offsets"][1] > v["data_offsets"][0])[0]
    at = 8 + n + header[name]["data_offsets"][0]
    b[at:at + 4] = struct.pack("<f", value)
    open(path, "wb").write(bytes(b))
    rj_path = os.path.join(run_dir, "run.json")
    rj = json.load(open(rj_path))
    rj["files"]["checkpoint.safetensors"]["crc32"] = "%08x" % (zlib.crc32(bytes(b)) & 0xFFFFFFFF)
    with open(rj_path, "w") as f:
        json.dump(rj, f, indent=2)
    return name


def write_case(name, files, run_dir, command, message, absent=(), present=()):
    d = os.path.join(HERE, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for rel, data in files.items():
        with open(os.path.join(d, rel), "wb") as f:
            f.write(data)
    shutil.copytree(run_dir, os.path.join(d, "run"))
    c = {"command": command, "exit": 1, "message": message, "generator": GENERATOR}
    if absent:
        c["absent"] = list(absent)
    if present:
        c["present"] = list(present)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(c, f, indent=1)
        f.write("\n")


def poisoned_case(tmp, name, program, path, files, resume_stage, value):
    """A trained run of `program` whose checkpoint holds `value`, resumed by `resume_stage`."""
    work = os.path.join(tmp, name)
    os.makedirs(work)
    run = run_in(work, files, [path, "--settings", "settings.json", "--stage", "train", "--no-plots"])
    tensor = poison_checkpoint(run, value)
    write_case(name, files, run, [program, "--settings", "settings.json", "--stage", resume_stage, "--run", "run"],
               "run/checkpoint.safetensors: \"%s\" holds NaN or inf" % tensor)


def main():
    bindir = os.path.abspath(sys.argv[1])
    dcvae, tracedae = os.path.join(bindir, "run_dcvae"), os.path.join(bindir, "run_tracedae")
    with tempfile.TemporaryDirectory() as tmp:
        files = dcvae_inputs()
        poisoned_case(tmp, "dcvae_checkpoint_nan", "run_dcvae", dcvae, files, "alpha", float("nan"))
        # DC-VAE: a finished "all" run; --stage alpha removes the alpha and test results before it reads its
        # data (here missing), and keeps what the train stage wrote.
        work = os.path.join(tmp, "dcvae_all")
        os.makedirs(work)
        run = run_in(work, files, [dcvae, "--settings", "settings.json", "--no-plots"])
        outputs = json.load(open(os.path.join(run, "run.json")))["outputs"]
        later = ["run/" + f for f in outputs["alpha"] + outputs["test"]]
        kept = ["run/" + f for f in outputs["train"]]
        assert "run/metrics.json" in later and "run/checkpoint.safetensors" in kept, outputs
        no_alpha = {k: v for k, v in files.items() if k != "alpha.csv"}
        write_case("dcvae_alpha_rerun_after_all", no_alpha, run,
                   ["run_dcvae", "--settings", "settings.json", "--stage", "alpha", "--run", "run"], "alpha.csv",
                   absent=later, present=kept)
        poisoned_case(tmp, "tracedae_checkpoint_inf", "run_tracedae", tracedae, tracedae_inputs(), "test", float("inf"))
    print("3 run-folder cases written")


if __name__ == "__main__":
    main()
