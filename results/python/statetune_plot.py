"""statetune_plot.py STUDY.h5 OUT.png [--metric NAME]: one figure of a study.

Left: the loss curve of every run, coloured by method. Middle: the metric after tuning
against M (kernel and dbp; standard as a dashed line). Right: the metric after tuning against
dbp_lambda (dbp; kernel, which is dbp_lambda = 0, as a dashed line). Points are means over
the done runs with that value (other axes and seeds).

Called by `statetune report STUDY.h5 --plot OUT.png`; runs with /usr/bin/python3 and needs
matplotlib, pandas, h5py, numpy (Debian: python3-matplotlib python3-pandas python3-h5py).
Errors are one line on stderr; exit status 3 when a module is missing, 1 for other errors.
"""
import argparse
import os
import sys

COLOURS = {"standard": "C0", "kernel": "C1", "dbp": "C2"}


def fail_missing(error):
    print(f"statetune_plot.py: Python module '{error.name}' is missing "
          "(Debian: apt install python3-matplotlib python3-pandas python3-h5py python3-numpy)", file=sys.stderr)
    return 3


def choose_metric(runs, wanted):
    available = sorted(c[:-len(".after")] for c in runs.columns if c.endswith(".after"))
    if wanted:
        if wanted not in available:
            raise ValueError(f"no run has eval metric '{wanted}' (available: {', '.join(available) or 'none'})")
        return wanted
    if "acc" in available:
        return "acc"
    return available[0] if available else None


def column_of(runs, key):
    """An axis column when the study varies the key, else its config column."""
    for name in (key, "config." + key):
        if name in runs.columns and runs[name].notna().any():
            return name
    return None


def empty_panel(ax, title, text):
    ax.set_title(title)
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_losses(ax, runs, steps):
    if steps.empty or steps["loss"].notna().sum() == 0:
        return empty_panel(ax, "loss", "no steps recorded")
    method_of = dict(zip(runs["hash"], runs["method"]))
    labelled = set()
    for run_hash, curve in steps.groupby("hash", sort=True):
        method = method_of.get(run_hash, "")
        label = method if method not in labelled else None
        labelled.add(method)
        ax.plot(curve["step"], curve["loss"], color=COLOURS.get(method, "C7"), alpha=0.6, linewidth=1, label=label)
    ax.set_title("loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()


def plot_against(ax, done, metric, key, methods, reference):
    """metric.after against `key` for `methods`, the mean of `reference` runs as a line."""
    value = metric + ".after"
    column = column_of(done, key)
    points = done[done["method"].isin(methods)] if column else done.iloc[0:0]
    if column is None or points[column].notna().sum() == 0:
        return empty_panel(ax, f"{metric} vs {key}", f"no done {'/'.join(methods)} runs with {key}")
    for method, group in points.groupby("method", sort=True):
        means = group.groupby(column)[value].mean().sort_index()
        ax.plot(means.index, means.values, marker="o", color=COLOURS.get(method, "C7"), label=method)
    ref = done[done["method"] == reference][value]
    if ref.notna().any():
        ax.axhline(ref.mean(), linestyle="--", color=COLOURS.get(reference, "C7"), label=f"{reference} (mean)")
    xs = points[column].dropna()
    if (xs > 0).all() and xs.max() >= 10 * xs.min():
        ax.set_xscale("log")
    ax.set_title(f"{metric} after tuning vs {key}")
    ax.set_xlabel(key)
    ax.set_ylabel(f"{metric} after")
    ax.legend()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study")
    parser.add_argument("out")
    parser.add_argument("--metric", default="")
    args = parser.parse_args(argv)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        sys.dont_write_bytecode = True  # no __pycache__ in the source tree
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import statetune_results
    except ImportError as error:
        return fail_missing(error)

    try:
        runs = statetune_results.load_runs(args.study)
        steps = statetune_results.load_steps(args.study)
        done = runs[runs["status"] == "done"]
        metric = choose_metric(done, args.metric)
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
        plot_losses(axes[0], runs, steps)
        if metric is None:
            empty_panel(axes[1], "M", "no done runs with eval metrics")
            empty_panel(axes[2], "dbp_lambda", "no done runs with eval metrics")
        else:
            plot_against(axes[1], done, metric, "M", ["kernel", "dbp"], "standard")
            plot_against(axes[2], done, metric, "dbp_lambda", ["dbp"], "kernel")
        name = runs.attrs.get("study_name", "")
        fig.suptitle(f"study {name} ({len(runs)} runs, {len(done)} done)" if name else f"{len(runs)} runs, {len(done)} done")
        fig.tight_layout()
        fig.savefig(args.out, dpi=100)
    except Exception as error:  # one line for `statetune report`, which shows it
        print(f"statetune_plot.py: {args.study}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
