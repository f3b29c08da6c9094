"""Reading the `inputs` dict of a `sample` call (v101jax/algorithms/contract.py).

Here, below both `algorithms` and `diffusion`, so every sampler reads its inputs one way.
"""

from v101jax.core.errors import ConfigError


def take_inputs(config, inputs, *names: str) -> tuple:
    """The `names` entries of a `sample` call's `inputs` (None where absent), in order; a
    ConfigError naming the algorithm for any other entry."""
    inputs = dict(inputs or {})
    values = tuple(inputs.pop(name, None) for name in names)
    if inputs:
        takes = (
            f"takes inputs {', '.join(repr(n) for n in names)} only"
            if names
            else "samples unconditionally; it takes no inputs"
        )
        raise ConfigError(
            f"algorithm {config.algorithm!r} {takes} (got {sorted(inputs)})"
        )
    return values
