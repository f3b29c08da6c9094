"""SRGAN (Ledig et al. 2017), and SRResNet, its MSE-trained generator.

    python -m experiments.main --config=configs/srgan.py:srresnet --workdir=runs/srresnet
    python -m experiments.main --config=configs/srgan.py --workdir=runs/srgan \\
        --config.srgan.generator_workdir=runs/srresnet
    python -m experiments.upscale --workdir=runs/srgan --inputs=bundled --out=runs/srgan/x3

RGB crops of the bundled photos (five held out). The content loss uses config.perceptual:
offline, the labelled random VGG-19 fallback (its features are not VGG's, so neither are its
textures); with torchvision's weights converted once (experiments.convert_vgg_weights),
`--config.perceptual.network=vgg19 --config.perceptual.weights=vgg19.npz` is the paper's VGG54.
On the random features the paper's content term alone loses colour and dark levels
(benchmarks/RESULTS.md): add `--config.srgan.pixel_weight=1` (leftthomas/SRGAN's pixel MSE).

Presets (`--config=configs/srgan.py:NAME`):
  (none)    CPU demo at ×3: SRResNet of 8 blocks × 32 channels, 48×48 crops (16×16 input),
            batch 16, 1000 steps (about 30 minutes) from the srresnet preset's run when
            generator_workdir is set
  srresnet  the generator alone on pixel MSE (algorithm super_resolution), same sizes,
            6000 steps: the SRResNet row of the tables and SRGAN's initialisation
  paper     the paper's ×4: 16 blocks × 64, 96×96 crops, batch 16, Adam 1e-4, 2·10⁵ updates
            (the paper: 10⁵ at 1e-4, then 10⁵ at 1e-5), VGG-19 relu5_4 with converted weights
  srresnet_paper   its generator: 10⁶ MSE updates at 1e-4
  smoke, srresnet_smoke   two steps, tiny (the tests')
"""

from configs import sr_base
from v101jax import perceptual


def get_config(arg=None):
    srresnet = arg in ("srresnet", "srresnet_smoke", "srresnet_paper")
    config = sr_base.get_sr_base_config("srresnet")
    if not srresnet:
        config.algorithm = "srgan"
    data = config.data
    data.channels = 3
    data.image_size = 48
    data.crop_stride = 24
    data.batch_size = 16
    s = config.sr
    s.channels = 32
    s.num_blocks = 8
    s.batch_norm = True

    config.srgan = g = sr_base.base.ml_collections.ConfigDict()
    g.generator_workdir = (
        ""  # a finished super_resolution run to start G from ("" = none)
    )
    g.generator = sr_base.base.ml_collections.ConfigDict()  # filled from that run
    g.content = "vgg"  # vgg (feature MSE on content_layer) | mse (pixels)
    g.content_layer = "relu5_4"  # VGG54, the paper's
    g.content_weight = 1.0
    # Features are scaled by this before the MSE. The paper's 1/12.75 suits VGG's
    # activations; the random fallback's relu5_4 is far smaller (mean square 0.16 on these
    # crops; bicubic's feature MSE 0.004, 5× the adversarial term's 1e-3 · 0.7), so 1 here.
    g.feature_scale = 1.0
    g.adversarial_weight = 1e-3
    g.pixel_weight = 0.0  # + pixel MSE (leftthomas/SRGAN: 1)
    g.tv_weight = 0.0  # + total variation (leftthomas/SRGAN: 2e-8)
    g.disc_channels = 64  # D's first width (64 … 512)
    g.disc_dense = 1024
    g.disc_batch_norm = True
    config.perceptual = perceptual.default_config("random_vgg19")
    config.perceptual.pooling = "max"  # VGG's own, as the SR references use it

    o = config.optim
    o.learning_rate = 1e-4
    o.b1 = 0.9
    config.d_optim = o.copy_and_resolve_references()

    t = config.train
    t.num_steps = 6000 if srresnet else 1000
    t.log_every = 100
    t.checkpoint_every = 1000 if srresnet else 500
    t.sample_every = 1500 if srresnet else 500
    config.eval.every_steps = 1000 if srresnet else 500
    if srresnet:
        sr_base.use_cosine_adam(config)  # minutes, not days
    if arg in ("smoke", "srresnet_smoke"):
        sr_base.apply_smoke(config)
        data.image_size = 24
        s.channels = 8
        s.num_blocks = 1
        g.disc_channels = 4
        g.disc_dense = 8
        g.content_layer = "relu2_2"  # VGG22 (the paper's other variant): a 4-layer φ
        config.eval.num_samples = 8
        config.eval.batch_size = 8
    elif arg in ("paper", "srresnet_paper"):
        data.downscale = 4
        data.image_size = 96
        data.crop_stride = 48
        s.channels = 64
        s.num_blocks = 16
        config.perceptual.network = "vgg19"
        config.perceptual.weights = (
            "vgg19.npz"  # experiments.convert_vgg_weights' output
        )
        g.feature_scale = 1 / 12.75
        o.learning_rate = 1e-4
        o.schedule = "constant"
        # The paper drops SRGAN's rate to 1e-5 for its second 10⁵ updates; constant here.
        t.num_steps = 1_000_000 if srresnet else 200_000
        t.log_every = 1000
        t.checkpoint_every = 10_000
        t.sample_every = 10_000
        config.eval.every_steps = 10_000
    elif arg not in (None, "", "demo", "srresnet"):
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: demo, srresnet, paper, "
            "srresnet_paper, smoke, srresnet_smoke"
        )
    config.d_optim = o.copy_and_resolve_references()
    config.lock()
    return config
