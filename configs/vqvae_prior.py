"""The learned prior of a VQ-VAE: a causal transformer over its 7×7 code grids (second stage).

    python -m experiments.main --config=configs/vqvae.py --workdir=runs/vqvae        # first
    python -m experiments.main --config=configs/vqvae_prior.py --workdir=runs/vqvae_prior \
        --config.prior.vqvae_workdir=runs/vqvae
    python -m experiments.sample --workdir=runs/vqvae_prior --num_samples=64

The VQ-VAE is loaded from `prior.vqvae_workdir` when training starts and stays frozen: its
resolved config is copied into `prior.vqvae` (this run's config.json) and its parameters into
this run's checkpoints, so the trained prior samples without the VQ-VAE's workdir. Samples
are drawn position by position in one compiled loop (temperature `sample.temperature`) and
decoded.

Presets (`--config=configs/vqvae_prior.py:NAME`):
  (none)   CPU demo: width 64, 3 layers, batch 32, 3000 steps (0.18 s/step on
           2 cores, about 9 minutes; 22 minutes on a CPU shared with other jobs). Width 128
           with 4 layers took 0.6 s/step.
  smoke    a few seconds on CPU; used by the tests (needs a smoke VQ-VAE workdir).
  gpu      width 256, 8 layers, batch 128, 50k steps.
"""

import ml_collections

from configs import base


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "vqvae_prior"
    config.model.name = "causal_transformer"

    config.prior = prior = ml_collections.ConfigDict()
    prior.vqvae_workdir = (
        "runs/vqvae"  # workdir of the trained VQ-VAE (configs/vqvae.py)
    )
    prior.width = 64  # transformer width
    prior.num_layers = 3
    prior.num_heads = 4
    # The VQ-VAE's resolved config, copied from prior.vqvae_workdir at start-up.
    prior.vqvae = ml_collections.ConfigDict()
    config.sample.temperature = 1.0  # softmax temperature when sampling codes

    config.optim.learning_rate = 1e-3
    config.optim.schedule = "warmup_cosine"
    config.optim.warmup_steps = 200
    config.optim.end_lr_fraction = 0.05
    config.optim.ema_decay = 0.999
    if arg in (None, "", "demo"):
        config.data.batch_size = 32
        config.train.num_steps = 3000
        config.train.log_every = 100
        config.train.checkpoint_every = 1000
        config.train.sample_every = 1500
    elif arg == "smoke":
        base.apply_smoke_training(config)
        config.prior.width = 16
        config.prior.num_layers = 1
        config.prior.num_heads = 2
        config.optim.warmup_steps = 0
        config.optim.schedule = "constant"
        config.optim.ema_decay = 0.9
    elif arg == "gpu":
        config.data.batch_size = 128
        config.prior.width = 256
        config.prior.num_layers = 8
        config.prior.num_heads = 8
        config.train.num_steps = 50_000
        config.train.log_every = 500
        config.train.checkpoint_every = 5000
        config.train.sample_every = 5000
    else:
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, smoke, gpu")
    config.lock()
    return config
