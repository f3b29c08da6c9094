"""β-VAE (Higgins et al. 2017) on Fashion-MNIST: the VAE with the KL term weighted by β = 4,
ramped up linearly over the first 1000 steps (KL annealing).

    python -m experiments.main --config=configs/beta_vae.py --workdir=runs/beta_vae
    python -m experiments.reconstruct --workdir=runs/beta_vae   # traversals: one latent at a time

A larger β trades reconstruction for a lower KL (fewer active, more factorised latents); the
latent traversal grid shows what each dimension controls. Presets as configs/vae.py.
"""

from configs import ae


def get_config(arg=None):
    config = ae.autoencoder_config("vae", arg)
    config.autoencoder.likelihood = "bernoulli"
    config.autoencoder.beta = 4.0
    config.autoencoder.kl_warmup_steps = 0 if arg == "smoke" else 1000
    config.lock()
    return config
