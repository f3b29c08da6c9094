"""VQ-VAE (van den Oord et al. 2017) on Fashion-MNIST: a 7×7 grid of codes from 128 entries.

    python -m experiments.main --config=configs/vqvae.py --workdir=runs/vqvae
    python -m experiments.reconstruct --workdir=runs/vqvae   # reconstructions, perplexity

Then train the learned prior over its code grids (configs/vqvae_prior.py) to sample. The
codebook follows EMA updates (decay 0.99; `--config.vqvae.codebook_update=loss` learns it with
the codebook loss instead); commitment cost β = 0.25; codes unused for a while are restarted
on encoder outputs. This run's own sample grids decode independently drawn codes (a baseline).

Presets (`--config=configs/vqvae.py:NAME`):
  (none)   CPU demo: widths 16/32, batch 32, 4000 steps (10 minutes on a 2-core
           CPU shared with other jobs).
  smoke    a few seconds on CPU; used by the tests.
  gpu      widths 64/128, 512 codes of size 64, batch 128, 30k steps.
"""

import ml_collections

from configs import base


def get_config(arg=None):
    config = vqvae_config(arg)
    config.lock()
    return config


def vqvae_config(arg) -> ml_collections.ConfigDict:
    config = base.get_base_config()
    config.algorithm = "vqvae"
    config.model.name = "conv_vqvae"

    config.vqvae = vq = ml_collections.ConfigDict()
    vq.num_codes = 128  # K, codebook entries
    vq.code_dim = 16  # D, size of each code vector (channels of the latent map)
    vq.commitment_cost = 0.25  # β of the commitment term
    vq.codebook_update = "ema"  # ema | loss
    vq.ema_decay = 0.99  # γ of the EMA codebook update
    vq.ema_epsilon = 1e-5  # Laplace smoothing of the EMA cluster sizes
    vq.usage_decay = 0.99  # EMA of per-batch code counts (dead-code detection)
    vq.dead_code_threshold = (
        1.0  # restart codes whose usage EMA falls below; 0 disables
    )

    config.optim.learning_rate = 1e-3
    config.optim.schedule = "warmup_cosine"
    config.optim.warmup_steps = 100
    config.optim.end_lr_fraction = 0.1
    # No parameter EMA: the EMA codebook already averages, and an averaged encoder would not
    # match it.
    config.optim.ema_decay = 0.0
    config.sample.use_ema = False
    _apply_preset(config, arg)
    return config


def _apply_preset(config, arg):
    if arg in (None, "", "demo"):
        config.data.batch_size = 32
        config.model.channels = 16
        config.model.channel_mult = (1, 2)
        config.train.num_steps = 4000
        config.train.log_every = 100
        config.train.checkpoint_every = 1000
        config.train.sample_every = 2000
    elif arg == "smoke":
        base.apply_smoke_training(config)
        config.model.channels = 8
        config.model.channel_mult = (1,)
        config.vqvae.num_codes = 16
        config.vqvae.code_dim = 4
        config.optim.warmup_steps = 0
        config.optim.schedule = "constant"
    elif arg == "gpu":
        config.data.batch_size = 128
        config.model.channels = 64
        config.model.channel_mult = (1, 2)
        config.vqvae.num_codes = 512
        config.vqvae.code_dim = 64
        config.train.num_steps = 30_000
        config.train.log_every = 500
        config.train.checkpoint_every = 5000
        config.train.sample_every = 5000
    else:
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, smoke, gpu")
