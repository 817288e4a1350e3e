#!/usr/bin/env python3
"""Pictures and report.html for one run folder; what every run_<model> calls at the end of a run.

    python3 tools/plot_run.py MODEL RUN_DIR

Finds tools/plot_<MODEL>.py by name. A plot script defines two functions:

    figures(run_dir, out_dir) -> [(png file name, caption), ...]   # writes the PNGs into out_dir
    tables(run_dir) -> [(title, header, rows), ...]                 # metrics beside their trivial baselines

The PNGs go to RUN_DIR/plots/, the page to RUN_DIR/report.html (tools/report_html.py). A model without a
plot script still gets a report (settings and every number in metrics.json). Exit code 0 unless something
failed; the run_<model> programs print that failure and still succeed.
"""
import importlib.util
import os
import sys
import traceback

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)

import report_html  # noqa: E402


def load_plotter(model):
    path = os.path.join(TOOLS, f"plot_{model}.py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location(f"plot_{model}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plot_run(model, run, plotter=None):
    if not os.path.isdir(run):
        print(f"plots: {run} is not a folder", file=sys.stderr)
        return 1
    plotter = plotter or load_plotter(model)
    out = os.path.join(run, "plots")
    os.makedirs(out, exist_ok=True)
    figures, tables, failed = [], [], False
    if plotter is None:
        print(f"plots: no tools/plot_{model}.py; report.html holds the settings and metrics only")
    elif not (hasattr(plotter, "figures") and hasattr(plotter, "tables")):
        print(f"plots: tools/plot_{model}.py lacks figures(run_dir, out_dir) and tables(run_dir) (README, \"Pictures "
              "with every run\"); report.html holds the settings and metrics only")
    else:
        # A failing figures() or tables() (a run folder of another layout, a bug) must not cost the page:
        # its error is printed, the report written with what worked, and the exit code says it failed.
        def attempt(name, call):
            nonlocal failed
            try:
                return call()
            except Exception:  # noqa: BLE001 - printed, never swallowed
                traceback.print_exc()
                print(f"plots: tools/plot_{model}.py {name}() failed (above)")
                failed = True
                return []

        figures = attempt("figures", lambda: plotter.figures(run, out))
        tables = attempt("tables", lambda: plotter.tables(run))
    report_html.write_report(run, model, tables, [(f"plots/{name}", caption) for name, caption in figures])
    # No folder in the message: the hook runs before a new run's folder gets its final name.
    names = ",".join(name for name, _ in figures)
    print(f"plots: plots/{{{names}}} and report.html written" if figures else "plots: report.html written, no figures")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(plot_run(sys.argv[1], sys.argv[2]))
