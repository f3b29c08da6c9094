"""v101jax: classic image-generation models in JAX/Flax, trained from one config."""

import os

import jax

__version__ = "0.1.0"

# XLA's CPU compiler takes an order of magnitude longer on the partitionable form of
# threefry that jax uses by default (CycleGAN's smoke-size init: 73 s → 7 s to compile;
# benchmarks/RESULTS.md). Parameters here are replicated, so the non-partitionable form costs
# nothing. Setting JAX_THREEFRY_PARTITIONABLE in the environment keeps the user's choice.
if "JAX_THREEFRY_PARTITIONABLE" not in os.environ:
    jax.config.update("jax_threefry_partitionable", False)
