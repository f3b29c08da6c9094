"""LSGAN (Mao et al. 2017): least-squares losses (a = 0, b = c = 1) on the DCGAN networks.

    python -m experiments.main --config=configs/lsgan.py --workdir=runs/lsgan

Presets: (none) CPU demo on Fashion-MNIST, smoke, ring, cifar10, celeba64 (as configs/dcgan.py).
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    config.gan.loss = "lsgan"
    gan_base.apply_image_preset(config, arg)
    config.lock()
    return config
