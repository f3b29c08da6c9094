"""DCGAN (Radford et al. 2016): strided-convolution G with batch norm, LeakyReLU D, Adam β₁ 0.5.

    python -m experiments.main --config=configs/dcgan.py --workdir=runs/dcgan

Non-saturating loss; generator EMA for sampling.

Presets (`--config=configs/dcgan.py:NAME`):
  (none)    CPU demo on Fashion-MNIST 28×28, 4000 steps (~15 min on 2 busy CPU cores).
  smoke     two steps at tiny widths; used by the tests.
  ring      2-D ring of 8 Gaussians with MLP networks (learning tests).
  cifar10   32×32 CIFAR-10 through TFDS, batch 128, z of 100, width 128 (GPU).
  celeba64  64×64 CelebA through TFDS, batch 128, z of 100, width 64…512 (GPU).
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    config.gan.loss = "non_saturating"
    gan_base.apply_image_preset(config, arg)
    config.lock()
    return config
