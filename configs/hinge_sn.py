"""Hinge loss with a spectrally normalised discriminator (SN-GAN, Miyato et al. 2018).

    python -m experiments.main --config=configs/hinge_sn.py --workdir=runs/hinge_sn

Every discriminator layer is wrapped in flax's nn.SpectralNorm (one power iteration per
training call). Images: one critic update per generator update, Adam (2e-4, β = (0.5, 0.999)),
setting C of the paper's table 1; the ring preset uses five critic updates.

Presets: (none) CPU demo on Fashion-MNIST, smoke, ring (the learning test), cifar10, celeba64.

The CPU demo (3000 steps, batch 64) took 12 minutes on 2 CPU cores shared with two other jobs
(3.2-4.5 steps/s); its samples are blurred, checkered garment silhouettes (mostly tops and
trousers), fmnist_fd 66.1 on 1000 samples (benchmarks/RESULTS.md).
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    config.gan.loss = "hinge"
    config.model.spectral_norm = True
    gan_base.apply_image_preset(config, arg)
    if arg in (None, "", "demo"):
        config.train.num_steps = 3000  # the measured demo (about 12 minutes)
    elif arg == "ring":
        # As the WGAN-GP ring preset: the Lipschitz-limited critic needs wider nets and a 2-D z
        # to push samples off the bridges between modes within the step budget.
        config.gan.n_critic = 5
        config.data.batch_size = 5 * 64
        config.model.hidden = 128
        config.model.latent_dim = 2
        for o in (config.optim, config.d_optim):
            o.b2 = 0.9
    config.lock()
    return config
