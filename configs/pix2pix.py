"""Pix2Pix (Isola et al. 2017): edges → garments with a U-Net G, a PatchGAN D, cGAN + 100·L1.

    python -m experiments.main --config=configs/pix2pix.py --workdir=runs/pix2pix

Data: `fashion_edges`, Fashion-MNIST images (targets) paired with their binary Sobel edge maps
(sources), computed at load time. Grids show source | output pairs of held-out edge maps.

Presets (`--config=configs/pix2pix.py:NAME`):
  (none)   CPU demo: widths 32/64, bottleneck 128, batch 16, 3000 steps (0.1–0.2 s a step on
           2 CPU cores shared with other jobs: about 5–10 minutes).
  smoke    two steps at tiny widths; used by the tests.
  gpu      widths 64/128, bottleneck 256, 2-layer PatchGAN (34×34 field), batch 64, 20k steps.
  facades  the paper's facades run on the user's copy of it (`--config.data.folder=DIR`, DIR
           holding train/ val/ test/ of side-by-side A | B images; any such folder works):
           256×256 RGB, unet_256 (8 levels), 70×70 PatchGAN, batch 1, 80k steps (200 epochs).
           Evaluation reports L1, PSNR and SSIM; a Fréchet distance needs
           eval.inception_weights.
`--config.pix2pix.adversarial_weight=0` trains the L1-only ablation generator.

The demo's 3000 steps took 11.7 min on the busy 2-core machine: held-out PSNR 18.8 dB, SSIM
0.575, L1 0.132; its grids show the garments the edges outline (benchmarks/RESULTS.md).
"""

from configs import base


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "pix2pix"
    config.data.source = "fashion_edges"

    config.model.channels = 32  # G's first encoder width and D's first width (doubling)

    config.pix2pix = p = base.ml_collections.ConfigDict()
    p.l1_weight = 100.0  # λ of the L1 term (paper: 100)
    p.adversarial_weight = 1.0  # weight of G's cGAN loss; 0 = the L1-only ablation
    p.dropout = 0.5  # dropout of G's innermost decoder outputs (training only)
    p.bottleneck = 128  # size of G's innermost vector (the paper's 1×1 level)
    p.levels = 2  # G's stride-2 levels: 2 for 28×28 (28 → 7), 8 for the paper's 256 → 1
    # Stride-2 layers of the PatchGAN: 1 → 16×16 receptive field (14×14 logits on 28×28),
    # 2 → 34×34, 3 → the paper's 70×70.
    p.disc_layers = 1

    # Adam 2e-4, β₁ = 0.5 for both networks; no clipping, no EMA (as in the paper).
    o = config.optim
    o.learning_rate = 2e-4
    o.b1 = 0.5
    o.b2 = 0.999
    o.grad_clip_norm = 0.0
    o.ema_decay = 0.0
    config.d_optim = config.optim.copy_and_resolve_references()

    _apply_preset(config, arg)
    config.lock()
    return config


def _apply_preset(config, arg):
    if arg in (None, "", "demo"):
        config.data.batch_size = 16
        config.train.num_steps = 3000
        config.train.log_every = 100
        config.train.checkpoint_every = 1000
        config.train.sample_every = 1500
        config.train.num_sample_images = 32
        config.sample.num_samples = 32
    elif arg == "smoke":
        base.apply_smoke_training(config)
        config.model.channels = 8
        config.pix2pix.bottleneck = 16
    elif arg == "facades":
        # The paper's facades run: a folder in pix2pix's A | B format (labels | photos, so
        # B → A), 256×256 RGB, unet_256 and the 70×70 PatchGAN, batch 1, 200 epochs of 400.
        # The reference also jitters (resize to 286, random 256 crop); this pipeline flips.
        data = config.data
        data.source = "paired_folder"
        data.folder = ""  # set to the folder holding train/, val/, test/
        data.direction = "BtoA"
        data.image_size = 256
        data.channels = 3
        data.random_flip = True
        data.batch_size = 1
        config.model.channels = 64
        config.pix2pix.levels = 8
        config.pix2pix.bottleneck = 512
        config.pix2pix.disc_layers = 3
        config.train.num_steps = 80_000
        config.train.log_every = 400
        config.train.checkpoint_every = 4000
        config.train.sample_every = 4000
        config.eval.num_samples = 100  # the test split's 106 pairs
        config.eval.batch_size = 50
    elif arg == "gpu":
        config.data.batch_size = 64
        config.model.channels = 64
        config.pix2pix.bottleneck = 256
        config.pix2pix.disc_layers = 2
        config.train.num_steps = 20_000
        config.train.log_every = 500
        config.train.checkpoint_every = 5000
        config.train.sample_every = 5000
    else:
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: demo, smoke, gpu, facades"
        )
