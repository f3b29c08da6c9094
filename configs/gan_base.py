"""Shared fields and presets of the GAN configs (not a runnable experiment itself).

`get_gan_base_config()` adds the `gan`, `d_optim` and GAN `model` fields to the base config;
`apply_image_preset` sets the sizes shared by the image GAN configs (dcgan, lsgan, wgan,
wgan_gp, hinge_sn, cgan, acgan).
"""

from configs import base


def get_gan_base_config():
    config = base.get_base_config()
    config.algorithm = "gan"

    m = config.model
    m.name = "dcgan"  # mlp (2-D data) | dcgan (images)
    m.channels = 32  # dcgan: width of G's last and D's first feature map
    m.hidden = 128  # mlp width
    m.num_layers = 3  # mlp hidden layers (G and D)
    m.latent_dim = 64  # size of z ~ N(0, I)
    m.embed_dim = 16  # label embedding size (conditional models)
    m.spectral_norm = False  # spectral normalisation of every D layer
    m.minibatch_std = 0  # group size of D's minibatch std-dev feature; 0 = off
    # Minibatch discrimination (Salimans et al. 2016) before D's score: group size; 0 = off.
    # T has (D's feature size) × B × C parameters: 3136 × 500 for the 28×28 demo D.
    m.minibatch_discrimination = 0
    m.minibatch_kernels = 100  # B, the number of kernels (the paper's code: 100)
    m.minibatch_kernel_dim = 5  # C, the dimension of each kernel (the paper's code: 5)
    # G's batch norm at sampling: the sample batch's statistics (True) or running averages.
    m.batch_stats_at_sampling = True

    use_adversarial_optimizers(config)

    config.gan = g = base.ml_collections.ConfigDict()
    g.loss = "non_saturating"  # minimax | non_saturating | lsgan | hinge | wasserstein
    g.n_critic = 1  # discriminator updates per generator update
    # Unroll the n_critic updates in the compiled step (True) or loop with lax.scan (False,
    # smaller program, faster compile). XLA's CPU convolutions run ~4x slower inside a loop.
    g.unroll_critic = True
    # Unrolled GAN (Metz et al. 2017): G's loss is taken against D after this many further
    # look-ahead updates, differentiated through them (the paper: 5 to 10); 0 = off.
    g.unroll_steps = 0
    g.clip_value = 0.0  # > 0: WGAN weight clipping to [−c, c]
    g.gradient_penalty = 0.0  # λ of the WGAN-GP penalty (paper: 10); 0 = off
    g.r1_gamma = 0.0  # γ of the R1 penalty on real data; 0 = off
    g.real_label = 1.0  # < 1: one-sided label smoothing (cross-entropy losses only)
    g.feature_matching = False  # G matches D's mean features instead of fooling D
    g.conditioning = "none"  # none | concat (cGAN) | projection | acgan
    g.aux_weight = 1.0  # ACGAN: weight of the class losses
    g.diversity_samples = (
        64  # fixed-z batch of the diversity (collapse) metric; 0 = off
    )

    config.train.checkpoint_every = 1000
    config.train.sample_every = 1000
    return config


def use_adversarial_optimizers(config) -> None:
    """DCGAN's Adam for G (config.optim, with an EMA of G's weights) and D (config.d_optim)."""
    # config.optim is the generator's optimiser; d_optim the discriminator's (two time scales).
    o = config.optim
    o.learning_rate = 2e-4
    o.b1 = 0.5  # DCGAN's Adam β₁
    o.b2 = 0.999
    o.grad_clip_norm = 0.0
    o.ema_decay = 0.999  # EMA of the generator's weights (sampling uses it)
    config.d_optim = config.optim.copy_and_resolve_references()
    config.d_optim.ema_decay = 0.0  # not read: the discriminator is never averaged


def apply_ring_preset(config) -> None:
    """2-D ring of 8 Gaussians (σ 0.1) with MLP networks: the learning-test setting."""
    config.data.source = "ring"
    config.data.toy_std = 0.1
    config.data.batch_size = 128
    config.model.name = "mlp"
    config.model.hidden = 64
    config.model.num_layers = 3
    config.model.latent_dim = 4
    config.optim.learning_rate = 1e-3
    config.d_optim.learning_rate = 1e-3
    config.optim.ema_decay = 0.99
    config.train.num_steps = 2000
    config.train.log_every = 200
    config.train.checkpoint_every = 1000
    config.train.sample_every = 1000
    config.train.num_sample_images = 2000
    config.gan.diversity_samples = 128
    config.gan.unroll_critic = False  # MLPs run as fast inside a loop; compiles once


def apply_image_preset(config, arg) -> None:
    """Sizes for `arg`: None/"demo" (Fashion-MNIST on CPU), smoke, ring, cifar10, celeba64."""
    if arg in (None, "", "demo"):
        # DCGAN took 0.23 s per step on 2 busy CPU cores (~15 minutes for 4000 steps); its
        # grids showed blurred, checkered garments at 2000-3000 steps and clear ones at 4000.
        config.data.batch_size = 64
        config.model.channels = 32
        config.train.num_steps = 4000
        config.train.log_every = 100
        config.train.sample_every = 2000
        config.train.checkpoint_every = 1000
    elif arg == "smoke":
        base.apply_smoke_training(config)
        config.model.channels = 8
        config.model.latent_dim = 16
        config.gan.diversity_samples = 4
    elif arg == "ring":
        apply_ring_preset(config)
    elif arg == "cifar10":
        # DCGAN at 32×32 (Radford et al. 2016: batch 128, Adam 2e-4, β₁ 0.5, z of 100).
        base.use_cifar10(config.data)
        config.data.batch_size = 128
        config.model.channels = 128
        config.model.latent_dim = 100
        config.train.num_steps = 100_000
        config.train.log_every = 500
        config.train.sample_every = 5000
        config.train.checkpoint_every = 5000
    elif arg == "celeba64":
        # DCGAN's 64×64 model (width 128 … 1024 in the paper's figure 1 is 64·2^k here).
        base.use_celeba(config.data, 64, random_flip=False)
        config.data.batch_size = 128
        config.model.channels = 64
        config.model.latent_dim = 100
        config.train.num_steps = 100_000
        config.train.log_every = 500
        config.train.sample_every = 5000
        config.train.checkpoint_every = 5000
    else:
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: demo, smoke, ring, cifar10, celeba64"
        )
