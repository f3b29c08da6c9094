"""Sweeps for ablations: a grid of config values → one run per point → one results table.

A sweep file (sweeps/NAME.py) defines `get_sweep()` returning a list of points, each a dict
of dotted config overrides, built with:

  grid({"autoencoder.beta": [1, 4], "seed": [0, 1]})   every combination (4 points)
  zipped({"a.x": [1, 2], "a.y": [10, 20]})             values side by side (2 points)
  product(sweep_a, sweep_b)                            every point of a with every one of b
  fixed({"train.num_steps": 1000})                     one point (fields shared by all)

Seeds are a field like any other ("seed"); `collect` averages over it. A point's run
directory is named by the fields that vary across the sweep (`point_names`). The runs
write `metrics.json` when they finish (v101jax.training.loop), which is how a rerun knows to
skip them and how `collect` reads their final scalars.

Written here rather than taken from a library: the sweep tools of the field (wandb sweeps,
hydra's multirun, xmanager) each bring a service or a launcher framework; this is the grid
expansion, the per-point directories and a table, for local and array-job runs alike.
"""

import csv
import itertools
import json
import math
import os
import re
import sys

SEED = "seed"
METRICS_FILE = "metrics.json"


def grid(fields: dict) -> list[dict]:
    """Every combination of the fields' values, the first field varying slowest."""
    _check_fields(fields)
    keys = list(fields)
    return [dict(zip(keys, values)) for values in itertools.product(*fields.values())]


def zipped(fields: dict) -> list[dict]:
    """The fields' i-th values together, for every i; the value lists must be equally long."""
    _check_fields(fields)
    lengths = {k: len(v) for k, v in fields.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"zipped fields need value lists of one length, got {lengths}")
    keys = list(fields)
    return [dict(zip(keys, values)) for values in zip(*fields.values())]


def fixed(fields: dict) -> list[dict]:
    """One point: fields that every point of a product shares."""
    return [dict(fields)]


def product(*sweeps: list[dict]) -> list[dict]:
    """Every point of the first sweep merged with every point of the next, and so on."""
    points = [{}]
    for sweep in sweeps:
        merged = []
        for a, b in itertools.product(points, sweep):
            shared = set(a) & set(b)
            if shared:
                raise ValueError(f"fields {sorted(shared)} appear in two swept parts")
            merged.append({**a, **b})
        points = merged
    return points


def _check_fields(fields: dict):
    for key, values in fields.items():
        if isinstance(values, str) or not hasattr(values, "__len__") or not values:
            raise ValueError(f"sweep field {key!r} needs a non-empty list of values")


def varying_fields(points: list[dict]) -> list[str]:
    """The fields whose value differs between points, in first-seen order."""
    keys = list(dict.fromkeys(k for p in points for k in p))
    return [k for k in keys if len({_text(p.get(k)) for p in points}) > 1]


def point_names(points: list[dict]) -> list[str]:
    """A directory name per point from its varying fields ("autoencoder.beta=4,seed=1"),
    "run" for a sweep of one point; ValueError if two points would share a name."""
    keys = varying_fields(points)
    names = []
    for p in points:
        parts = [f"{k}={_text(p.get(k))}" for k in keys]
        names.append(re.sub(r"[^A-Za-z0-9._=,+-]", "_", ",".join(parts)) or "run")
    if len(set(names)) < len(names):
        raise ValueError(f"sweep points repeat: {sorted(names)}")
    return names


def _text(value) -> str:
    """How a value reads in a name, a table and a command line."""
    if isinstance(value, tuple | list):
        return (
            "("
            + ",".join(_text(v) for v in value)
            + ("," if len(value) == 1 else "")
            + ")"
        )
    return str(value)


def flag_args(point: dict) -> list[str]:
    """The point as experiments.main flags: ["--config.autoencoder.beta=4", ...]."""
    return [f"--config.{k}={_text(v)}" for k, v in point.items()]


def launch_command(config_spec: str, workdir: str, shared: list[str], point: dict):
    """The experiments.main command line of one run (shared key=value overrides, then the
    point's fields), for this interpreter."""
    return [
        sys.executable,
        "-m",
        "experiments.main",
        f"--config={config_spec}",
        f"--workdir={workdir}",
        *[f"--config.{kv}" for kv in shared],
        *flag_args(point),
    ]


