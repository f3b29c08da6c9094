"""Conditional GAN (Mirza & Osindero 2014): G and D see a label embedding.

    python -m experiments.main --config=configs/cgan.py --workdir=runs/cgan
    python -m experiments.main --config=configs/cgan.py --workdir=runs/cgan_proj \
        --config.gan.conditioning=projection

G concatenates an embedding of the class to z; D concatenates it to its input (image
channels), or with gan.conditioning=projection adds ⟨embed(y), φ(x)⟩ to its score (projection
discriminator, Miyato & Koyama 2018). Sample grids cycle through the classes 0…9.

Presets: (none) CPU demo on Fashion-MNIST, smoke, ring (label k = mode k; the learning test),
cifar10.
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    config.gan.conditioning = "concat"
    gan_base.apply_image_preset(config, arg)
    if arg == "smoke":
        config.data.batch_size = 10
        config.gan.diversity_samples = 10
        config.train.num_sample_images = 10
    config.lock()
    return config
