"""Figures of a trained autoencoder (AE, VAE, β-VAE, VQ-VAE, VQ-VAE prior).

    python -m experiments.reconstruct --workdir=runs/vae [--num_eval=10000 --seed=0 --out_dir=...]

Reads the run's config.json and newest checkpoint and writes to WORKDIR/figures (or --out_dir):
reconstructions.png (rows of test inputs, each followed by their reconstructions), samples.png,
interpolations.png (one row per pair of test images, latents mixed linearly), traversals.png
(AE/VAE: one row per latent dimension swept over ±3 prior standard deviations) and
figures.json (test-set reconstruction MSE/PSNR; VAE: ELBO and importance-weighted bound in nats
and bits/dim; VQ-VAE: codebook perplexity and usage; prior: NLL of the test codes).
"""

import json
import os

from absl import flags

from experiments import cli

_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Run directory with config.json and checkpoints/."
)
_NUM_EVAL = flags.DEFINE_integer(
    "num_eval", 10000, "Test images for the figures (Fashion-MNIST has 10000)."
)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the sampled latents and estimates.")
_DEFAULTS = cli.define_defaults_flag()
_OUT_DIR = flags.DEFINE_string(
    "out_dir", None, "Output folder (default: WORKDIR/figures)."
)


def main(argv):
    del argv
    from v101jax.training.export import load_run_config, load_state
    from v101jax.training.visuals import write_figures

    config = load_run_config(_WORKDIR.value, cli.optional_config(_DEFAULTS))
    state = load_state(config, _WORKDIR.value)
    out_dir = _OUT_DIR.value or os.path.join(_WORKDIR.value, "figures")
    result = write_figures(
        config, state, out_dir, num_eval=_NUM_EVAL.value, seed=_SEED.value
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    cli.run(main, required=("workdir",), reads_saved_runs=True)
