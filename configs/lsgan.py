"""LSGAN (Mao et al. 2017): least-squares losses (a = 0, b = c = 1) on the DCGAN networks.

    python -m experiments.main --config=configs/lsgan.py --workdir=runs/lsgan

Presets: (none) CPU demo on Fashion-MNIST, smoke, ring, cifar10, celeba64 (as configs/dcgan.py).

The CPU demo (4000 steps, batch 64) took 15 minutes on 2 CPU cores shared with two other jobs
(4.3-4.7 steps/s); its samples are recognisable garments of most classes, some smeared, and
scored fmnist_fd 53.6 on 1000 samples (benchmarks/RESULTS.md).
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    config.gan.loss = "lsgan"
    gan_base.apply_image_preset(config, arg)
    config.lock()
    return config
