"""The original GAN (Goodfellow et al. 2014) with MLP networks on 2-D toy data.

    python -m experiments.main --config=configs/gan_mlp.py --workdir=runs/gan_mlp

Non-saturating generator loss, Adam (β₁ 0.5); samples are written as density plots.

Presets (`--config=configs/gan_mlp.py:NAME`):
  (none)   ring of 8 Gaussians (radius 2, σ 0.1), 2000 steps (well under a minute on 2 CPU cores).
  grid     5×5 grid of Gaussians (spacing 2, σ 0.1): batch 256, MLP 128×3, z ∈ ℝ², Adam 2e-3
           (β = (0.5, 0.9)) for G and D, 3000 steps; covers 22 of 25 modes (the learning test).
  minimax  the ring with the original (saturating) minimax generator loss.
  unrolled unrolled GAN (Metz et al. 2017) on the ring: D at a tenth of G's learning rate
           (1e-4 against 1e-3, as the paper's ring experiment), 5 look-ahead D updates, 5000
           steps; covers all 8 modes where the same settings with gan.unroll_steps=0 collapse.
  smoke    two steps; used by the tests.
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    gan_base.apply_ring_preset(config)
    if arg == "grid":
        # At the ring's sizes (batch 128, width 64, Adam 1e-3) 4000 steps covered 5 of 25
        # modes; the wider nets, batch 256 and a faster Adam with β₂ 0.9 cover 22 in 3000.
        config.data.source = "grid"
        config.data.batch_size = 256
        config.model.hidden = 128
        config.model.latent_dim = 2
        for o in (config.optim, config.d_optim):
            o.learning_rate = 2e-3
            o.b2 = 0.9
        config.train.num_steps = 3000
    elif arg == "minimax":
        config.gan.loss = "minimax"
    elif arg == "unrolled":
        config.d_optim.learning_rate = 1e-4
        config.gan.unroll_steps = 5
        config.train.num_steps = 5000
    elif arg == "smoke":
        config.data.batch_size = 32
        config.model.hidden = 32
        config.train.num_steps = 2
        config.train.log_every = 1
        config.train.checkpoint_every = 2
        config.train.sample_every = 2
        config.train.num_sample_images = 64
        config.gan.diversity_samples = 16
    elif arg not in (None, "", "ring"):
        raise ValueError(
            f"unknown preset {arg!r}; choose one of: ring, grid, minimax, unrolled, smoke"
        )
    config.lock()
    return config
