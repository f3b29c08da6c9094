"""Algorithm registry: `config.algorithm` → its `Algorithm` (v101jax/algorithms/contract.py).

Every algorithm module ends with one `ALGORITHM = Algorithm(...)` that names its three
required functions (init, train_step, sample) and declares its optional hooks; the training
loop and the commands call only those, so they never branch on algorithm names.
"""

from v101jax.algorithms import (
    autoencoder,
    cyclegan,
    diffusion,
    fast_style,
    gan,
    latent_diffusion,
    pix2pix,
    progan,
    progressive_distillation,
    score_sde,
    srgan,
    stargan,
    stylegan,
    super_resolution,
    text_gan,
    text_upsampler,
    vqvae,
    vqvae_prior,
)
from v101jax.algorithms.contract import Algorithm
from v101jax.core.errors import ConfigError

REGISTRY: dict[str, Algorithm] = {
    module.ALGORITHM.name: module.ALGORITHM
    for module in (
        autoencoder,
        cyclegan,
        diffusion,
        fast_style,
        gan,
        latent_diffusion,
        pix2pix,
        progan,
        progressive_distillation,
        score_sde,
        srgan,
        stargan,
        stylegan,
        super_resolution,
        text_gan,
        text_upsampler,
        vqvae,
        vqvae_prior,
    )
}


def get_algorithm(name: str) -> Algorithm:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"algorithm={name!r} is not registered; choose one of: {', '.join(sorted(REGISTRY))}"
        ) from None


def num_sample_classes(config) -> int:
    """Classes a config's samples are conditioned on (inputs["labels"]); 0 = unconditional."""
    return get_algorithm(config.algorithm).classes(config)
