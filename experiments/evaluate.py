"""Score a trained run or an exported .npz of samples: FD/FID, KID, IS, precision/recall.

    python -m experiments.evaluate --workdir=runs/ddim --num_samples=1000 [--steps=50]
    python -m experiments.evaluate --samples=runs/ddim/samples/export.npz [--json]

With --workdir, samples are drawn from the newest checkpoint (EMA weights) with the run's
sampler settings unless overridden, and the run's dataset is the reference. With --samples
(uint8 NHWC under `images`, optional `labels` for class accuracy), the reference is the
dataset of --workdir when given, else Fashion-MNIST. Prints a table, or JSON with --json.
"""

import json

from absl import flags

from experiments import cli

_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run directory (config.json, checkpoints/)."
)
_SAMPLES = flags.DEFINE_string("samples", None, "An .npz of samples to score instead.")
_NUM = flags.DEFINE_integer(
    "num_samples", None, "Samples to draw (default eval.num_samples)."
)
_SAMPLER = flags.DEFINE_string("sampler", None, "Sampler (default: the run's).")
_STEPS = flags.DEFINE_integer("steps", None, "Sampling steps (default: the run's).")
_ETA = flags.DEFINE_float("eta", None, "DDIM η (default: the run's).")
_SPACING = flags.DEFINE_string(
    "spacing",
    None,
    "DDIM timestep spacing: uniform, quadratic, trailing (default: the run's).",
)
_GUIDANCE = flags.DEFINE_float(
    "guidance", None, "Classifier-free guidance scale (default: the run's)."
)
_TEMPERATURE = flags.DEFINE_float(
    "temperature",
    None,
    "Sampling temperature of the VQ-VAE prior (default: the run's).",
)
_TRUNCATION = flags.DEFINE_float(
    "truncation",
    None,
    "StyleGAN's truncation ψ: 1 = none, 0 = the mean w (default: the run's).",
)
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_EXTRACTOR = flags.DEFINE_string(
    "extractor",
    None,
    "auto | fashion_mnist_classifier | inception | none (default eval.extractor).",
)
_INCEPTION = flags.DEFINE_string(
    "inception_weights", None, "Converted FID InceptionV3 .npz (enables FID)."
)
_METRICS = flags.DEFINE_list("metrics", None, "Subset of fd,kid,is,pr.")
_STATS_DIR = flags.DEFINE_string(
    "stats_dir", None, "Reference statistics cache folder."
)
_BATCH = flags.DEFINE_integer("batch_size", None, "Images per compiled call.")
_DEFAULTS = cli.define_defaults_flag()
_JSON = flags.DEFINE_bool("json", False, "Print JSON instead of a table.")


def main(argv):
    del argv
    import os

    from v101jax.core.errors import UserError

    if not _WORKDIR.value and not _SAMPLES.value:
        raise UserError(
            "give --workdir (to sample a run) or --samples (an .npz), or both"
        )
    config = _load_config()
    options = {
        k: v
        for k, v in (
            ("sampler", _SAMPLER.value),
            ("steps", _STEPS.value),
            ("eta", _ETA.value),
            ("spacing", _SPACING.value),
            ("guidance", _GUIDANCE.value),
            ("temperature", _TEMPERATURE.value),
            ("truncation", _TRUNCATION.value),
        )
        if v is not None
    }
    if options and _SAMPLES.value:
        raise UserError(
            f"--{', --'.join(options)} set how a run is sampled; --samples scores a file "
            "that is already sampled"
        )
    if options:
        from v101jax.algorithms import get_algorithm
        from v101jax.algorithms.contract import with_sample_options

        config = with_sample_options(config, get_algorithm(config.algorithm), **options)
    from v101jax.training.evaluation import Evaluator
    from v101jax.training.export import load_samples_file

    # A bad samples file is reported before the extractor is built.
    if _SAMPLES.value:
        images, labels = load_samples_file(_SAMPLES.value)
    workdir = _WORKDIR.value or os.path.dirname(os.path.abspath(_SAMPLES.value))
    evaluator = Evaluator(config, workdir)
    report = {
        "extractor": evaluator.extractor.identity if evaluator.extractor else "none"
    }
    if _SAMPLES.value:
        report["samples"] = os.path.abspath(_SAMPLES.value)
        report["num_samples"] = len(images)
        report["metrics"] = evaluator.score_images([images], labels=labels)
    else:
        import jax

        from v101jax.training import sampling
        from v101jax.training.export import load_state

        state = load_state(config, _WORKDIR.value)
        report["step"] = int(state.step)
        report["num_samples"] = config.eval.num_samples
        report["sampling"] = options or "the run's defaults"
        report["metrics"] = evaluator.score_model(
            sampling.chunked_sampler(config),
            state,
            jax.random.PRNGKey(_SEED.value),
        )
    if _JSON.value:
        print(json.dumps(report, indent=2))
    else:
        print(_table(report))


def _load_config():
    from configs import base
    from v101jax.training.export import load_run_config

    # The base config's fields (e.g. `eval`) fill in older runs even without --defaults.
    defaults = cli.optional_config(_DEFAULTS)
    if defaults is None:
        defaults = base.get_base_config()
    config = load_run_config(_WORKDIR.value, defaults) if _WORKDIR.value else defaults
    with config.unlocked():
        ev = config.eval
        for field, flag in (
            ("num_samples", _NUM),
            ("extractor", _EXTRACTOR),
            ("inception_weights", _INCEPTION),
            ("stats_dir", _STATS_DIR),
            ("batch_size", _BATCH),
        ):
            if flag.value is not None:
                ev[field] = flag.value
        if _METRICS.value is not None:
            ev.metrics = tuple(_METRICS.value)
        if _INCEPTION.value and _EXTRACTOR.value is None:
            ev.extractor = "inception"
    return config


def _table(report: dict) -> str:
    lines = [f"{k}: {v}" for k, v in report.items() if k != "metrics"]
    width = max(len(k) for k in report["metrics"])
    lines.append(f"{'metric'.ljust(width)}  value")
    lines += [f"{k.ljust(width)}  {v:.6g}" for k, v in report["metrics"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    cli.run(main, reads_saved_runs=True)
