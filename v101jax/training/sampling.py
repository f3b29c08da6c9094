"""Drawing many samples from a state in fixed-size compiled chunks, as host arrays."""

import functools
from collections.abc import Iterator

import jax
import numpy as np

from v101jax.algorithms import get_algorithm


def to_host(x) -> np.ndarray:
    """A replicated global array as numpy (works when other processes hold copies too)."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        x = x.addressable_data(0)
    return np.asarray(jax.device_get(x))


def chunked_sampler(config, out_shardings=None, **options):
    """(state, key, n) → n samples; one compiled program per distinct n (at most two are
    used by `sample_chunks`: full chunks and the remainder). `options` go to the
    algorithm's `sample` (sampler, num_steps, eta, …)."""
    algorithm = get_algorithm(config.algorithm)
    compiled = {}

    def sample(state, key, n: int):
        if n not in compiled:
            compiled[n] = jax.jit(
                functools.partial(algorithm.sample, config, num_samples=n, **options),
                out_shardings=out_shardings,
            )
        return compiled[n](state, key)

    return sample


def sample_chunks(
    sample, state, num_samples: int, batch_size: int, key
) -> Iterator[np.ndarray]:
    """Yields `num_samples` samples as host arrays of ≤ `batch_size`; chunk i uses
    fold_in(key, i), so the samples depend only on (key, batch_size, num_samples)."""
    for i, start in enumerate(range(0, num_samples, batch_size)):
        n = min(batch_size, num_samples - start)
        yield to_host(sample(state, jax.random.fold_in(key, i), n))
