#!/usr/bin/env python3
"""Runs the bad-input corpus: every tests/bad_inputs/<case>/case.json names a command, the exit code it
must give and a fragment of the one "error:" line it must print.

  tools/check_bad_inputs.py --program load_input=build/tests/load_input \
      --program run_dcvae=experiments/run_dcvae --program run_tracedae=experiments/run_tracedae tests/bad_inputs

Each case runs in a fresh copy of its folder (so nothing in the repository is touched) and fails when:
the exit code differs (a crash is a negative code), it runs past its time limit (a hang), stderr holds a
sanitizer report, the output holds no or more than one "error:" line or lacks the fragment, or a file
is left behind that was not there before (nothing half-written), or a file case.json lists under "absent"
exists afterwards (or one under "present" does not). Prints one line per case and a summary.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def files_under(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def run_case(case_dir, programs, default_timeout):
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    cmd = list(case["command"])
    if cmd[0] not in programs:
        return None, "program %s not given (--program %s=PATH)" % (cmd[0], cmd[0])
    cmd[0] = programs[cmd[0]]
    with tempfile.TemporaryDirectory(prefix="ad_bad_input_") as tmp:
        work = os.path.join(tmp, "case")
        shutil.copytree(case_dir, work, symlinks=True)
        before = files_under(work)
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        start = time.time()
        try:
            p = subprocess.run(cmd, cwd=work, capture_output=True, text=True, errors="replace", env=env,
                               timeout=case.get("timeout_s", default_timeout))
        except subprocess.TimeoutExpired:
            return False, "hang: no exit after %ss" % case.get("timeout_s", default_timeout)
        seconds = time.time() - start
        problems = []
        if p.returncode != case["exit"]:
            problems.append("exit %d, expected %d" % (p.returncode, case["exit"]))
        for mark in SANITIZER_MARKS:
            if mark in p.stderr:
                problems.append("sanitizer report (%s)" % mark)
                break
        errors = [l for l in (p.stdout + p.stderr).splitlines() if l.startswith("error:")]
        if case["exit"] != 0:
            if len(errors) != 1:
                problems.append("%d error: lines, expected one" % len(errors))
            elif case["message"] not in errors[0]:
                problems.append("message lacks %r" % case["message"])
        left = sorted(files_under(work) - before)
        if left:
            problems.append("left behind: " + ", ".join(left[:5]))
        # Optional: files the command must have removed (stale results) or kept.
        for rel in case.get("absent", []):
            if os.path.exists(os.path.join(work, rel)):
                problems.append("still there: " + rel)
        for rel in case.get("present", []):
            if not os.path.exists(os.path.join(work, rel)):
                problems.append("removed: " + rel)
        detail = errors[0] if errors else (p.stderr.strip().splitlines() or [""])[-1]
        if problems:
            return False, "; ".join(problems) + "\n      output: " + (p.stdout + p.stderr).strip()[-800:]
        return True, "%.1fs  %s" % (seconds, detail[:160])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--program", action="append", default=[], help="NAME=PATH of a program the cases call")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per case unless case.json says")
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    ap.add_argument("corpus")
    args = ap.parse_args()
    programs = {}
    for spec in args.program:
        name, _, path = spec.partition("=")
        programs[name] = os.path.abspath(path)
    cases = sorted(d for d in os.listdir(args.corpus) if os.path.isfile(os.path.join(args.corpus, d, "case.json")))
    cases = [c for c in cases if args.only in c]
    failed, skipped = [], []
    for name in cases:
        ok, msg = run_case(os.path.join(args.corpus, name), programs, args.timeout)
        tag = {True: "ok  ", False: "FAIL", None: "skip"}[ok]
        print("%s %-40s %s" % (tag, name, msg), flush=True)
        if ok is False:
            failed.append(name)
        if ok is None:
            skipped.append(name)
    print("%d cases: %d passed, %d failed, %d skipped" % (len(cases), len(cases) - len(failed) - len(skipped),
                                                          len(failed), len(skipped)))
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
