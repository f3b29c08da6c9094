"""The original GAN (Goodfellow et al. 2014) with MLP networks on 2-D toy data.

    python -m experiments.main --config=configs/gan_mlp.py --workdir=runs/gan_mlp

Non-saturating generator loss, Adam; samples are written as density plots.

Presets (`--config=configs/gan_mlp.py:NAME`):
  (none)  ring of 8 Gaussians (radius 2, σ 0.05), 3000 steps (about a minute on 2 CPU cores).
  grid    5×5 grid of Gaussians.
  smoke   two steps; used by the tests.
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    config.data.source = "ring"
    config.data.toy_std = 0.05
    config.data.batch_size = 256
    config.model.name = "mlp"
    config.model.hidden = 128
    config.model.num_layers = 3
    config.model.latent_dim = 16
    config.model.minibatch_std = 0
    config.optim.learning_rate = 1e-3
    config.d_optim.learning_rate = 1e-3
    config.optim.ema_decay = 0.99
    config.train.num_steps = 3000
    config.train.log_every = 200
    config.train.checkpoint_every = 1000
    config.train.sample_every = 1000
    config.train.num_sample_images = 2000
    config.gan.diversity_samples = 256
    if arg == "grid":
        config.data.source = "grid"
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
        raise ValueError(f"unknown preset {arg!r}; choose one of: ring, grid, smoke")
    config.lock()
    return config
