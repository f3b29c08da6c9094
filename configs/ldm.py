"""Latent diffusion (Rombach et al. 2022) on Fashion-MNIST: DDPM training and DDIM sampling
in the latent space of a frozen autoencoder.

    python -m experiments.main --config=configs/ldm_autoencoder.py --workdir=runs/ldm_autoencoder
    python -m experiments.main --config=configs/ldm.py --workdir=runs/ldm \\
        --config.ldm.autoencoder_workdir=runs/ldm_autoencoder

The first stage is resolved from `ldm.autoencoder_workdir` when training starts: its config is
copied into `ldm.autoencoder`, its parameters and the latent scale (1 / std of the training
latents) into this run's state, so the finished model no longer needs that workdir. The
diffusion fields are configs/ddpm.py's (`diffusion.*`, `sample.*`, `conditioning.*` for
classifier-free guidance); `sample.clip_x0` is off, as latents are not confined to [-1, 1].

Presets (`--config=configs/ldm.py:NAME`):
  (none)   CPU demo: a U-Net of widths 32/64 on 7×7×4 latents, batch 32, 3000 steps, DDIM 50.
  smoke    a few steps at tiny widths; used by the tests.
  gpu      widths 128/256, two residual blocks per level, batch 128, 50k steps.
  cifar10  CIFAR-10 through TFDS on configs/ldm_autoencoder.py:cifar10's 8×8×4 latents
           (`ldm.autoencoder_workdir=runs/ldm_autoencoder_cifar10`): the DDPM CIFAR-10
           U-Net's width at three levels, batch 128, 400k steps.
The first stage may also be a VQ-VAE run (configs/vqvae.py): its continuous encoder outputs
are diffused, unscaled, and its decoder quantises them.
"""

from configs import base, ddpm


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "latent_diffusion"
    ddpm.add_diffusion_fields(config)
    config.sample.clip_x0 = False
    config.sample.sampler = "ddim"
    config.sample.num_steps = 50
    config.sample.eta = 1.0

    config.ldm = ldm = base.ml_collections.ConfigDict()
    ldm.autoencoder_workdir = "runs/ldm_autoencoder"  # the first stage's workdir
    # The autoencoder's resolved config, copied from ldm.autoencoder_workdir at start-up.
    ldm.autoencoder = base.ml_collections.ConfigDict()
    ldm.scale_by_std = True  # rescale latents by 1 / their std on the training set
    ldm.scale_examples = 5000  # training images encoded to measure that std

    config.model.channels = 32
    config.model.channel_mult = (1, 2)  # 7×7 → 4×4
    config.model.num_res_blocks = 1
    config.model.attention_resolutions = (4,)
    config.model.num_groups = 8
    o = config.optim
    o.learning_rate = 1e-3
    o.schedule = "warmup_cosine"
    o.warmup_steps = 200
    o.end_lr_fraction = 0.05
    o.ema_decay = 0.995
    config.sample.use_ema = True

    if arg in (None, "", "demo"):
        config.data.batch_size = 32
        config.train.num_steps = 3000
        config.train.log_every = 100
        config.train.checkpoint_every = 1000
        config.train.sample_every = 1500
    elif arg == "smoke":
        base.apply_smoke_training(config)
        config.diffusion.num_timesteps = 50
        config.sample.num_steps = 5
        config.model.channels = 8
        config.model.channel_mult = (1,)
        config.model.attention_resolutions = ()
        config.model.num_groups = 4
        config.ldm.scale_examples = 64
        config.optim.warmup_steps = 0
        config.optim.schedule = "constant"
    elif arg == "gpu":
        config.data.batch_size = 128
        config.model.channels = 128
        config.model.num_res_blocks = 2
        config.model.num_groups = 32
        config.optim.learning_rate = 2e-4
        config.optim.ema_decay = 0.9999
        config.train.num_steps = 50_000
        config.train.log_every = 500
        config.train.checkpoint_every = 5000
        config.train.sample_every = 5000
    elif arg == "cifar10":
        # On configs/ldm_autoencoder.py:cifar10's 8×8×4 latents: the CIFAR-10 DDPM U-Net's
        # width (128) and blocks at three levels 8 → 4 → 2, attention at 4×4, dropout 0.1.
        base.use_cifar10(config.data)
        config.data.batch_size = 128
        config.ldm.autoencoder_workdir = "runs/ldm_autoencoder_cifar10"
        config.model.channels = 128
        config.model.channel_mult = (1, 2, 2)
        config.model.num_res_blocks = 2
        config.model.num_groups = 32
        config.model.dropout = 0.1
        config.optim.learning_rate = 2e-4
        config.optim.warmup_steps = 5000
        config.optim.ema_decay = 0.9999
        config.train.num_steps = 400_000
        config.train.log_every = 1000
        config.train.checkpoint_every = 10_000
        config.train.sample_every = 10_000
    else:
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: demo, smoke, gpu, cifar10"
        )
    config.lock()
    return config
