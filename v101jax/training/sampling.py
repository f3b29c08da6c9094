"""Drawing many samples from a state in fixed-size compiled chunks, as host arrays."""

import functools
from collections.abc import Iterator

import jax
import numpy as np

from v101jax.algorithms import get_algorithm
from v101jax.core.errors import ConfigError
from v101jax.data.pipeline import num_classes


def to_host(x) -> np.ndarray:
    """A replicated global array as numpy (works when other processes hold copies too)."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        x = x.addressable_data(0)
    return np.asarray(jax.device_get(x))


def chunked_sampler(config, out_shardings=None, **options):
    """(state, key, n, labels=None) → n samples; one compiled program per distinct n (at
    most two are used by `sample_chunks`: full chunks and the remainder). `options` go to
    the algorithm's `sample` (sampler, num_steps, eta, guidance, …); `labels` (int [n], for
    class-conditional models) are an argument of the compiled program."""
    algorithm = get_algorithm(config.algorithm)
    compiled = {}

    def sample(state, key, n: int, labels=None):
        if n not in compiled:
            compiled[n] = jax.jit(
                functools.partial(algorithm.sample, config, num_samples=n, **options),
                out_shardings=out_shardings,
            )
        if labels is None:
            return compiled[n](state, key)
        return compiled[n](state, key, labels=labels)

    return sample


def sample_chunks(
    sample, state, num_samples: int, batch_size: int, key, labels=None
) -> Iterator[np.ndarray]:
    """Yields `num_samples` samples as host arrays of ≤ `batch_size`; chunk i uses
    fold_in(key, i), so the samples depend only on (key, batch_size, num_samples).
    `labels` (int [num_samples]) are handed out chunk by chunk."""
    for i, start in enumerate(range(0, num_samples, batch_size)):
        n = min(batch_size, num_samples - start)
        chunk_labels = None if labels is None else labels[start : start + n]
        yield to_host(sample(state, jax.random.fold_in(key, i), n, chunk_labels))


def sample_labels(config, num_samples: int, classes=None) -> np.ndarray | None:
    """Class labels for `num_samples` samples of a class-conditional run, else None.

    classes: the classes to draw, in equal consecutive blocks (the first ones one more
    when they do not divide evenly); default the algorithm's own labels (0, 1, …, K−1, 0, …).
    """
    algorithm = get_algorithm(config.algorithm)
    default_labels = getattr(algorithm, "default_labels", None)
    labels = None if default_labels is None else default_labels(config, num_samples)
    if labels is None:
        if classes:
            raise ConfigError(
                f"labels were given but the {config.algorithm} run is not class-conditional"
            )
        return None
    if not classes:
        return np.asarray(labels, np.int32)
    classes = np.asarray(classes, np.int32)
    k = num_classes(config.data)
    if np.any(classes < 0) or np.any(classes >= k):
        raise ConfigError(f"labels {classes.tolist()} must lie in 0 … {k - 1}")
    per_class = -(-num_samples // len(classes))
    return np.repeat(classes, per_class)[:num_samples]
