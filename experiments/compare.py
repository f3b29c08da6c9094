"""The model-comparison table: every family's reference run, trained (or reused) and scored
by one evaluator.

    python -m experiments.compare --preset=cpu --root=runs/compare [--num_samples=1000]
        [--set=train.num_steps=500 …]

Trains each entry of the preset (v101jax.training.comparison: cpu = the Fashion-MNIST demos,
gpu = the published-size CIFAR-10 configs, smoke = two smoke runs) in ROOT/NAME through
`python -m experiments.main`, its output in ROOT/NAME.log; a finished run is reused and an
unfinished one resumes, so a rerun continues where the last stopped. Each row is then scored
with `experiments.evaluate`'s evaluator (Fréchet distance and IS on --num_samples samples,
with the Inception weights when eval.inception_weights is set, else the shipped classifier),
its sampler timed on --timing_batch samples after compiling, and its training time and peak
memory read from the run's metrics.json. Writes ROOT/comparison.csv, comparison.md and
comparison.png (Fréchet distance against training time); scores are cached per checkpoint
and sampler in ROOT/NAME/comparison_MODEL.json.
"""

import json
import os
import sys
import time

from absl import flags, logging

from experiments import cli

_PRESET = flags.DEFINE_string("preset", "cpu", "cpu, gpu or smoke.")
_ROOT = flags.DEFINE_string("root", "runs/compare", "Directory of the runs.")
_NUM = flags.DEFINE_integer("num_samples", 1000, "Samples each model is scored on.")
_TIMING = flags.DEFINE_integer(
    "timing_batch", 64, "Samples per timed sampler call (inference time per image)."
)
_SET = flags.DEFINE_multi_string(
    "set", [], "An override of every run, key=value (repeatable)."
)


def train(entries, root: str, shared: list[str]):
    """Trains the unfinished runs, each after the runs it needs; exits 1 on a failure."""
    from v101jax.training import comparison, sweep

    for entry in comparison.training_order(entries):
        workdir = os.path.join(root, entry.name)
        if sweep.is_finished(workdir):
            logging.info("%s: finished in %s, reused", entry.name, workdir)
            continue
        command = sweep.launch_command(
            entry.config, workdir, shared + comparison.overrides(entry, root), {}
        )
        log_path = os.path.join(root, f"{entry.name}.log")
        logging.info("%s: training, log %s", entry.name, log_path)
        code = sweep.run_logged(command, log_path)
        if code:
            print(
                f"error: {entry.name} failed (exit {code}); see {log_path}",
                file=sys.stderr,
            )
            sys.exit(1)


def score(entries, entry, root: str, num_samples: int, timing_batch: int) -> dict:
    """The row of `entry`: its scores (cached per checkpoint step and sampler), timing and
    the cost its run recorded."""
    import jax

    from configs import base
    from v101jax.algorithms import get_algorithm
    from v101jax.algorithms.contract import with_sample_options
    from v101jax.training import comparison, sampling, sweep
    from v101jax.training.evaluation import Evaluator
    from v101jax.training.export import load_run_config, load_state

    workdir = comparison.workdir(entries, entry, root)
    finished = sweep.finished_metrics(workdir)
    if finished is None:
        raise RuntimeError(f"{workdir} has not finished training")
    config = load_run_config(workdir, base.get_base_config())
    with config.unlocked():
        config.eval.num_samples = num_samples
    config = with_sample_options(
        config, get_algorithm(config.algorithm), **dict(entry.sample)
    )
    cache_path = os.path.join(workdir, f"comparison_{entry.name}.json")
    key = {
        "step": finished["step"],
        "num_samples": num_samples,
        "timing_batch": timing_batch,
        "sample": dict(entry.sample),
    }
    if os.path.exists(cache_path):
        with open(cache_path) as f:
            cached = json.load(f)
        if cached["key"] == key:
            return cached["row"]
    state = load_state(config, workdir)
    evaluator = Evaluator(config, workdir)
    if evaluator.extractor is None:
        raise RuntimeError(
            f"{entry.name}: no feature extractor for its data; set eval.inception_weights"
        )
    sampler = sampling.chunked_sampler(config)
    metrics = evaluator.score_model(sampler, state, jax.random.PRNGKey(0))
    # Inference: one call to compile, then a timed one.
    timing_key = jax.random.PRNGKey(1)
    jax.block_until_ready(sampler(state, timing_key, timing_batch))
    start = time.perf_counter()
    jax.block_until_ready(sampler(state, timing_key, timing_batch))
    seconds = time.perf_counter() - start
    fd = next(v for k, v in metrics.items() if k.endswith("fd") or k == "fid")
    inception = next(v for k, v in metrics.items() if k.endswith("is"))
    run = finished.get("run", {})
    row = {
        "model": entry.name,
        "sampler": entry.sampler,
        "fd": float(fd),
        "is": float(inception),
        "train_s": float(run.get("seconds", float("nan"))),
        "resumed": int(run.get("from_step", 0)) > 0,
        "ms_per_image": 1000.0 * seconds / timing_batch,
        "peak_memory_mib": float(run.get("peak_memory_mib", float("nan"))),
        "memory": run.get("memory", "unknown"),
        "steps": int(finished["step"]),
        "extractor": evaluator.extractor.identity,
    }
    with open(cache_path, "w") as f:
        json.dump({"key": key, "row": row}, f, indent=2)
    return row


def main(argv):
    if len(argv) > 1:
        from absl import app

        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from v101jax.training import comparison, sweep

    entries = comparison.preset(_PRESET.value)
    root = _ROOT.value
    os.makedirs(root, exist_ok=True)
    train(entries, root, list(_SET.value))
    rows = [
        score(entries, e, root, _NUM.value, _TIMING.value) for e in entries if e.row
    ]
    sweep.write_csv(os.path.join(root, "comparison.csv"), rows)
    table = comparison.markdown_table(rows)
    with open(os.path.join(root, "comparison.md"), "w") as f:
        f.write(table)
    comparison.plot(os.path.join(root, "comparison.png"), rows)
    print(table, end="")


if __name__ == "__main__":
    cli.run(main)
