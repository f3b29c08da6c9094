"""StarGAN (Choi et al. 2018): one generator translates garments into any of the 10 classes.

    python -m experiments.main --config=configs/stargan.py --workdir=runs/stargan

Data: Fashion-MNIST, its 10 classes as the domains (any labelled image source works: set
data.source; K = its number of classes). Grids show source | translation pairs of held-out
garments, target domains 0 … 9 in turn (with 100 images, column j of a row is domain j).

Presets (`--config=configs/stargan.py:NAME`):
  (none)   CPU demo: G width 16 with 3 residual blocks, D width 32 with 2 stride-2 layers,
           5 D updates of 8 images per G update, 2000 G steps (2.8–3.6 steps/s on 2 CPU
           cores shared with other jobs: about 12 minutes). Deviations from the paper, for
           a demo this short: Adam 2e-4 (paper 1e-4), an EMA of G's weights (0.999) and
           λ_rec = 2.5 (paper 10). Pilot runs, 1000 steps, 500 held-out translations:
           λ_rec 10 at 1e-4 gave fmnist_fd 138, domain accuracy 0.87; at 2e-4 with the EMA
           134 and 0.89; λ_rec 2.5 with both 92.5 and 0.96. At λ_rec = 10 the translations
           stay covered in a high-frequency texture, still at 2000 steps (fmnist_fd 125,
           round-trip L1 0.15 against 0.19 here): the stronger round trip makes G hide more
           of the source in it than the small D removes.
  smoke    two steps at tiny widths (2 D updates per G update); used by the tests.
  gpu      the paper's sizes: widths 64, 6 residual blocks, D batch 16 (data.batch_size
           5 · 16 = 80), 2 stride-2 D layers at 28 × 28 (the paper's 6 need 128 × 128), 40k
           G steps (the paper's 200k D iterations).
The demo took 11.6 min wall on the busy 2-core machine (3.2 steps/s after compilation).
`experiments.evaluate` on 1000 held-out translations (target domains 0 … 9 in turn):
fmnist_fd 72.2, domain accuracy 0.986 by the shipped classifier (0.914 on the sources
themselves), round-trip L1 0.189. Its grids show the requested class's silhouette for every
source, with a mottled texture and little of the source's look: the source is carried for
the round trip in that texture rather than in visible features.
`--config.stargan.cls_weight=0` trains without the domain-classification term (G then has
no reason to reach the requested domain); `--config.stargan.targets=other` never asks for
the source's own domain.
"""

from configs import base


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "stargan"
    config.data.source = "fashion_mnist"  # domains = the source's label classes

    config.model.channels = 64  # G's first width (reference g_conv_dim); ×2, ×4 inside
    config.model.num_res_blocks = 6  # G's residual blocks at 1/4 size (reference: 6)

    config.stargan = s = base.ml_collections.ConfigDict()
    s.cls_weight = 1.0  # λ_cls of both domain-classification terms (paper: 1)
    s.rec_weight = 10.0  # λ_rec of G's reconstruction L1 (paper: 10)
    s.gp_weight = 10.0  # λ_gp of D's gradient penalty (paper: 10)
    s.n_critic = 5  # D updates per G update, each on data.batch_size / n_critic images
    # Unroll the n_critic updates in the program (True) or loop with lax.scan (False: smaller
    # program, faster compile; XLA's CPU convolutions run several times slower in a loop).
    s.unroll_critic = True
    s.targets = "permute"  # permute (the batch's labels, reference) | other (never c′)
    s.disc_channels = 64  # D's first width (reference d_conv_dim), doubling per layer
    # D's 4×4 stride-2 layers (reference: 6 at 128×128); image sizes must be multiples of
    # 2^disc_layers, so 28×28 allows 1 or 2 (source scores 14×14 or 7×7).
    s.disc_layers = 2

    # Adam 1e-4, β = (0.5, 0.999) for both networks; no clipping, no EMA (as the reference).
    o = config.optim
    o.learning_rate = 1e-4
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
        for o in (config.optim, config.d_optim):
            o.learning_rate = 2e-4
        config.optim.ema_decay = 0.999
        config.stargan.rec_weight = 2.5
        config.model.channels = 16
        config.model.num_res_blocks = 3
        config.stargan.disc_channels = 32
        config.data.batch_size = 5 * 8
        config.train.num_steps = 2000
        config.train.log_every = 100
        config.train.checkpoint_every = 1000
        config.train.sample_every = 1000
        config.train.num_sample_images = 100
        config.sample.num_samples = 100
    elif arg == "smoke":
        base.apply_smoke_training(config)
        config.data.batch_size = 2 * 4
        config.stargan.n_critic = 2
        config.model.channels = 4
        config.model.num_res_blocks = 1
        config.stargan.disc_channels = 4
    elif arg == "gpu":
        config.data.batch_size = 5 * 16
        config.train.num_steps = 40_000
        config.train.log_every = 500
        config.train.checkpoint_every = 5000
        config.train.sample_every = 5000
        config.train.num_sample_images = 100
        config.sample.num_samples = 100
    else:
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, smoke, gpu")
