"""Variational autoencoder (Kingma & Welling 2014) on Fashion-MNIST.

    python -m experiments.main --config=configs/vae.py --workdir=runs/vae
    python -m experiments.reconstruct --workdir=runs/vae   # test ELBO/IWAE, figure grids

A Gaussian encoder q(z|x) = N(μ, diag σ²), a Bernoulli decoder (BCE on grey levels; use
`--config.autoencoder.likelihood=gaussian` for a Gaussian decoder with learned σ) and the
closed-form KL to N(0, I). Samples decode z ~ N(0, I).

Presets (`--config=configs/vae.py:NAME`): (none) the CPU demo (10 minutes on a
shared 2-core CPU, about 4 on an idle one),
smoke (seconds; tests), gpu (wider, 32-d latent, 20k steps). Presets as configs/ae.py.
"""

from configs import ae


def get_config(arg=None):
    config = ae.autoencoder_config("vae", arg)
    config.autoencoder.likelihood = "bernoulli"
    config.lock()
    return config
