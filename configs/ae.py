"""Convolutional autoencoder (deterministic) on Fashion-MNIST, MSE or BCE reconstruction.

    python -m experiments.main --config=configs/ae.py --workdir=runs/ae
    python -m experiments.reconstruct --workdir=runs/ae   # reconstructions, interpolations

Presets (`--config=configs/ae.py:NAME`):
  (none)   CPU demo on Fashion-MNIST: 16-d latent, encoder widths 16/32, batch 32, 4000 steps
           (12 minutes on a 2-core CPU shared with other jobs; about 4 on an idle one).
           Samples decode latents drawn from the running Gaussian fit of the codes.
  smoke    a few seconds on CPU; used by the tests.
  gpu      widths 64/128, 32-d latent, batch 128, 20k steps.
`--config.autoencoder.likelihood=bernoulli` trains with BCE instead of MSE.
"""

import ml_collections

from configs import base


def get_config(arg=None):
    config = autoencoder_config("ae", arg)
    config.lock()
    return config


def autoencoder_config(kind: str, arg) -> ml_collections.ConfigDict:
    """The unlocked config shared by ae.py, vae.py and beta_vae.py."""
    config = base.get_base_config()
    config.algorithm = "autoencoder"
    config.model.name = "conv_autoencoder"

    config.autoencoder = ae = ml_collections.ConfigDict()
    ae.kind = kind  # ae | vae
    ae.likelihood = "gaussian"  # gaussian (MSE for ae) | bernoulli (BCE)
    ae.latent_dim = 16  # size of the latent vector z (channels of a latent map)
    # A latent map [H/2^S, W/2^S, latent_dim] (S = stages of model.channel_mult) instead of a
    # vector: latent diffusion's first stage (configs/ldm_autoencoder.py).
    ae.spatial = False
    # LDM's PatchGAN term on the reconstructions (0 = off): weight × the adaptive weight,
    # from step disc_start on; disc_layers stride-2 layers of the PatchGAN (model.channels).
    ae.adversarial_weight = 0.0
    ae.disc_start = 0
    ae.disc_layers = 1
    ae.beta = 1.0  # vae: weight of the KL term (β-VAE when > 1)
    ae.kl_warmup_steps = 0  # vae: the KL weight ramps linearly 0 → β over these steps
    ae.num_importance_samples = 64  # k of the importance-weighted bound (evaluation)

    config.optim.learning_rate = 1e-3
    config.optim.schedule = "warmup_cosine"
    config.optim.warmup_steps = 100
    config.optim.end_lr_fraction = 0.1
    config.optim.ema_decay = 0.999
    config.sample.use_ema = True
    _apply_preset(config, arg)
    return config


def _apply_preset(config, arg):
    if arg in (None, "", "demo"):
        # Widths are powers of two and small: at batch 32 a step of widths 16/32 took 0.05 s
        # on the 2-core CPU, of widths 32/64 0.17 s.
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
        config.autoencoder.latent_dim = 4
        config.autoencoder.num_importance_samples = 4
        config.optim.warmup_steps = 0
        config.optim.schedule = "constant"
    elif arg == "gpu":
        config.data.batch_size = 128
        config.model.channels = 64
        config.model.channel_mult = (1, 2)
        config.autoencoder.latent_dim = 32
        config.train.num_steps = 20_000
        config.train.log_every = 500
        config.train.checkpoint_every = 5000
        config.train.sample_every = 5000
    else:
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, smoke, gpu")
