"""Conditional GAN (Mirza & Osindero 2014): G and D see a label embedding.

    python -m experiments.main --config=configs/cgan.py --workdir=runs/cgan
    python -m experiments.main --config=configs/cgan.py --workdir=runs/cgan_proj \
        --config.gan.conditioning=projection

G concatenates an embedding of the class to z; D concatenates it to its input (image
channels), or with gan.conditioning=projection adds ⟨embed(y), φ(x)⟩ to its score (projection
discriminator, Miyato & Koyama 2018). Sample grids cycle through the classes 0…9.

Presets: (none) CPU demo on Fashion-MNIST, smoke, ring (label k = mode k; the learning test),
cifar10.

The CPU demo (3000 steps, batch 64) took 15 minutes on 2 CPU cores shared with two other jobs
(2.3-3.6 steps/s); its grid shows the asked-for class in most cells (blurred, checkered),
fmnist_fd 45.0 and class accuracy 0.76 on 1000 samples (benchmarks/RESULTS.md).
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    config.gan.conditioning = "concat"
    gan_base.apply_image_preset(config, arg)
    if arg in (None, "", "demo"):
        config.train.num_steps = 3000  # the measured demo (about 15 minutes)
    elif arg == "smoke":
        config.data.batch_size = 10
        config.gan.diversity_samples = 10
        config.train.num_sample_images = 10
    config.lock()
    return config
