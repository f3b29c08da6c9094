"""GigaGAN's text-conditioned upsampler (Kang et al. 2023, §3.5): 16 → 32 px on Fashion-MNIST.

    python -m experiments.main --config=configs/gigagan.py --workdir=runs/gigagan
    python -m experiments.main --config=configs/gigagan_upsampler.py \\
        --workdir=runs/gigagan_upsampler --config.upsampler.base_workdir=runs/gigagan
    python -m experiments.sample --workdir=runs/gigagan_upsampler --prompt="a dark coat"
    python -m experiments.evaluate --workdir=runs/gigagan_upsampler --sampler=bicubic

Algorithm text_upsampler (v101jax/algorithms/text_upsampler.py): an asymmetric U-Net whose
upsampling half is the GigaGAN generator's (style from z and the caption, cross-attention to
its tokens at 8 and 16 px), trained on real images pooled to 16 px, with the multi-scale,
matching-aware discriminator, R1 and an L1 reconstruction term. The base is the gigagan run:
its 16 px pyramid level is the input, as the paper's 64 px base generator feeds its upsampler.
`--sampler` picks what makes the 32 px image from the base samples: upsampler (default),
bicubic (the baseline) or base (the base generator's own 32 px level).

Presets: (none) CPU demo, smoke.
"""

import ml_collections

from configs import gigagan


def get_config(arg=None):
    if arg not in (None, "", "demo", "smoke"):
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, smoke")
    config = gigagan.get_config(arg)  # the base's networks, data and optimisers
    with config.unlocked():
        config.algorithm = "text_upsampler"
        m = config.model
        m.name = "gigagan_upsampler"
        m.upsample_factor = 2  # 16 → 32 px
        g = config.gan
        # GAN-INT's interpolated captions do not fit a source image that shows one garment.
        g.interpolation_weight = 0.0
        # pix2pix weighs its L1 term 100 against the adversarial loss, SRGAN its content
        # term 1000; 10 leaves the adversarial term room to add texture.
        g.reconstruction_weight = 10.0
        config.upsampler = u = ml_collections.ConfigDict()
        u.base_workdir = ""  # a finished gigagan run whose samples are upsampled
        u.base = ml_collections.ConfigDict()  # filled from that run's config.json
        # What makes the full-size image: upsampler | bicubic | base (--sampler).
        config.sample.sampler = "upsampler"
    if arg != "smoke":
        config.train.num_steps = 2000
    config.lock()
    return config
