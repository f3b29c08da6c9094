"""CycleGAN (Zhu et al. 2017): unpaired sneaker ↔ ankle boot translation on Fashion-MNIST.

    python -m experiments.main --config=configs/cyclegan.py --workdir=runs/cyclegan

Data: `fashion_domains`, Fashion-MNIST split by class into two unpaired domains (A = class
data.domain_classes[0], B = data.domain_classes[1]; 6,000 training images each), each shuffled
on its own. Grids show held-out A images beside their translations into B, then B → A.

Presets (`--config=configs/cyclegan.py:NAME`):
  (none)   CPU demo: width 16, 3 residual blocks, batch 8, 10,000 steps (20–35 minutes on 2
           cores), no identity term (sneakers and boots differ in shape, and the identity
           term holds G near the identity: at 2000 steps with it, 0.72 / 0.62 target-class
           accuracy; without it 0.97 / 0.86 at 3000 steps, 0.97 / 0.91 at 10,000, cycle L1
           0.06 / 0.08; benchmarks/RESULTS.md).
  smoke    two steps at tiny widths; used by the tests.
  gpu      the paper's networks: width 64, 9 residual blocks, batch 1 as in the paper,
           200k steps (about 33 epochs of 6,000 images).
  horse2zebra  the paper's run on TFDS cycle_gan/horse2zebra (any cycle_gan/* set with
           --config.data.tfds_name): 256×256 RGB, 9 blocks, 70×70 PatchGANs, identity
           0.5·λ, batch 1, 200 epochs. Evaluation reports cycle L1 both ways.
Own data: `--config.data.source=unpaired_folder --config.data.folder=DIR` with DIR/trainA,
trainB, testA, testB (CycleGAN's layout), and data.image_size / data.channels to match.
`--config.cyclegan.cycle_weight=0` removes the cycle term; `--config.cyclegan.pool_size=0`
the image pool.
"""

from configs import base


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "cyclegan"
    config.data.source = "fashion_domains"
    config.data.domain_classes = (7, 9)  # sneaker ↔ ankle boot
    config.data.random_flip = True  # the reference flips horizontally

    config.model.channels = (
        64  # generator's first width; the discriminators' first width
    )

    config.cyclegan = c = base.ml_collections.ConfigDict()
    c.cycle_weight = 10.0  # λ_cyc, for each direction (paper: 10)
    c.identity_weight = 0.5  # λ_id relative to λ_cyc (paper's code: 0.5)
    c.adversarial_weight = 1.0  # weight of the two generators' LSGAN terms
    c.pool_size = 50  # past fakes per discriminator (paper: 50); 0 = none
    c.res_blocks = 9  # residual blocks of the generator (paper: 9 at 256 px, 6 at 128)
    # Stride-2 layers of the PatchGAN: 1 → 16×16 receptive field, 3 → the paper's 70×70.
    c.disc_layers = 1

    # Adam 2e-4, β₁ = 0.5, constant for the first half, then linearly to 0 (as in the paper).
    o = config.optim
    o.learning_rate = 2e-4
    o.b1 = 0.5
    o.b2 = 0.999
    o.schedule = "linear_decay"
    o.decay_steps = 0  # half of train.num_steps
    o.end_lr_fraction = 0.0
    o.grad_clip_norm = 0.0
    o.ema_decay = 0.0
    config.d_optim = config.optim.copy_and_resolve_references()

    _apply_preset(config, arg)
    config.lock()
    return config


def _apply_preset(config, arg):
    if arg in (None, "", "demo"):
        config.data.batch_size = 8
        config.model.channels = 16
        config.cyclegan.res_blocks = 3
        config.cyclegan.identity_weight = 0.0
        config.train.num_steps = 10_000
        config.train.log_every = 100
        config.train.checkpoint_every = 1000
        config.train.sample_every = 2500
        config.train.num_sample_images = 32
        config.sample.num_samples = 32
    elif arg == "smoke":
        base.apply_smoke_training(config)
        config.model.channels = 4
        config.cyclegan.res_blocks = 1
        config.cyclegan.pool_size = 4
    elif arg == "horse2zebra":
        # The paper's horse ↔ zebra run from TFDS (cycle_gan/horse2zebra, prepared where it
        # can be downloaded; data.tfds_data_dir names it here): 256×256 RGB, 9 residual
        # blocks, 70×70 PatchGANs, the identity term, batch 1, 200 epochs of 1,334 images.
        data = config.data
        data.source = "tfds_domains"
        data.tfds_name = "cycle_gan/horse2zebra"
        data.image_size = 256
        data.channels = 3
        data.batch_size = 1
        config.cyclegan.disc_layers = 3
        config.train.num_steps = 266_800
        config.train.log_every = 1000
        config.train.checkpoint_every = 10_000
        config.train.sample_every = 10_000
        config.eval.num_samples = 240  # testA holds 120 horses, testB 140 zebras
        config.eval.batch_size = 40
    elif arg == "gpu":
        config.data.batch_size = 1
        config.train.num_steps = 200_000
        config.train.log_every = 1000
        config.train.checkpoint_every = 10_000
        config.train.sample_every = 10_000
    else:
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: demo, smoke, gpu, horse2zebra"
        )
