"""Every runnable config: its demo default and smoke preset load, are locked, name a registered
algorithm, and build a state of the configured shapes (abstractly, without compiling); a
second-stage config without its first stage names the missing field."""

import jax
import pytest

from benchmarks.common import load_config
from tests import config_files
from v101jax import algorithms
from v101jax.core.errors import ConfigError
from v101jax.training.loop import example_batch


@pytest.mark.parametrize("path", config_files.TRAINING_CONFIGS)
@pytest.mark.parametrize("preset", ["", "smoke"])
def test_config_loads_locked_and_builds_a_state(path, preset):
    config = load_config(f"{path}:{preset}" if preset else path)
    assert config.is_locked
    with pytest.raises(AttributeError):
        config.trian = 1  # a typo is an error, not a new field
    algorithm = algorithms.get_algorithm(config.algorithm)
    if algorithm.first_stage is not None and algorithm.first_stage.required:
        # A second-stage model: without its first stage it must say which field to set.
        with pytest.raises(ConfigError, match=r"\.\w+_workdir"):
            algorithm.init(config, jax.random.PRNGKey(0), example_batch(config))
        return
    config = algorithm.resolved(config)  # data-derived fields, as the loop fills them
    state = jax.eval_shape(
        lambda key: algorithm.init(config, key, example_batch(config)),
        jax.random.PRNGKey(0),
    )
    assert int(state.step.size) == 1
