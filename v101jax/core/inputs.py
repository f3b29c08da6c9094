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


def source_images(config, inputs, num_samples: int, *, does: str, what: str = "images"):
    """inputs["source"] of an algorithm that maps images (its only input), checked to be
    [num_samples, H, W, C]; a ConfigError saying that the algorithm `does` (e.g. "translates
    images") when it is missing or malformed."""
    (source,) = take_inputs(config, inputs, "source")
    if source is None:
        raise ConfigError(
            f"{config.algorithm} {does}: sample needs inputs={{'source': {what} "
            "[N, H, W, C]} (grids and evaluations take them from the held-out split)"
        )
    if source.ndim != 4 or source.shape[0] != num_samples:
        raise ConfigError(
            f"inputs['source'] has shape {tuple(source.shape)}; expected "
            f"{num_samples} {what} [{num_samples}, H, W, C]"
        )
    return source


def one_domain_translation(config, source, target_domain, *, has: str) -> dict:
    """The `translation_inputs` of an algorithm with one output domain: {"source": source};
    a ConfigError saying that it `has` one (e.g. "one style") for any target_domain."""
    if target_domain is not None:
        raise ConfigError(
            f"a {config.algorithm} run has {has}: it takes no --target_domain"
        )
    return {"source": source}
