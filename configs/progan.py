"""ProGAN (Karras et al. 2018): networks that grow from 4×4 by doubling, each new block faded in.

    python -m experiments.main --config=configs/progan.py --workdir=runs/progan

WGAN-GP (λ 10) with the drift term 1e-3·E[D(x)²], equalized learning rate, pixel norm,
minibatch standard deviation, Adam 1e-3 β (0, 0.99) reset at each new resolution, G EMA 0.999
(the reference's config.py and loss.py). Phases (v101jax/algorithms/progan.py): 4×4 stable,
then per doubling a fade-in of progan.fade_steps and a stable phase of progan.stable_steps;
the last stable phase runs to train.num_steps. The reference counts phases in images: 800k
each at CelebA-HQ, 400k for its CIFAR-10 runs; steps here are images / data.batch_size.

Presets (`--config=configs/progan.py:NAME`):
  (none)    CPU demo: Fashion-MNIST padded to 32×32 (data.pad 2), grows 4 → 32, widths
            64/64/64/32, batch 32, 1000-step phases (7000 steps).
  smoke     tiny widths, 8×8 digits (4 → 8), a few steps through all three phases; the tests'.
  cifar10   CIFAR-10 through TFDS, 4 → 32, width 128 (the reference's fmap_max for CIFAR),
            latent 128, batch 64, 400k images (6250 steps) per phase.
  celeba128 CelebA through TFDS at 128×128, 4 → 128, widths 512 … 128, latent 512, batch 32,
            800k images (25k steps) per phase.
"""

from configs import base


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "progan"

    base.use_progressive_gan_training(config)
    m = config.model
    m.name = "progan"
    m.widths = (64, 64, 64, 32)  # feature maps of each stage: 4, 8, 16, 32 px
    m.latent_dim = 128
    m.minibatch_std = 4  # D's minibatch-stddev group size (the reference's 4)

    config.progan = p = base.ml_collections.ConfigDict()
    p.stable_steps = 1000  # steps of every stable phase (the first 4×4 one included)
    p.fade_steps = 1000  # steps of every fade-in
    p.gradient_penalty = 10.0  # WGAN-GP λ
    p.drift = 1e-3  # ε_drift of ε·E[D(x)²]
    p.reset_optimizer = True  # fresh Adam state at each new resolution

    t = config.train
    t.log_every = 100
    t.sample_every = 1000
    t.checkpoint_every = 500

    if arg in (None, "", "demo"):
        t.num_steps = 7000  # 4×4, then three (fade, stable) pairs
    elif arg == "smoke":
        base.apply_smoke_training(config)
        config.data.source = "digits"
        config.data.pad = 0
        m.widths = (8, 8)  # 4, 8 px
        m.latent_dim = 8
        m.minibatch_std = 2
        p.stable_steps = 2
        p.fade_steps = 2
        t.num_steps = 6  # phases 0 (steps 0-1), 1 (fade, 2-3), 2 (stable, 4-5)
        t.checkpoint_every = 3  # a checkpoint mid-fade
        t.sample_every = 3
    elif arg == "cifar10":
        base.use_cifar10(config.data)
        config.data.pad = 0
        config.data.batch_size = 64
        m.widths = (128, 128, 128, 128)
        p.stable_steps = p.fade_steps = 6250  # 400k images at batch 64
        t.num_steps = 7 * 6250
        t.log_every = 500
        t.sample_every = t.checkpoint_every = 6250
    elif arg == "celeba128":
        base.use_celeba(config.data, 128)
        config.data.pad = 0
        config.data.batch_size = 32
        m.widths = (512, 512, 512, 512, 256, 128)  # 4 … 128 px
        m.latent_dim = 512
        p.stable_steps = p.fade_steps = 25_000  # 800k images at batch 32
        t.num_steps = 11 * 25_000
        t.log_every = 500
        t.sample_every = t.checkpoint_every = 5000
    else:
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: demo, smoke, cifar10, celeba128"
        )
    config.lock()
    return config
