"""WGAN (Arjovsky et al. 2017): Wasserstein critic, weight clipping to ±0.01, RMSProp 5e-5.

    python -m experiments.main --config=configs/wgan.py --workdir=runs/wgan

Five critic updates per generator update; each takes data.batch_size / 5 real images (the
paper's critic batch is 64, so the GPU presets use data.batch_size = 320). Logs the critic's
Wasserstein estimate (train/wasserstein_estimate).

Presets: (none) CPU demo on Fashion-MNIST (critic batch 32), smoke, ring, cifar10, celeba64.

The CPU demo's 2000 generator steps (10 000 critic updates) took 6 minutes on 2 CPU cores with
one other job beside it (5.7-6.8 steps/s) and are far from enough: the grid shows grey blobs, no
garments, fmnist_fd 239 on 1000 samples, and the clipped critic's Wasserstein estimate had
fallen to 0.04 (benchmarks/RESULTS.md). WGAN learns slowly at the paper's RMSProp 5e-5.
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    config.gan.loss = "wasserstein"
    config.gan.clip_value = 0.01
    config.gan.n_critic = 5
    for o in (config.optim, config.d_optim):
        o.name = "rmsprop"
        o.learning_rate = 5e-5
        o.b2 = 0.9  # RMSProp's squared-gradient decay
    gan_base.apply_image_preset(config, arg)
    if arg == "smoke":
        config.data.batch_size = 10  # critic batch 2
        config.gan.diversity_samples = 2
    elif arg == "ring":
        config.data.batch_size = 5 * 64
        for o in (config.optim, config.d_optim):
            o.learning_rate = 5e-4
    elif arg in ("cifar10", "celeba64"):
        config.data.batch_size = 5 * 64
    else:  # the CPU demo: 2000 generator steps are 10 000 critic updates
        config.data.batch_size = 5 * 32
        config.train.num_steps = 2000
        config.train.sample_every = 500
    config.lock()
    return config
