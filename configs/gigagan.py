"""GigaGAN-style text-to-image GAN (Kang et al. 2023), sized for Fashion-MNIST on a CPU.

    python -m experiments.main --config=configs/gigagan.py --workdir=runs/gigagan
    python -m experiments.sample --workdir=runs/gigagan --prompt="a small dark ankle boot"

The text_gan algorithm with model.name="gigagan" (v101jax/models/gigagan.py): a StyleGAN2
generator whose style comes from z and the caption's pooled code, with cross-attention to the
caption's token features at 8 and 16 px; it returns its to-RGB pyramid (8, 16, 32 px), and a
multi-scale discriminator judges each level, with a projection term for the text match. The
losses are text_gan's: the matching-aware D loss, R1 on real images with their captions
(GigaGAN's), and GAN-INT's interpolated captions for G. Captions as configs/text_gan.py
(data.captions="templates"); the images are padded to 32×32 (data.pad 2).

Presets: (none) CPU demo on Fashion-MNIST, smoke. The demo (3000 steps, batch 32) took 32
minutes on 2 cores with tests beside it: fmnist_fd 23.0 and class accuracy 0.87 on 1000
samples of held-out captions (GAN-CLS: 47.9, 0.79; benchmarks/RESULTS.md).

The paper's second stage, a text-conditioned upsampler, is configs/gigagan_upsampler.py: it
lifts this run's 16 px pyramid level to 32 px (--config.upsampler.base_workdir=runs/gigagan).

Left out of the paper's design, for size (v101jax/models/gigagan.py): the adaptive kernel
bank, self-attention and the contrastive loss.
"""

from configs import base, text_gan


def get_config(arg=None):
    config = text_gan.text_gan_base_config()
    base.use_progressive_gan_training(config)  # 32×32 padded data, Adam β (0, 0.99)
    config.data.batch_size = 32
    m = config.model
    m.name = "gigagan"
    m.widths = (64, 64, 32, 16)  # channels of the levels 4, 8, 16, 32 px
    m.latent_dim = 64
    m.w_dim = 128
    m.mapping_layers = 4
    m.cross_attention_levels = (
        1,
        2,
    )  # levels (8 and 16 px) with cross-attention to tokens
    m.num_heads = 2  # of the cross-attention
    m.pyramid_levels = 3  # the finest levels D judges: 8, 16 and 32 px
    m.minibatch_std = 4
    config.gan.r1_gamma = 0.1  # γ of R1 on real images with their captions
    if arg in (None, "", "demo"):
        config.train.num_steps = 3000
        config.train.log_every = 100
    elif arg == "smoke":
        base.apply_smoke_training(config)
        m.widths = (8, 8, 8, 8)
        m.latent_dim = m.w_dim = 8
        m.mapping_layers = 2
        m.minibatch_std = 2
        m.pyramid_levels = 2
        config.text.width = 16
        config.text.num_layers = 1
        config.text.code_dim = 16
    else:
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, smoke")
    config.lock()
    return config
