"""A negative loss weight is a ConfigError naming its field, in every algorithm that
validates its weights with core.errors.require_non_negative."""

import jax
import pytest

from v101jax.algorithms import get_algorithm
from v101jax.core.config_spec import load_config
from v101jax.core.errors import ConfigError
from v101jax.training.loop import example_batch


@pytest.mark.parametrize(
    "spec,field",
    [
        ("configs/dcgan.py:smoke", "gan.r1_gamma"),
        ("configs/stylegan.py:smoke", "stylegan.drift"),
        ("configs/cyclegan.py:smoke", "cyclegan.cycle_weight"),
        ("configs/stargan.py:smoke", "stargan.cls_weight"),
        ("configs/pix2pix.py:smoke", "pix2pix.l1_weight"),
        ("configs/fast_style.py:smoke", "fast_style.tv_weight"),
        ("configs/srgan.py:smoke", "srgan.pixel_weight"),
    ],
)
def test_negative_weight_is_refused_by_name(spec, field):
    config = load_config(spec)
    section, name = field.split(".")
    with config.unlocked():
        config[section][name] = -1.0
    algorithm = get_algorithm(config.algorithm)
    with pytest.raises(ConfigError, match=rf"{field}=-1.0 must be ≥ 0"):
        jax.eval_shape(
            lambda key: algorithm.init(config, key, example_batch(config)),
            jax.random.PRNGKey(0),
        )
