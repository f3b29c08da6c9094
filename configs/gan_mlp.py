"""The original GAN (Goodfellow et al. 2014) with MLP networks on 2-D toy data.

    python -m experiments.main --config=configs/gan_mlp.py --workdir=runs/gan_mlp

Non-saturating generator loss, Adam (β₁ 0.5); samples are written as density plots.

Presets (`--config=configs/gan_mlp.py:NAME`):
  (none)   ring of 8 Gaussians (radius 2, σ 0.1), 2000 steps (well under a minute on 2 CPU cores).
  grid     5×5 grid of Gaussians (σ 0.1), 4000 steps.
  minimax  the ring with the original (saturating) minimax generator loss.
  smoke    two steps; used by the tests.
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    gan_base.apply_ring_preset(config)
    if arg == "grid":
        config.data.source = "grid"
        config.train.num_steps = 4000
    elif arg == "minimax":
        config.gan.loss = "minimax"
    elif arg == "smoke":
        config.data.batch_size = 32
        config.model.hidden = 32
        config.train.num_steps = 2
        config.train.log_every = 1
        config.train.checkpoint_every = 2
        config.train.sample_every = 2
        config.train.num_sample_images = 64
        config.gan.diversity_samples = 16
    elif arg not in (None, "", "ring"):
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: ring, grid, minimax, smoke"
        )
    config.lock()
    return config
