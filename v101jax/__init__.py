"""v101jax: classic image-generation models in JAX/Flax, trained from one config."""

__version__ = "0.1.0"
