"""Drawing many samples from a state in fixed-size compiled chunks, as host arrays, and the
inputs (labels, held-out source images, …) that samples are conditioned on."""

import functools
from collections.abc import Iterator

import jax
import numpy as np

from v101jax.algorithms import get_algorithm
from v101jax.core.errors import ConfigError
from v101jax.data import load_dataset


def to_host(x) -> np.ndarray:
    """A replicated global array as numpy (works when other processes hold copies too)."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        x = x.addressable_data(0)
    return np.asarray(jax.device_get(x))


class HeldOut:
    """The first examples of a config's held-out split (eval.reference_split), loaded on the
    first call: what `sampling_inputs` hooks draw source images or captions from."""

    def __init__(self, config):
        self.config = config
        self._data = None

    def size(self) -> int:
        """Examples in the held-out split."""
        if self._data is None:
            data_cfg = self.config.data.copy_and_resolve_references()
            data_cfg.split = self.config.eval.reference_split
            self._data = load_dataset(data_cfg, seed=self.config.seed)
        # Unpaired domains may differ in size: every key has at least this many.
        return min(len(v) for v in self._data.values())

    def __call__(self, n: int) -> dict[str, np.ndarray]:
        available = self.size()
        if n > available:
            raise ConfigError(
                f"{n} samples need {n} held-out examples; the "
                f"{self.config.eval.reference_split} split has {available}"
            )
        return {k: v[:n] for k, v in self._data.items()}


def default_inputs(config, num_samples: int, held_out=None) -> dict | None:
    """What a grid or an evaluation of `num_samples` samples feeds `sample`: the algorithm's
    `sampling_inputs` hook (labels 0…K−1 in turn, held-out sources, …), or None."""
    algorithm = get_algorithm(config.algorithm)
    if algorithm.sampling_inputs is None:
        return None
    return algorithm.sampling_inputs(config, num_samples, held_out or HeldOut(config))


def class_labels(config, num_samples: int, classes=None) -> np.ndarray | None:
    """Labels (int32 [num_samples]) for a class-conditional config's samples: 0, 1, …, K−1,
    0, … or, given `classes`, those classes in equal consecutive blocks (the first ones one
    longer when they do not divide evenly); None when its samples take no labels."""
    k = get_algorithm(config.algorithm).classes(config)
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


def chunked_sampler(config, out_shardings=None):
    """(state, key, n, inputs=None, phase=None) → n samples; one compiled program per
    distinct n (at most two are used by `sample_chunks`: full chunks and the remainder), per
    set of input names and per training phase. The sampler's settings come from
    config.sample; `inputs` (arrays with a leading [n] axis) are arguments of the program.
    A phased algorithm given no phase samples in the phase of the state's last step (what
    the sample, evaluate and translate commands want of a checkpoint)."""
    algorithm = get_algorithm(config.algorithm)
    compiled = {}

    def sample(state, key, n: int, inputs=None, phase=None):
        if phase is None and algorithm.phase is not None:
            phase = algorithm.phase(config, max(int(state.step) - 1, 0))
        names = None if inputs is None else tuple(sorted(inputs))
        if (n, names, phase) not in compiled:
            options = {} if phase is None else {"phase": phase}
            compiled[n, names, phase] = jax.jit(
                functools.partial(algorithm.sample, config, num_samples=n, **options),
                out_shardings=out_shardings,
            )
        if inputs is None:
            return compiled[n, names, phase](state, key)
        return compiled[n, names, phase](state, key, inputs=inputs)

    return sample


def sample_chunks(
    sample, state, num_samples: int, batch_size: int, key, inputs=None, phase=None
) -> Iterator[np.ndarray]:
    """Yields `num_samples` samples as host arrays of ≤ `batch_size`; chunk i uses
    fold_in(key, i), so the samples depend only on (key, batch_size, num_samples).

    `inputs` (dict of arrays with a leading [num_samples] axis, or None): what each sample is
    conditioned on, passed to `sample` chunk by chunk.
    """
    for i, start in enumerate(range(0, num_samples, batch_size)):
        n = min(batch_size, num_samples - start)
        chunk = None
        if inputs is not None:
            chunk = {k: v[start : start + n] for k, v in inputs.items()}
        yield to_host(
            sample(state, jax.random.fold_in(key, i), n, inputs=chunk, phase=phase)
        )
