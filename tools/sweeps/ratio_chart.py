"""The bar chart every ours-vs-baseline sweep writes beside its markdown table (gpu_table.py, gpu_model_steps.py,
cpu_vs_torch.py): one bar per table row and baseline, from 1 up or down to the ratio (> 1: ours faster).
One series: each bar green above 1, red below. Several (e.g. torch eager and torch.compile): bars side by side,
one colour per series, a legend. A missing ratio (None: not measured, out of memory) leaves its slot empty, so
the rows line up with the table's.
"""
import textwrap


def ratio_bars(png, labels, series, ylabel, title, log=False):
    """Writes png; series = [(name, [ratio or None, one per label])]. Nothing is written when no ratio exists.
    log: a log y axis (ratios spanning orders of magnitude, where 0.5 and 2 should look equally far from 1)."""
    if not any(r is not None for _, rs in series for r in rs):
        return False
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    k = len(series)
    width = max(6, (0.3 + 0.25 * k) * len(labels))
    fig, ax = plt.subplots(figsize=(width, 4))
    w = 0.8 / k
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, ratios) in enumerate(series):
        have = [(j + (i - (k - 1) / 2) * w, r) for j, r in enumerate(ratios) if r is not None]
        if k == 1:
            colour = ["tab:green" if r >= 1 else "tab:red" for _, r in have]
        else:
            colour = colours[i % len(colours)]
        ax.bar([x for x, _ in have], [r - 1 for _, r in have], w, bottom=1, color=colour,  # up or down from 1
               label=name if k > 1 else None)
    ax.axhline(1.0, color="black", linewidth=0.8)
    if log:
        from matplotlib.ticker import LogFormatter

        ax.set_yscale("log")
        for axis_set in (ax.yaxis.set_major_formatter, ax.yaxis.set_minor_formatter):  # 0.5, 2: not 5x10^-1
            axis_set(LogFormatter(labelOnlyBase=False))
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_title(textwrap.fill(title, int(12 * width)), fontsize=9)  # about 12 characters an inch at 9 pt
    if k > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return True
