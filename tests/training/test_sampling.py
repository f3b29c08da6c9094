"""Chunked sampling: conditional models' samples carry the classes they were drawn for."""

import jax
import numpy as np

from benchmarks.common import load_config
from v101jax.training import sampling


def test_class_labels_cycle_for_conditional_configs_only():
    for name in ("cgan", "acgan", "cfg"):
        labels = sampling.class_labels(load_config(f"configs/{name}.py:smoke"), 23)
        np.testing.assert_array_equal(labels, [*range(10), *range(10), 0, 1, 2])
        assert labels.dtype == np.int32
    assert sampling.class_labels(load_config("configs/dcgan.py:smoke"), 23) is None
    assert sampling.class_labels(load_config("configs/ddim.py:smoke"), 23) is None


def test_default_inputs_are_the_declared_sampling_inputs():
    inputs = sampling.default_inputs(load_config("configs/cgan.py:smoke"), 12)
    assert set(inputs) == {"labels"}
    np.testing.assert_array_equal(inputs["labels"], [*range(10), 0, 1])
    assert sampling.default_inputs(load_config("configs/vae.py:smoke"), 12) is None


def test_sample_chunks_pass_each_chunk_its_inputs():
    calls = []

    def sample(state, key, n, inputs=None, phase=None):
        labels = None if inputs is None else inputs["labels"]
        calls.append((n, None if labels is None else labels.tolist()))
        return np.zeros((n, 1)) if labels is None else labels[:, None]

    labels = np.arange(7) % 3
    key = jax.random.PRNGKey(0)
    out = np.concatenate(
        list(sampling.sample_chunks(sample, None, 7, 3, key, {"labels": labels}))
    )
    np.testing.assert_array_equal(out[:, 0], labels)
    assert calls == [(3, [0, 1, 2]), (3, [0, 1, 2]), (1, [0])]
    calls.clear()
    assert len(list(sampling.sample_chunks(sample, None, 7, 3, key))) == 3
    assert calls == [(3, None), (3, None), (1, None)]


def test_class_list_gives_equal_blocks_and_bad_classes_are_config_errors():
    import pytest

    from v101jax.core.errors import ConfigError

    config = load_config("configs/cfg.py:smoke")
    labels = sampling.class_labels(config, 7, classes=[2, 9])
    np.testing.assert_array_equal(labels, [2, 2, 2, 2, 9, 9, 9])
    with pytest.raises(ConfigError, match="0 … 9"):
        sampling.class_labels(config, 4, classes=[10])
    with pytest.raises(ConfigError, match="not class-conditional"):
        sampling.class_labels(load_config("configs/ddim.py:smoke"), 4, classes=[1])