def run_logged(command: list[str], log_path: str) -> int:
    """Runs a training command with its output appended to `log_path`; its exit code."""
    import subprocess

    with open(log_path, "a") as log:
        return subprocess.run(
            command, check=False, stdout=log, stderr=subprocess.STDOUT
        ).returncode


def is_finished(workdir: str) -> bool:
    """Whether the run in `workdir` reached its train.num_steps (its metrics.json says so)."""
    return finished_metrics(workdir) is not None


def finished_metrics(workdir: str) -> dict | None:
    """The metrics.json of the run in `workdir` if it reached its train.num_steps."""
    path = os.path.join(workdir, METRICS_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        metrics = json.load(f)
    return metrics if metrics["step"] >= metrics["num_steps"] else None


def write_metrics(
    workdir: str,
    step: int,
    num_steps: int,
    train: dict,
    eval_: dict,
    run: dict | None = None,
):
    """The run's final scalars, written by the training loop when it finishes; `run`: what
    the launch that finished cost (its first step, seconds, peak memory)."""
    record = {
        "step": int(step),
        "num_steps": int(num_steps),
        "train": {k: float(v) for k, v in train.items()},
        "eval": {k: float(v) for k, v in eval_.items()},
        "run": dict(run or {}),
    }
    tmp = os.path.join(workdir, METRICS_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
    os.replace(tmp, os.path.join(workdir, METRICS_FILE))


def collect(root: str, points: list[dict], names: list[str]) -> list[dict]:
    """One row per finished point: its swept fields and its final scalars ("eval/…",
    "train/…"). Unfinished points are left out (and counted by the caller)."""
    keys = varying_fields(points)
    rows = []
    for point, name in zip(points, names):
        metrics = finished_metrics(os.path.join(root, name))
        if metrics is None:
            continue
        row = {k: point.get(k) for k in keys}
        for section in ("eval", "train"):
            row.update({f"{section}/{k}": v for k, v in metrics[section].items()})
        rows.append(row)
    return rows


def summarize(rows: list[dict], fields: list[str], metrics: list[str]) -> list[dict]:
    """Rows grouped by the non-seed fields: mean and sample std of each metric over seeds."""
    group_keys = [f for f in fields if f != SEED]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(_text(row.get(k)) for k in group_keys), []).append(row)
    summary = []
    for key, members in groups.items():
        entry = dict(zip(group_keys, key))
        entry["runs"] = len(members)
        for m in metrics:
            values = [r[m] for r in members if m in r]
            mean = sum(values) / len(values) if values else math.nan
            var = (
                sum((v - mean) ** 2 for v in values) / (len(values) - 1)
                if len(values) > 1
                else 0.0
            )
            entry[m] = (mean, math.sqrt(var))
        summary.append(entry)
    return summary


def write_csv(path: str, rows: list[dict]):
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def markdown_table(summary: list[dict], fields: list[str], metrics: list[str]) -> str:
    """| fields… | runs | metric (mean ± std over seeds) … |"""
    group_keys = [f for f in fields if f != SEED]
    header = group_keys + ["runs"] + metrics
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for entry in summary:
        cells = [str(entry[k]) for k in group_keys] + [str(entry["runs"])]
        for m in metrics:
            mean, std = entry[m]
            cells.append(
                f"{mean:.4g} ± {std:.2g}" if entry["runs"] > 1 else f"{mean:.4g}"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(path: str, summary: list[dict], fields: list[str], metric: str):
    """The metric (mean, std error bars) against the first swept field, one line per value
    of the other fields; numeric x on a log axis when its values span more than 10×."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    group_keys = [f for f in fields if f != SEED]
    x_key, line_keys = group_keys[0], group_keys[1:]
    lines: dict[str, list] = {}
    for entry in summary:
        label = ", ".join(f"{k}={entry[k]}" for k in line_keys) or metric
        lines.setdefault(label, []).append(entry)
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    numeric = all(_is_number(e[x_key]) for e in summary)
    for label, entries in lines.items():
        if numeric:
            entries = sorted(entries, key=lambda e: float(e[x_key]))
        xs = [float(e[x_key]) if numeric else str(e[x_key]) for e in entries]
        means = [e[metric][0] for e in entries]
        stds = [e[metric][1] for e in entries]
        ax.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=label)
    if numeric:
        xs = [float(e[x_key]) for e in summary]
        if min(xs) > 0 and max(xs) / min(xs) > 10:
            ax.set_xscale("log")
    ax.set_xlabel(x_key)
    ax.set_ylabel(metric)
    if len(lines) > 1:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True
