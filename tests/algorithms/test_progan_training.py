"""ProGAN's algorithm: the phase schedule and α against an enumeration of the steps, the real
images faded like G's output, Adam reset at a new resolution, clear config errors, and a run
killed in the middle of a fade-in resuming bitwise."""

import functools

import jax
import numpy as np
import optax
import pytest

from benchmarks.common import load_config
from tests.keys import (  # noqa: F401 - the fixture is autouse
    fast_compiling_keys,
    fast_compiling_keys_fixture,
)
from v101jax.algorithms import progan
from v101jax.core import checkpoint
from v101jax.core.errors import ConfigError
from v101jax.models.progan import downsample, upsample
from v101jax.training.export import export_samples, load_samples_file
from v101jax.training.loop import example_batch, train_and_evaluate


def _config(**fields):
    """The smoke config with dotted overrides {"section.field": value}."""
    return load_config("configs/progan.py:smoke", fields)


def test_phases_and_alpha_follow_the_configured_lengths():
    config = load_config("configs/progan.py")  # 4 stages, 1000-step phases
    stable, fade = config.progan.stable_steps, config.progan.fade_steps
    # An independent walk through the schedule: (phase, α) of every step.
    expected = [(0, 1.0)] * stable
    for stage in range(1, 4):
        expected += [(2 * stage - 1, i / fade) for i in range(fade)]
        expected += [(2 * stage, 1.0)] * stable
    for step in range(0, len(expected), 37):
        p, a = expected[step]
        assert progan.phase(config, step) == p, step
        assert float(progan.alpha_at(config, p, step)) == pytest.approx(a), step
    # The last stage's stable phase runs on past its nominal length.
    assert progan.phase(config, len(expected) + 500) == 6
    assert [progan.phase_stage(p) for p in range(4)] == [
        (0, False),
        (1, True),
        (1, False),
        (2, True),
    ]


def test_real_images_are_faded_like_the_generator():
    config = _config()  # 4 → 8 px
    x = np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(progan.reals_at(config, x, 1, 1.0), x, atol=1e-6)
    coarse = np.repeat(np.repeat(x.reshape(4, 4, 2, 4, 2, 1).mean((2, 4)), 2, 1), 2, 2)
    np.testing.assert_allclose(progan.reals_at(config, x, 1, 0.0), coarse, atol=1e-6)
    np.testing.assert_allclose(
        progan.reals_at(config, x, 1, 0.25), 0.75 * coarse + 0.25 * x, atol=1e-6
    )
    np.testing.assert_allclose(
        progan.reals_at(config, x, 0, 0.3), downsample(x), atol=1e-6
    )
    np.testing.assert_allclose(
        progan.to_full_resolution(config, downsample(x), 0),
        upsample(downsample(x)),
        atol=0,
    )


def _adam(ts):
    """The Adam moments' state inside a network's optimiser state."""
    (adam,) = [
        s
        for s in jax.tree.leaves(
            ts.opt_state, is_leaf=lambda s: isinstance(s, optax.ScaleByAdamState)
        )
        if isinstance(s, optax.ScaleByAdamState)
    ]
    return adam


def test_adam_state_is_reset_at_the_first_step_of_a_new_resolution():
    config = _config()
    batch = example_batch(config)
    rng = np.random.default_rng(1)
    batch["x"] = rng.uniform(-1, 1, batch["x"].shape).astype(np.float32)
    state = progan.init(config, jax.random.PRNGKey(0), batch)
    step = jax.jit(functools.partial(progan.train_step, config, phase=0))
    key = jax.random.PRNGKey(1)
    for _ in range(2):
        state, _ = step(state, batch, key)
    mu = _adam(state["disc"]).mu
    assert max(float(np.abs(v).max()) for v in jax.tree.leaves(mu)) > 0
    fresh = progan.train_step(config, state, batch, key, phase=1)[0]
    kept = progan.train_step(
        _config(**{"progan.reset_optimizer": False}), state, batch, key, phase=1
    )[0]
    # Reset: the fade's first update is Adam's first; kept, it is the third.
    for ts_fresh, ts_kept in (
        (fresh["disc"], kept["disc"]),
        (fresh["gen"], kept["gen"]),
    ):
        assert int(_adam(ts_fresh).count) == 1
        assert int(_adam(ts_kept).count) == 3


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"model.widths": (8, 8, 8)}, "model.widths"),
        ({"progan.fade_steps": 0}, "progan.fade_steps"),
        ({"model.minibatch_std": 3}, "model.minibatch_std"),
    ],
)
def test_bad_configs_name_the_field(fields, match):
    config = _config(**fields)
    with pytest.raises(ConfigError, match=match):
        progan.init(config, jax.random.PRNGKey(0), example_batch(config))


def test_a_run_killed_during_a_fade_in_resumes_bitwise(tmp_path, monkeypatch):
    config = _config()  # checkpoints at step 3: α = 0.5 in the fade of steps 2-3
    unbroken = train_and_evaluate(config, str(tmp_path / "unbroken"))

    class Killed(Exception):
        pass

    save = checkpoint.Checkpointer.save

    def save_then_die(self, step, tree):
        save(self, step, tree)
        if step == 3:
            raise Killed

    monkeypatch.setattr(checkpoint.Checkpointer, "save", save_then_die)
    with pytest.raises(Killed):
        train_and_evaluate(config, str(tmp_path / "killed"))
    monkeypatch.setattr(checkpoint.Checkpointer, "save", save)
    resumed = train_and_evaluate(config, str(tmp_path / "killed"))
    assert int(resumed.step) == 6
    leaves = jax.tree.leaves(resumed.checkpoint_tree())
    for a, b in zip(jax.tree.leaves(unbroken.checkpoint_tree()), leaves, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (tmp_path / "killed" / "samples" / "step_000006.png").exists()
    # The sample command draws in the checkpoint's phase, at the full resolution.
    out = export_samples(str(tmp_path / "killed"), 4, out=str(tmp_path / "s.npz"))
    images, _ = load_samples_file(out)
    assert images.shape == (4, 8, 8, 1)
