"""Perceptual features (VGG with converted weights, or a labelled random fallback) and the
losses built on them: Gram-matrix style, feature content, total variation."""

import ml_collections


def default_config(network: str = "random_vgg19", weights: str = ""):
    """A config.perceptual section (v101jax.perceptual.features): `network`, `weights`,
    average pooling, seed 0. Here, free of JAX, so that config files can use it."""
    return ml_collections.ConfigDict(
        {"network": network, "weights": weights, "pooling": "avg", "seed": 0}
    )
