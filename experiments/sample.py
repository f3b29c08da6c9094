"""Sample from a trained run and export the samples.

    python -m experiments.sample --workdir=runs/ddim --num_samples=1000 \
        [--sampler=ddim --steps=50 --eta=0.0 --out=runs/ddim/export.npz --noema]
    python -m experiments.sample --workdir=runs/cfg --labels=0,5,9 --guidance=3
    python -m experiments.sample --workdir=runs/text_gan --prompt="a small dark ankle boot" \
        [--prompt="a bright dress" … | --prompts=prompts.txt]

Reads the run's config.json and its newest checkpoint (EMA weights by default) and writes
an .npz (`images`: uint8 NHWC, or `points`: float32 for 2-D data; `labels` for
class-conditional runs) plus a PNG grid beside it, and with --labels one grid per class.
Text-to-image runs take --prompt (repeatable) or --prompts=FILE (one per line): num_samples
samples per prompt, one grid per prompt (OUT_promptI.png), a row per prompt in OUT.png, and
each prompt's faithfulness scores (class and attribute accuracy) in OUT.json.
"""

import os

from absl import flags

from experiments import cli

_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run directory with config.json and checkpoints/."
)
_NUM = flags.DEFINE_integer("num_samples", 64, "Number of samples.")
_SAMPLER = flags.DEFINE_string(
    "sampler",
    None,
    "Sampler (default: the config's), e.g. ddpm, ddim; em, pc, ode for score_sde.",
)
_STEPS = flags.DEFINE_integer("steps", None, "Sampling steps (default: the config's).")
_ETA = flags.DEFINE_float("eta", None, "DDIM η (default: the config's).")
_SPACING = flags.DEFINE_string(
    "spacing",
    None,
    "DDIM timestep spacing: uniform, quadratic, trailing (default: the run's).",
)
_GUIDANCE = flags.DEFINE_float(
    "guidance", None, "Classifier-free guidance scale w (default: the config's)."
)
_TEMPERATURE = flags.DEFINE_float(
    "temperature",
    None,
    "Sampling temperature of the VQ-VAE prior (default: the config's).",
)
_LABELS = flags.DEFINE_list(
    "labels", None, "Classes to draw, e.g. 0,5,9 (class-conditional runs)."
)
_TRUNCATION = flags.DEFINE_float(
    "truncation",
    None,
    "StyleGAN's truncation ψ: 1 = none, 0 = the mean w (default: the config's).",
)
_PROMPT = flags.DEFINE_multi_string(
    "prompt", None, "A prompt to draw samples for (text-to-image runs); repeatable."
)
_PROMPTS = flags.DEFINE_string(
    "prompts", None, "A text file of prompts, one per line (text-to-image runs)."
)
_SEED = flags.DEFINE_integer("seed", 0, "Sampling seed.")
_BATCH = flags.DEFINE_integer("batch_size", 256, "Samples drawn per compiled call.")
_EMA = flags.DEFINE_bool("ema", True, "Use EMA parameters (--noema for the raw ones).")
_DEFAULTS = cli.define_defaults_flag()
_OUT = flags.DEFINE_string(
    "out", None, "Output .npz (default: WORKDIR/samples/export_*.npz)."
)


def _parse_classes(values):
    from v101jax.core.errors import ConfigError

    try:
        return [int(v) for v in values]
    except ValueError:
        raise ConfigError(
            f"--labels={','.join(values)} must be comma-separated class indices"
        ) from None


def _prompts():
    """The prompts of --prompt and --prompts (None when neither is given)."""
    from v101jax.training.export import read_prompts_file

    prompts = list(_PROMPT.value or [])
    if _PROMPTS.value:
        prompts += read_prompts_file(_PROMPTS.value)
    return prompts or None


def main(argv):
    del argv
    from v101jax.core.errors import ConfigError
    from v101jax.training.export import export_prompts, export_samples

    sample_flags = {
        "sampler": _SAMPLER.value,
        "steps": _STEPS.value,
        "eta": _ETA.value,
        "spacing": _SPACING.value,
        "guidance": _GUIDANCE.value,
        "temperature": _TEMPERATURE.value,
        "truncation": _TRUNCATION.value,
    }
    common = {
        "sample_flags": sample_flags,
        "seed": _SEED.value,
        "batch_size": _BATCH.value,
        "use_ema": _EMA.value,
        "out": _OUT.value,
        "defaults": cli.optional_config(_DEFAULTS),
    }
    prompts = _prompts()
    if prompts is not None:
        if _LABELS.value is not None:
            raise ConfigError(
                "give --labels or prompts (--prompt, --prompts), not both"
            )
        out, scores = export_prompts(_WORKDIR.value, prompts, _NUM.value, **common)
        for entry in scores:
            values = "  ".join(
                f"{k} {v:.3f}" for k, v in entry.items() if k != "prompt"
            )
            print(f"{entry['prompt']!r}: {values or '(nothing measurable named)'}")
        stem = os.path.splitext(out)[0]
        print(f"wrote {out}, {stem}.png, {stem}_prompt*.png and {stem}.json")
        return
    classes = None if _LABELS.value is None else _parse_classes(_LABELS.value)
    out = export_samples(_WORKDIR.value, _NUM.value, classes=classes, **common)
    print(f"wrote {out} and {os.path.splitext(out)[0]}.png")


if __name__ == "__main__":
    cli.run(main, required=("workdir",), reads_saved_runs=True)
