"""Shared fields of the super-resolution configs (not a runnable experiment itself).

`get_sr_base_config(network)` sets algorithm super_resolution on photo_pairs (crops of
scikit-image's bundled photos, five held out; v101jax/data/photos.py) and the `sr` section;
each config file picks its paper's crop size, channels and optimiser.
"""

from configs import base


def get_sr_base_config(network: str):
    config = base.get_base_config()
    config.algorithm = "super_resolution"
    data = config.data
    data.source = "photo_pairs"
    data.photo_set = (
        "bundled"  # bundled | folder (data.folder/{split}/) | tfds (div2k/…)
    )
    data.downscale = 3
    data.random_flip = True

    config.sr = s = base.ml_collections.ConfigDict()
    s.network = network  # srcnn | espcn | srresnet
    s.loss = "mse"  # mse | l1
    # srcnn / espcn: hidden widths and every layer's kernel size (one more than widths).
    s.widths = (64, 32)
    s.kernels = (9, 5, 5)
    # srresnet: width, residual blocks, batch norm (False: EDSR's variant).
    s.channels = 64
    s.num_blocks = 16
    s.batch_norm = True

    o = config.optim
    o.grad_clip_norm = 0.0
    o.ema_decay = 0.0  # the papers average no weights

    ev = config.eval
    ev.every_steps = 1000
    ev.num_samples = 1000  # held-out crops scored (PSNR/SSIM on Y, against bicubic)
    ev.batch_size = 250
    ev.extractor = "none"  # photos: no feature extractor applies
    config.train.num_sample_images = 16
    config.sample.num_samples = 16
    return config


def apply_smoke(config) -> None:
    """Two steps at batch 8 with 12 held-out crops scored: the tests' preset."""
    base.apply_smoke_training(config)
    config.data.crop_stride = 64
    config.eval.every_steps = 2
    config.eval.num_samples = 12
    config.eval.batch_size = 12


def use_cosine_adam(config, learning_rate: float = 1e-3) -> None:
    """Adam at `learning_rate`, decayed by cosine to 1 % of it over the run: the demos'
    stand-in for the papers' days-long schedules."""
    o = config.optim
    o.learning_rate = learning_rate
    o.schedule = "warmup_cosine"
    o.end_lr_fraction = 0.01


def apply_demo_or_smoke(config, arg, num_steps: int = 6000) -> None:
    """The SRCNN/ESPCN presets: the CPU demo (`num_steps`, cosine Adam 1e-3) or smoke."""
    use_cosine_adam(config)
    t = config.train
    t.num_steps = num_steps
    t.log_every = 200
    t.checkpoint_every = 2000
    t.sample_every = num_steps // 2
    if arg == "smoke":
        apply_smoke(config)
    elif arg not in (None, "", "demo"):
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, smoke")
