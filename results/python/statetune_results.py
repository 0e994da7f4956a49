"""A statetune study file (results/LAYOUT.md) as pandas DataFrames.

    import statetune_results as sr
    runs = sr.load_runs("study.h5")    # one row per run
    steps = sr.load_steps("study.h5")  # one row per (run, step)
    items = sr.load_items("study.h5")  # one row per (run, phase, item)

    runs.pivot_table(index="M", columns="gamma_scale", values="acc.diff")

Needs h5py, numpy and pandas (Debian: python3-h5py python3-numpy python3-pandas).
"""
import re

import h5py
import numpy as np
import pandas as pd

FORMAT_VERSION = 2  # the newest layout this module reads (1: runs inside the file; 2: linked run files)

RUN_ATTRIBUTES = ["status", "method", "attempts", "started", "finished", "wall_seconds", "ranks", "host",
                  "message", "tuned_state_path"]
STEP_COLUMNS = ["step", "loss", "lr", "grad_norm", "l_decor", "tokens_per_s"]
ITEM_TEXT_COLUMNS = ["phase", "id", "prediction", "gold"]


def _open(path):
    f = h5py.File(path, "r")
    version = int(f.attrs.get("format_version", -1))
    if version < 1 or version > FORMAT_VERSION:
        f.close()
        raise ValueError(f"{path}: format_version {version}; this reader knows 1..{FORMAT_VERSION}")
    return f


def _runs(f):
    """(hash, group) of every run, sorted by hash."""
    if "runs" not in f:
        return []
    return sorted(f["runs"].items())


def _attr(group, name, default=""):
    value = group.attrs.get(name, default)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_int(text):
    return re.fullmatch(r"[+-]?[0-9]+", text) is not None


def _numeric_where_possible(df, columns):
    """Value texts ("128", "0.5", "null") become numbers when every one of a column is a number:
    int64 when all are integers and present, else float64 (NaN where absent or null); a column
    of true/false becomes bool."""
    for column in columns:
        values = df[column].replace("null", np.nan)
        present = values.dropna()
        if len(present) == len(values) and present.map(_is_int).all():
            df[column] = values.astype("int64")
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() == len(present):
            df[column] = numbers.astype("float64")
        elif len(present) == len(values) and set(present) <= {"true", "false"}:
            df[column] = values.map({"true": True, "false": False}).astype(bool)
    return df


def load_runs(path):
    """One row per run: hash, status, method, the run attributes, every sweep axis (its own
    column, NaN where the axis does not apply to a run), every config key as "config.<key>",
    and per eval metric "<metric>.before", "<metric>.after", "<metric>.diff" (after - before).
    Axis and config values are numbers where every value of the column is one.
    df.attrs holds study_name and axes (the axis columns)."""
    rows, axes, configs, metrics = [], [], [], []
    with _open(path) as f:
        study_name = _attr(f, "study_name")
        for run_hash, run in _runs(f):
            row = {"hash": run_hash}
            for name in RUN_ATTRIBUTES:
                row[name] = _attr(run, name)
            if "axes" in run:
                for key in run["axes"].attrs:
                    axes.append(key)
                    if key not in row:  # the method axis is the method attribute
                        row[key] = _attr(run["axes"], key)
            if "config" in run:
                for key in run["config"].attrs:
                    row["config." + key] = _attr(run["config"], key)
                    configs.append("config." + key)
            if "eval" in run:
                names = run["eval/name"].asstr()[:]
                for name, before, after in zip(names, run["eval/before"][:], run["eval/after"][:]):
                    row[name + ".before"] = float(before)
                    row[name + ".after"] = float(after)
                    row[name + ".diff"] = float(after) - float(before)
                    metrics.append(name)
            rows.append(row)
    axes = list(dict.fromkeys(sorted(axes)))
    axis_columns = [a for a in axes if a not in ["hash"] + RUN_ATTRIBUTES]
    configs = list(dict.fromkeys(sorted(configs)))
    metric_columns = [m + suffix for m in dict.fromkeys(sorted(metrics)) for suffix in (".before", ".after", ".diff")]
    columns = ["hash"] + RUN_ATTRIBUTES + axis_columns + configs + metric_columns
    df = pd.DataFrame(rows, columns=columns)
    df = _numeric_where_possible(df, axis_columns + configs)
    for column in metric_columns + ["wall_seconds"]:
        df[column] = df[column].astype("float64")
    for column in ["attempts", "ranks"]:
        df[column] = df[column].astype("int64")
    df.attrs["study_name"] = study_name
    df.attrs["axes"] = axes
    return df


def load_steps(path):
    """Long format, one row per (run, step): hash, step, loss, lr, grad_norm, l_decor,
    tokens_per_s (NaN where a method does not produce a value, e.g. l_decor outside dbp)."""
    frames = []
    with _open(path) as f:
        for run_hash, run in _runs(f):
            if "metrics" not in run:
                continue
            m = run["metrics"]
            frame = pd.DataFrame({c: m[c][:] for c in STEP_COLUMNS})
            frame.insert(0, "hash", run_hash)
            frames.append(frame)
    if not frames:
        return pd.DataFrame({"hash": pd.Series(dtype=object), "step": pd.Series(dtype="int64"),
                             **{c: pd.Series(dtype="float64") for c in STEP_COLUMNS[1:]}})
    return pd.concat(frames, ignore_index=True)


def load_items(path):
    """One row per evaluated item of a finished run: hash, phase (before|after), id,
    prediction, gold, correct (bool), loglik (a list of per-choice log-likelihoods; empty for
    generation tasks)."""
    frames = []
    with _open(path) as f:
        for run_hash, run in _runs(f):
            if "items" not in run:
                continue
            it = run["items"]
            frame = pd.DataFrame({c: it[c].asstr()[:] for c in ITEM_TEXT_COLUMNS})
            frame["correct"] = it["correct"][:].astype(bool)
            loglik = it["loglik"][:]
            frame["loglik"] = [[float(x) for x in row if not np.isnan(x)] for row in loglik] \
                if loglik.ndim == 2 and loglik.shape[1] > 0 else [[] for _ in range(len(frame))]
            frame.insert(0, "hash", run_hash)
            frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["hash"] + ITEM_TEXT_COLUMNS + ["correct", "loglik"])
    return pd.concat(frames, ignore_index=True)
