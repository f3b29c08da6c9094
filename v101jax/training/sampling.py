"""Drawing many samples from a state in fixed-size compiled chunks, as host arrays."""

import functools
from collections.abc import Iterator

import jax
import numpy as np

from v101jax.algorithms import get_algorithm, num_sample_classes
from v101jax.core.errors import ConfigError


def to_host(x) -> np.ndarray:
    """A replicated global array as numpy (works when other processes hold copies too)."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        x = x.addressable_data(0)
    return np.asarray(jax.device_get(x))


def class_labels(config, num_samples: int, classes=None) -> np.ndarray | None:
    """Labels (int32 [num_samples]) for a class-conditional config's samples: 0, 1, …, K−1,
    0, … or, given `classes`, those classes in equal consecutive blocks (the first ones one
    longer when they do not divide evenly); None when its samples take no labels."""
    k = num_sample_classes(config)
    if not k:
        if classes:
            raise ConfigError(
                f"labels were given but this {config.algorithm} run is not "
                "class-conditional"
            )
        return None
    if not classes:
        return np.arange(num_samples, dtype=np.int32) % k
    classes = np.asarray(classes, np.int32)
    if np.any(classes < 0) or np.any(classes >= k):
        raise ConfigError(f"labels {classes.tolist()} must lie in 0 … {k - 1}")
    per_class = -(-num_samples // len(classes))
    return np.repeat(classes, per_class)[:num_samples]


def chunked_sampler(config, out_shardings=None, **options):
    """(state, key, n, labels=None) → n samples; one compiled program per distinct n (at
    most two are used by `sample_chunks`: full chunks and the remainder) and per use of
    labels. `options` go to the algorithm's `sample` (sampler, num_steps, eta, guidance,
    …); `labels` (int [n], class-conditional models) are an argument of the program."""
    algorithm = get_algorithm(config.algorithm)
    compiled = {}

    def sample(state, key, n: int, labels=None):
        if (n, labels is None) not in compiled:
            compiled[n, labels is None] = jax.jit(
                functools.partial(algorithm.sample, config, num_samples=n, **options),
                out_shardings=out_shardings,
            )
        if labels is None:
            return compiled[n, True](state, key)
        return compiled[n, False](state, key, labels=labels)

    return sample


def sample_chunks(
    sample, state, num_samples: int, batch_size: int, key, labels=None
) -> Iterator[np.ndarray]:
    """Yields `num_samples` samples as host arrays of ≤ `batch_size`; chunk i uses
    fold_in(key, i), so the samples depend only on (key, batch_size, num_samples).

    `labels` (int [num_samples], or None): the class of each sample, passed to `sample`
    chunk by chunk.
    """
    for i, start in enumerate(range(0, num_samples, batch_size)):
        n = min(batch_size, num_samples - start)
        chunk_key = jax.random.fold_in(key, i)
        if labels is None:
            yield to_host(sample(state, chunk_key, n))
        else:
            yield to_host(sample(state, chunk_key, n, labels[start : start + n]))
