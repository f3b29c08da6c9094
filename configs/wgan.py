"""WGAN (Arjovsky et al. 2017): Wasserstein critic with weight clipping (paper: ±0.01), RMSProp.

    python -m experiments.main --config=configs/wgan.py --workdir=runs/wgan

Five critic updates per generator update; each takes data.batch_size / 5 real images (the
paper's critic batch is 64, so the GPU presets use data.batch_size = 320). Logs the critic's
Wasserstein estimate (train/wasserstein_estimate).

Presets: (none) CPU demo on Fashion-MNIST (critic batch 32), smoke, ring, cifar10, celeba64.

The paper's critic has batch norm; this one has none (it scores real and generated images in one
call), and under the paper's clip of 0.01 and RMSProp 5e-5 it stayed weak: fmnist_fd 127 after
10 000 steps, grey blobs. The CPU demo clips at 0.05 with RMSProp 2e-4 (fmnist_fd 76 at 6000
steps, and falling) and trains 10 000 steps (GPU sweep in benchmarks/RESULTS.md): 30 minutes on
the 2-core CPU beside another run, rough but recognisable garments, fmnist_fd 62.7 on 1000
samples. The GPU presets keep the paper's values.
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
    else:  # the CPU demo: 10 000 generator steps are 50 000 critic updates
        config.data.batch_size = 5 * 32
        config.gan.clip_value = 0.05
        config.train.num_steps = 10_000
        config.train.sample_every = 2500
        for o in (config.optim, config.d_optim):
            o.learning_rate = 2e-4
    config.lock()
    return config
