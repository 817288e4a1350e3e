#!/usr/bin/env python3
"""Table and plot of the contamination sweep (experiments/reproduce_deepsphere.sh).

    deepsphere_sweep_table.py OUT_DIR RHO:MODEL=RUN_FOLDER ...

Reads each run's metrics.json; writes OUT_DIR/table.md (case AUC / F1 / best F1, nested RMSE / entry AUC /
rule F1, each model beside the trivial baselines) and OUT_DIR/sweep.png when matplotlib is there.
"""
import json
import os
import sys


def main(out, specs):
    rows = {}
    for spec in specs:
        key, run = spec.split("=", 1)
        rho, model = key.split(":")
        rows[(float(rho), model)] = json.load(open(os.path.join(run, "metrics.json")))
    f = lambda v: "-" if v is None else f"{v:.3f}"
    lines = ["Contamination sweep (generated dynamic networks, 10 nodes, 8 steps, 300 train + 300 test cases, the "
             "same rho in both splits; 300 full-batch epochs). Case: AUC of the score, F1 at the model's own rule "
             "(DeepSphere: d > |R| (1 + 0.1); LSTM-AE: error above the training errors' 95th percentile), best F1 "
             "over thresholds. Nested: RMSE of the residual against the injected deviations, AUC of |residual| "
             "over all entries, F1 of the entry rule (mean + 3 std of the normal-predicted cases). Baselines: "
             "distance to the mean training case (case AUC / best F1), every case anomalous (F1), no deviation "
             "(RMSE), |x - entry mean| (entry AUC).", "",
             "| rho | model | case AUC | case F1 | best F1 | nested RMSE | entry AUC | rule F1 | predicted anomalous | "
             "train s |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for rho in sorted({r for r, _ in rows}):
        for model in ("deepsphere", "lstm_ae"):
            m = rows.get((rho, model))
            if not m:
                continue
            c, n = m["case"], m["nested"]
            lines.append(f"| {rho} | {model} | {f(c.get('auc'))} | {f(c['prf']['f1'])} | {f(c.get('best_f1'))} | "
                         f"{f(n.get('rmse'))} | {f(n.get('entry_auc'))} | {f(n['rule']['prf']['f1'])} | "
                         f"{c['predicted_anomalies']} | {m['train']['seconds']:.0f} |")
        m = rows.get((rho, "deepsphere")) or rows.get((rho, "lstm_ae"))
        b, n = m["case"]["baselines"], m["nested"]
        lines.append(f"| {rho} | baseline | {f(b.get('distance_to_mean_case_auc'))} | {f(b['all_anomalous_f1'])} | "
                     f"{f(b.get('distance_to_mean_case_best_f1'))} | {f(n.get('rmse_baseline_zero'))} | "
                     f"{f(n.get('entry_auc_baseline_entry_mean'))} | - | - | - |")
    text = "\n".join(lines) + "\n"
    open(os.path.join(out, "table.md"), "w").write(text)
    print(text)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib: table only")
        return
    rhos = sorted({r for r, _ in rows})
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (title, get, base) in zip(axes, [
            ("case AUC", lambda m: m["case"].get("auc"), lambda m: m["case"]["baselines"].get("distance_to_mean_case_auc")),
            ("case F1 (model's rule)", lambda m: m["case"]["prf"]["f1"], lambda m: m["case"]["baselines"]["all_anomalous_f1"]),
            ("entry AUC (nested)", lambda m: m["nested"].get("entry_auc"), lambda m: m["nested"].get("entry_auc_baseline_entry_mean"))]):
        for model, style in (("deepsphere", "o-"), ("lstm_ae", "s--")):
            ys = [get(rows[(r, model)]) if (r, model) in rows else None for r in rhos]
            ax.plot(rhos, ys, style, label=model)
        ax.plot(rhos, [base(rows.get((r, "deepsphere")) or rows[(r, "lstm_ae")]) for r in rhos], ":", color="grey",
                label="baseline")
        ax.set(title=title, xlabel="contamination rho")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "sweep.png"), dpi=110)
    print(os.path.join(out, "sweep.png"))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
