"""Run a grid of config values as one run per point, then gather their final scalars.

    python -m experiments.sweep --config=configs/beta_vae.py --sweep=sweeps/beta_vae.py \
        --root=runs/beta_vae_sweep [--parallel=2] [--set=train.num_steps=1000 --set=…]
    python -m experiments.sweep ... --action=print     # one launch line per point
    python -m experiments.sweep ... --action=collect   # the table and plot only

The sweep file's `get_sweep()` lists the points (v101jax.training.sweep: grid, zipped,
product, fixed). Each point trains in ROOT/NAME (NAME from the fields that vary, e.g.
"autoencoder.beta=4,seed=1") through `python -m experiments.main`, its output in
ROOT/NAME.log. A rerun skips finished points and resumes unfinished ones from their
checkpoints. `run` then collects: ROOT/results.csv (one row per run), ROOT/results.md (mean ±
std over seeds) and ROOT/results_METRIC.png (the first --metrics entry against the first
swept field).
"""

import concurrent.futures
import os
import shlex
import sys

from absl import flags, logging

from experiments import cli

_CONFIG = flags.DEFINE_string("config", None, "configs/NAME.py[:preset]")
_SWEEP = flags.DEFINE_string("sweep", None, "sweeps/NAME.py defining get_sweep()")
_ROOT = flags.DEFINE_string("root", None, "Directory of the points' run directories.")
_ACTION = flags.DEFINE_enum(
    "action",
    "run",
    ["run", "print", "collect"],
    "run the unfinished points then collect; print their launch lines; collect only.",
)
_PARALLEL = flags.DEFINE_integer("parallel", 1, "Points trained at a time (run).")
_SET = flags.DEFINE_multi_string(
    "set", [], "An override shared by every point, key=value (repeatable)."
)
_METRICS = flags.DEFINE_list(
    "metrics",
    None,
    "Scalars of the table (e.g. eval/psnr,train/loss); default: every eval/ scalar, or "
    "every train/ one when the runs did not evaluate.",
)


def load_points(sweep_path: str) -> list[dict]:
    """`get_sweep()` of the sweep file: a non-empty list of override dicts."""
    import importlib.util

    from v101jax.core.errors import ConfigError

    if not os.path.exists(sweep_path):
        raise ConfigError(f"--sweep={sweep_path}: no such file")
    spec = importlib.util.spec_from_file_location("sweep_definition", sweep_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "get_sweep"):
        raise ConfigError(f"{sweep_path} defines no get_sweep()")
    try:
        points = list(module.get_sweep())
    except ValueError as e:
        raise ConfigError(f"{sweep_path}: {e}") from None
    if not points or not all(isinstance(p, dict) for p in points):
        raise ConfigError(
            f"{sweep_path}: get_sweep() must return a non-empty list of dicts"
        )
    return points


def run_points(commands: dict[str, list[str]], root: str, parallel: int) -> list[str]:
    """Trains every point (name → command), `parallel` at a time; the names that failed."""
    from v101jax.training import sweep

    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {
            pool.submit(sweep.run_logged, cmd, os.path.join(root, f"{name}.log")): name
            for name, cmd in commands.items()
        }
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            name = futures[future]
            code = future.result()
            if code:
                failed.append(name)
            logging.info(
                "point %d/%d %s: %s",
                done,
                len(futures),
                name,
                "done" if code == 0 else f"failed (exit {code}; see {name}.log)",
            )
    return failed


def collect(root: str, points: list[dict], names: list[str], metrics) -> str:
    """Writes results.csv, results.md and the plot; returns the Markdown table."""
    from v101jax.core.errors import UserError
    from v101jax.training import sweep

    rows = sweep.collect(root, points, names)
    if not rows:
        raise UserError(f"no point under {root} has finished yet")
    fields = sweep.varying_fields(points)
    if not metrics:
        scalars = list(dict.fromkeys(k for r in rows for k in r if k not in fields))
        evals = [k for k in scalars if k.startswith("eval/")]
        metrics = evals or [k for k in scalars if k.startswith("train/")]
    missing = [m for m in metrics if not any(m in r for r in rows)]
    if missing:
        raise UserError(f"--metrics: no finished run reports {', '.join(missing)}")
    sweep.write_csv(os.path.join(root, "results.csv"), rows)
    summary = sweep.summarize(rows, fields, metrics)
    table = sweep.markdown_table(summary, fields, metrics)
    with open(os.path.join(root, "results.md"), "w") as f:
        f.write(table)
    if [f for f in fields if f != sweep.SEED]:
        name = metrics[0].replace("/", "_")
        sweep.plot(
            os.path.join(root, f"results_{name}.png"), summary, fields, metrics[0]
        )
    if len(rows) < len(points):
        logging.warning(
            "%d of %d points have not finished", len(points) - len(rows), len(points)
        )
    return table


def main(argv):
    if len(argv) > 1:
        from absl import app

        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from v101jax.core.config_spec import load_config, parse_overrides
    from v101jax.core.errors import ConfigError
    from v101jax.training import sweep

    points = load_points(_SWEEP.value)
    try:
        names = sweep.point_names(points)
    except ValueError as e:
        raise ConfigError(f"{_SWEEP.value}: {e}") from None
    shared = parse_overrides(_SET.value)
    for point, name in zip(points, names):
        # Every point's config is built before anything trains: a bad field fails here.
        load_config(_CONFIG.value, {**shared, **point}, strict=True)
    root = _ROOT.value
    commands = {
        name: sweep.launch_command(
            _CONFIG.value, os.path.join(root, name), _SET.value, point
        )
        for point, name in zip(points, names)
    }
    if _ACTION.value == "print":
        for command in commands.values():
            print(shlex.join(command))
        return
    if _ACTION.value == "run":
        os.makedirs(root, exist_ok=True)
        todo = {
            n: c
            for n, c in commands.items()
            if not sweep.is_finished(os.path.join(root, n))
        }
        logging.info(
            "%d points, %d finished, %d to run in %s",
            len(points),
            len(points) - len(todo),
            len(todo),
            root,
        )
        failed = run_points(todo, root, max(1, _PARALLEL.value))
        if failed:
            print(
                f"error: {len(failed)} points failed: {', '.join(failed)}",
                file=sys.stderr,
            )
            sys.exit(1)
    print(collect(root, points, names, _METRICS.value), end="")


if __name__ == "__main__":
    cli.run(main, required=("config", "sweep", "root"))
