"""Learning test of ProGAN on eight synthetic 8×8 modes (tests/algorithms/texture_modes.py):
one-pixel lines that only the 8×8 resolution can draw.

Bars, on 2000 samples after a short run: the median RMS distance of a sample to its nearest
mode is below 0.45, under the 0.5 that any image drawn at 4×4 and upsampled cannot beat (a
ProGAN whose fade-in never hands over to the 8×8 block, or whose 8×8 block is not trained,
fails), and at least 5 of the 8 modes are each the nearest mode of ≥ 5% of the samples (a
generator that ignores its latent draws one image and fails). The run this was set on:
median 0.24 with 6 modes at ≥ 5% (the other two at 3.3% and 1.5%); the same run with α held
at 0 (a fade-in that never completes): median 0.59, failing.
"""

import pytest

from benchmarks.common import load_config
from tests.algorithms import texture_modes
from tests.keys import (  # noqa: F401 - the fixture is autouse
    fast_compiling_keys,
    fast_compiling_keys_fixture,
)

MEDIAN_DISTANCE = 0.45
MIN_MODES, MIN_SHARE = 5, 0.05


def progan_config():
    config = load_config("configs/progan.py:smoke")
    with config.unlocked():
        config.progan.stable_steps = config.progan.fade_steps = 300
        config.train.num_steps = 1500  # 4×4 to 300, fade to 600, then 8×8
    return config


def _small(config):
    """Widths 16, z ∈ ℝ¹⁶, batch 32, Adam 3e-3 (1e-3 learns too slowly for a test)."""
    with config.unlocked():
        config.data.batch_size = 32
        config.model.widths = (16, 16)
        config.model.latent_dim = 16
        config.model.minibatch_std = 4
        config.optim.learning_rate = config.d_optim.learning_rate = 3e-3
    return config


def test_progan_learns_the_eight_fine_modes():
    samples, metrics = texture_modes.train_on_modes(_small(progan_config()))
    median, shares = texture_modes.coverage(samples)
    report = (median, shares.round(3).tolist(), metrics)
    assert texture_modes.floor_of_a_4x4_generator() == pytest.approx(0.5)
    assert median < MEDIAN_DISTANCE, report
    assert int(sum(shares >= MIN_SHARE)) >= MIN_MODES, report
