"""report.html for a run folder: settings, metrics tables (with their trivial baselines) and the PNGs on one
static page. No JavaScript and no external files besides the run's own PNGs (relative links), so it opens
from the file system and survives moving the folder.

Used by tools/plot_run.py:  write_report(run_dir, model, tables, figures) -> path of report.html
"""
import glob
import html
import json
import os
import re

import plot_common as pc

STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1400px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
td.baseline { color: #666; font-style: italic; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #444; }
.meta { font-size: 0.85em; color: #444; }
"""


def esc(value):
    return html.escape(pc.fmt(value) if not isinstance(value, str) else value)


def flatten(prefix, value, out):
    """Nested JSON as ("a.b.c", leaf) pairs, lists of scalars kept on one line."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        for i, v in enumerate(value):
            flatten(f"{prefix}[{i}]", v, out)
    else:
        out.append((prefix, json.dumps(value) if isinstance(value, list) else value))
    return out


BASELINE_ROW = re.compile(r"flag (everything|nothing)|trivial|random|baseline", re.I)


def table_html(header, rows):
    """Cells of a column whose header says "baseline", and rows named like a trivial detector, in grey."""
    parts = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        cells = []
        baseline_row = isinstance(row[0], str) and BASELINE_ROW.search(row[0])
        for i, v in enumerate(row):
            cls = ' class="baseline"' if baseline_row or "baseline" in header[i] else ""
            cells.append(f"<td{cls}>{esc(v)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table>")
    return "\n".join(parts)


def run_records(run):
    """The run_<stage>.json files the programs write at the start of each stage (settings echo)."""
    records = []
    for path in sorted(glob.glob(os.path.join(run, "run_*.json"))):
        rec = pc.read_json(path, {})
        if isinstance(rec, dict) and "settings" in rec:
            records.append((os.path.basename(path), rec))
    return records


def write_report(run, model, tables, figures):
    name = re.sub(r"\.partial-\d+$", "", os.path.basename(os.path.normpath(run)))  # the name it gets when finished
    body = [f"<h1>{html.escape(model)} run {html.escape(name)}</h1>"]
    records = run_records(run)
    if records:
        _, last = records[-1]
        facts = [f"{k}: {last[k]}" for k in ("settings_file", "stage", "device", "seed", "git_commit") if k in last]
        body.append(f'<p class="meta">{html.escape(" · ".join(str(f) for f in facts))}</p>')

    body.append("<h2>Metrics</h2>")
    if not tables:
        body.append("<p>No metrics table for this run (no labels, or no test stage).</p>")
    for title, header, rows in tables:
        body.append(f"<p>{html.escape(title)}</p>")
        body.append(table_html(header, rows))
    metrics = pc.read_json(os.path.join(run, "metrics.json"))
    if metrics is not None:
        body.append("<details><summary>every number in metrics.json</summary>")
        body.append(table_html(["key", "value"], flatten("", metrics, [])))
        body.append("</details>")

    body.append("<h2>Figures</h2>")
    if not figures:
        body.append("<p>No figures.</p>")
    for path, caption in figures:
        body.append(f'<figure><img src="{html.escape(path)}" alt="{html.escape(caption)}">'
                    f"<figcaption>{html.escape(path)}: {html.escape(caption)}</figcaption></figure>")

    body.append("<h2>Settings</h2>")
    for file_name, rec in records:
        body.append(f"<p>{html.escape(file_name)} (resolved: defaults filled in)</p>")
        body.append(table_html(["key", "value"], flatten("", rec["settings"], [])))

    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(model)} {html.escape(name)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    path = os.path.join(run, "report.html")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(page)
    os.replace(tmp, path)  # whole or not at all
    return path
