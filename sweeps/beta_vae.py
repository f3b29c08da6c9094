"""β of the β-VAE (configs/beta_vae.py): the reconstruction–KL trade, three seeds each.

    python -m experiments.sweep --config=configs/beta_vae.py --sweep=sweeps/beta_vae.py \
        --root=runs/beta_vae_sweep --parallel=2

1000 steps per run (the demo's KL warm-up shortened to match) and one held-out evaluation at
the end (the autoencoder's own figures: ELBO, reconstruction MSE, PSNR; no feature
extractor), so the 15 runs take about 20 minutes on a 2-core CPU.
"""

from v101jax.training.sweep import fixed, grid, product


def get_sweep():
    return product(
        fixed(
            {
                "train.num_steps": 1000,
                "autoencoder.kl_warmup_steps": 250,
                "eval.every_steps": 1000,
                "eval.extractor": "none",
                "train.sample_every": 1000,
            }
        ),
        grid({"autoencoder.beta": [0.25, 1.0, 4.0, 16.0, 64.0], "seed": [0, 1, 2]}),
    )
