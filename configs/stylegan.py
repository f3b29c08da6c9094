"""StyleGAN (Karras et al. 2019; StyleGAN2's modulated convolution with model.style=modulated).

    python -m experiments.main --config=configs/stylegan.py --workdir=runs/stylegan
    python -m experiments.sample --workdir=runs/stylegan --truncation=0.7

An 8-layer mapping network z → w (learning-rate multiplier 0.01), synthesis from a learned
constant with per-layer styles and noise, style mixing with probability 0.9, the non-saturating
logistic loss with lazy R1 (every 16 D steps) or WGAN-GP (the demo's), w_avg tracked with
β 0.995, truncation in the first 8 layers (the papers' ψ 0.7 with --truncation=0.7; the
run's grids and evaluations use sample.truncation_psi, 1 = none, so that they show the full
distribution); ProGAN's discriminator; Adam β (0, 0.99), G EMA (NVlabs/stylegan and
stylegan2-ada-pytorch's defaults; v101jax/algorithms/stylegan.py).

Presets (`--config=configs/stylegan.py:NAME`):
  (none)    CPU demo: Fashion-MNIST padded to 32×32 (data.pad 2), AdaIN styles, widths
            64/64/32/16 (4 … 32 px), z and w ∈ ℝ¹²⁸, batch 32, the WGAN-GP loss without R1
            (`stylegan.loss=wgan_gp`; the logistic loss with R1 γ 0.1 is
            `--config.stylegan.loss=logistic --config.stylegan.r1_gamma=0.1`), no path
            length, 4000 steps (about 4.6 steps/s on 2 CPU cores: every step runs at 32×32).
  smoke     tiny widths, 8×8 digits, two steps of the logistic loss with R1 and path
            length on both; the tests'.
  cifar10   StyleGAN2-ADA's `cifar` configuration through TFDS: modulated convolutions, 512
            feature maps at every level, a 2-layer mapping network, batch 64, Adam 2.5e-3,
            R1 γ 0.01, no style mixing and no path length (as that configuration has).
  celeba128 CelebA at 128×128 through TFDS, modulated convolutions, widths 512 … 128, batch
            32, Adam 2e-3, R1 γ 0.1 (ADA's rule 0.0002·128²/32), path length weight 2.

The papers train FFHQ with the logistic loss and R1 (the presets other than the demo) and
CelebA-HQ with ProGAN's WGAN-GP (`stylegan.loss=wgan_gp`, R1 off with
`stylegan.r1_gamma=0`); on small data of a few discrete modes the logistic loss collapses to
one or two of them where WGAN-GP covers most, and on Fashion-MNIST it scores worse
(benchmarks/RESULTS.md).

Differences from the references, each a config field: D is ProGAN's (StyleGAN's; StyleGAN2's
residual D is not built), upsampling is nearest without the [1, 2, 1] blur, the logistic
loss's γ 0.1 is chosen for small images (the papers' 10 is for 1024² faces; ADA's rule gives
0.0064 at 32×32), the R1 term is added to the regularised step's D loss (not a separate
update with rescaled Adam β), and each example draws its own mixing crossover.
"""

from configs import base


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "stylegan"

    base.use_progressive_gan_training(config)
    m = config.model
    m.name = "stylegan"
    m.widths = (64, 64, 32, 16)  # channels of each level: 4, 8, 16, 32 px
    m.latent_dim = 128  # z
    m.w_dim = 128
    m.mapping_layers = 8
    m.mapping_lr = 0.01  # the mapping network's learning-rate multiplier
    m.style = (
        "adain"  # adain (StyleGAN) | modulated (StyleGAN2's modulated convolution)
    )
    m.minibatch_std = 4  # D's minibatch-stddev group size

    config.stylegan = s = base.ml_collections.ConfigDict()
    s.style_mixing = 0.9  # probability that an example mixes two latents' styles
    # logistic (non-saturating, with R1; FFHQ) | wgan_gp (ProGAN's critic loss; CelebA-HQ)
    s.loss = "logistic"
    s.gradient_penalty = 10.0  # wgan_gp's λ
    s.drift = 1e-3  # wgan_gp's ε_drift of ε·E[D(x)²]
    s.r1_gamma = 0.1  # γ of γ/2·E‖∇D(x)‖²
    s.r1_interval = 16  # R1 on every 16th D step (lazy regularisation), weighted by 16
    s.pl_weight = 0.0  # path-length regularisation (StyleGAN2: 2); 0 = off
    s.pl_interval = 4
    s.pl_decay = 0.01  # of the path lengths' running mean
    s.w_avg_beta = 0.995  # the tracked mean w

    config.sample.truncation_psi = 1.0  # 1 = none; the papers' figures use 0.7
    config.sample.truncation_cutoff = 8  # layers truncated (the first 8); 0 = all

    t = config.train
    t.num_steps = 4000
    t.log_every = 100
    t.sample_every = 1000
    t.checkpoint_every = 500

    if arg in (None, "", "demo"):
        # ProGAN's critic loss, the paper's CelebA-HQ setting (no R1): fmnist_fd 51 against
        # the logistic loss's 72 in the same 4000 steps (benchmarks/RESULTS.md).
        s.loss = "wgan_gp"
        s.r1_gamma = 0.0
    elif arg == "smoke":
        base.apply_smoke_training(config)
        config.data.source = "digits"
        config.data.pad = 0
        m.widths = (8, 8)  # 4, 8 px
        m.latent_dim = m.w_dim = 8
        m.mapping_layers = 2
        m.minibatch_std = 2
        s.r1_interval = s.pl_interval = 2
        s.pl_weight = 2.0
        config.sample.truncation_cutoff = 0
    elif arg == "cifar10":
        base.use_cifar10(config.data)
        config.data.pad = 0
        config.data.batch_size = 64
        m.widths = (512, 512, 512, 512)
        m.latent_dim = m.w_dim = 512
        m.mapping_layers = 2
        m.style = "modulated"
        m.minibatch_std = 32
        config.optim.learning_rate = config.d_optim.learning_rate = 2.5e-3
        s.style_mixing = 0.0
        s.r1_gamma = 0.01
        t.num_steps = 200_000
        t.log_every = 500
        t.sample_every = t.checkpoint_every = 5000
    elif arg == "celeba128":
        base.use_celeba(config.data, 128)
        config.data.pad = 0
        m.widths = (512, 512, 512, 512, 256, 128)  # 4 … 128 px
        m.latent_dim = m.w_dim = 512
        m.style = "modulated"
        config.optim.learning_rate = config.d_optim.learning_rate = 2e-3
        s.pl_weight = 2.0
        t.num_steps = 300_000
        t.log_every = 500
        t.sample_every = t.checkpoint_every = 5000
    else:
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: demo, smoke, cifar10, celeba128"
        )
    config.lock()
    return config
