"""Compute dtype from config. Parameters always stay float32."""

import jax.numpy as jnp

from v101jax.core.errors import ConfigError

_DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


def compute_dtype(name: str):
    try:
        return _DTYPES[name]
    except KeyError:
        raise ConfigError(
            f"model.dtype={name!r} is not one of: {', '.join(_DTYPES)}"
        ) from None
