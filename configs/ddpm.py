"""DDPM (Ho et al. 2020): ε-prediction U-Net, linear β schedule, ancestral sampler.

    python -m experiments.main --config=configs/ddpm.py --workdir=runs/ddpm

Presets (`--config=configs/ddpm.py:NAME`):
  (none)   CPU demo on Fashion-MNIST, a 0.69M-parameter U-Net, 2500 steps (about 6 minutes on
           2 cores with jax 0.12; configs/ddim.py's demo trains 6000 in its 15 minutes).
  smoke    a few seconds on CPU; used by the tests.
  ring     2-D ring of 8 Gaussians with an MLP denoiser (seconds on CPU; density plots).
  cifar10  the paper's CIFAR-10 model (35.7M parameters, 800k steps, batch 128) through TFDS.
"""

from configs import base


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "diffusion"
    add_diffusion_fields(config)
    _apply_preset(config, arg)
    if arg == "smoke":
        config.diffusion.num_timesteps = 50
    elif arg == "ring":
        config.sample.clip_x0 = False  # the ring has radius 2: x₀ is not in [-1, 1]
    config.lock()
    return config


def add_diffusion_fields(config):
    """The discrete process, the network's target, the samplers and class conditioning:
    shared with latent diffusion (configs/ldm.py)."""
    config.diffusion = diffusion = base.ml_collections.ConfigDict()
    diffusion.num_timesteps = 1000  # T
    diffusion.beta_schedule = "linear"  # linear | cosine
    diffusion.beta_start = 1e-4  # linear only
    diffusion.beta_end = 0.02  # linear only
    diffusion.cosine_s = 0.008  # cosine only: offset s of Nichol & Dhariwal
    diffusion.prediction = "eps"  # what the network predicts: eps | x0 | v
    add_class_conditioning(config)

    config.sample.sampler = "ddpm"  # ddpm | ddim
    config.sample.num_steps = (
        1000  # ddim: number of sampling steps (ddpm always runs T)
    )
    config.sample.eta = 1.0  # ddim: 0 = deterministic, 1 = ancestral-like
    config.sample.timestep_spacing = "uniform"  # ddim: uniform | quadratic
    config.sample.clip_x0 = True  # clip the predicted x₀ to [-1, 1] at every step


def add_class_conditioning(config):
    """The classifier-free guidance fields, shared by the DDPM and score-SDE configs."""
    config.conditioning = cond = base.ml_collections.ConfigDict()
    # Class-conditional network (label embedding added to the time embedding); each label is
    # dropped to the null label with probability p_uncond for classifier-free guidance.
    cond.class_conditional = False
    cond.p_uncond = 0.1
    # How labels enter the network: "embedding" (added to the time embedding) or
    # "cross_attention" (a one-token sequence the attention blocks cross-attend to: latent
    # diffusion's conditioning path, which text conditioning reuses).
    cond.label_path = "embedding"
    # Guidance scale w (class-conditional models): (1 + w)·ε(x, c) − w·ε(x, ∅).
    config.sample.guidance = 0.0


def _apply_preset(config, arg):
    """Sizes for the named preset (data, model, optim, train, sample counts); shared with
    configs/ddim.py and configs/score_sde_*.py, which set their own process-specific fields."""
    if arg in (None, "", "demo"):
        # Fits 2 CPU cores: trained in minutes, garments recognisable. Widths are
        # powers of two: XLA's CPU convolutions were 3x slower at 24 channels than at 16.
        config.data.batch_size = 16
        config.model.channels = 16
        config.model.channel_mult = (1, 2, 4)
        config.model.num_res_blocks = 1
        config.model.attention_resolutions = (7,)
        config.optim.learning_rate = 2e-3
        config.optim.schedule = "warmup_cosine"
        config.optim.warmup_steps = 200
        config.optim.end_lr_fraction = 0.05
        config.optim.ema_decay = 0.995
        config.train.num_steps = 2500
        config.train.log_every = 100
        config.train.checkpoint_every = 500
        # Each 64-image grid (DDIM, 100 steps) costs ~30 s of the 15-minute budget.
        config.train.sample_every = 1250
    elif arg == "smoke":
        base.apply_smoke_training(config)
        # One resolution level: the U-Net's backward pass compiles in ~9 s on CPU versus
        # ~22 s with two (compile time, not size, dominates the smoke runs).
        config.model.channels = 8
        config.model.channel_mult = (1,)
        config.model.num_res_blocks = 1
        config.model.attention_resolutions = ()
        config.model.num_groups = 4
        config.sample.num_steps = 5
        config.optim.learning_rate = 1e-3
        config.optim.ema_decay = 0.9
    elif arg == "ring":
        config.data.source = "ring"
        config.data.toy_std = 0.1
        config.data.batch_size = 256
        config.model.name = "mlp"
        config.model.hidden = 128
        config.model.num_layers = 3
        config.optim.learning_rate = 2e-3
        config.optim.schedule = "warmup_cosine"
        config.optim.warmup_steps = 100
        config.optim.end_lr_fraction = 0.05
        config.optim.ema_decay = 0.99
        config.train.num_steps = 3000
        config.train.log_every = 200
        config.train.checkpoint_every = 1000
        config.train.sample_every = 1000
        config.train.num_sample_images = 2000
    elif arg == "cifar10":
        # Ho et al. 2020, CIFAR-10: ch=128, mult (1,2,2,2), 2 res blocks, attention at 16x16,
        # dropout 0.1, Adam 2e-4 with 5000 warm-up steps, batch 128, EMA 0.9999, 800k steps.
        base.use_cifar10(config.data)
        config.data.batch_size = 128
        config.model.channels = 128
        config.model.channel_mult = (1, 2, 2, 2)
        config.model.num_res_blocks = 2
        config.model.attention_resolutions = (16,)
        config.model.num_groups = 32
        config.model.dropout = 0.1
        config.optim.learning_rate = 2e-4
        config.optim.schedule = "warmup_cosine"
        config.optim.warmup_steps = 5000
        config.optim.end_lr_fraction = (
            1.0  # the paper keeps the rate constant after warm-up
        )
        config.optim.ema_decay = 0.9999
        config.train.num_steps = 800_000
        config.train.log_every = 1000
        config.train.checkpoint_every = 10_000
        config.train.sample_every = 10_000
    else:
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: demo, smoke, ring, cifar10"
        )
