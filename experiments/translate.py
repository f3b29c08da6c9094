"""Translate a folder of images (or an .npz) with a trained image-to-image run.

    python -m experiments.translate --workdir=runs/pix2pix --inputs=my_edges/ --out=translated/
    python -m experiments.translate --workdir=runs/cyclegan --inputs=boots/ --target_domain=0 \
        --out=as_sneakers/
    python -m experiments.translate --workdir=runs/stargan --inputs=x.npz --target_domain=3 \
        --out=as_dresses/ [--targets=y.npz]

Inputs are converted to the run's channels and image size. Writes one PNG per input (its
name), translations.npz (`images`, `sources`: uint8) and grid.png of input | output pairs
(| target with --targets). --target_domain picks the output domain: CycleGAN 1 = B (default)
or 0 = A; StarGAN a class; Pix2Pix has one and takes none.
"""

from absl import flags

from experiments import cli

_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run directory with config.json and checkpoints/."
)
_INPUTS = flags.DEFINE_string(
    "inputs", None, "A folder of images, or an .npz with `images` (uint8 NHWC)."
)
_OUT = flags.DEFINE_string("out", None, "Output folder.")
_DOMAIN = flags.DEFINE_integer(
    "target_domain",
    None,
    "Domain to translate into (CycleGAN: 0 = A, 1 = B; StarGAN: a class).",
)
_TARGETS = flags.DEFINE_string(
    "targets",
    None,
    "Optional: the true outputs (folder or .npz, input order) for the grid.",
)
_BATCH = flags.DEFINE_integer("batch_size", 256, "Images translated per compiled call.")
_EMA = flags.DEFINE_bool("ema", True, "Use EMA parameters (--noema for the raw ones).")
_DEFAULTS = cli.define_defaults_flag()


def main(argv):
    del argv
    from v101jax.training.translate import translate_images

    n = translate_images(
        _WORKDIR.value,
        _INPUTS.value,
        _OUT.value,
        target_domain=_DOMAIN.value,
        targets=_TARGETS.value,
        batch_size=_BATCH.value,
        use_ema=_EMA.value,
        defaults=cli.optional_config(_DEFAULTS),
    )
    print(f"wrote {n} translations, translations.npz and grid.png to {_OUT.value}")


if __name__ == "__main__":
    cli.run(main, required=("workdir", "inputs", "out"), reads_saved_runs=True)
