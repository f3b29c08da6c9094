"""Training phases: a toy two-phase algorithm compiles one program per phase, switches at the
boundary, and a run killed in its second phase resumes bitwise where an unbroken run ends."""

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import base
from v101jax import algorithms
from v101jax.algorithms.contract import Algorithm, contract_violations
from v101jax.core import checkpoint, optim
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import TrainState, gradient_step
from v101jax.training.loop import train_and_evaluate

BOUNDARY = 4  # steps 0…3 are phase 0, steps 4… phase 1
TRACED = []  # (function, phase) each time a program is traced


def phase(config, step):
    return 0 if step < config.toy.boundary else 1


def init(config, rng, example_batch):
    del example_batch
    return TrainState.create(
        apply_fn=None,
        params={"w": jax.random.normal(rng, (2,))},
        tx=optim.make_optimizer(config.optim, config.train.num_steps),
        ema_decay=config.optim.ema_decay,
    )


def train_step(config, state, batch, rng, *, phase):
    """Phase 0 pulls w towards the batch mean, phase 1 towards its negation, each through a
    fresh noise draw of the step, so a repeated or skipped step changes the result."""
    TRACED.append(("train_step", phase))
    target = jnp.mean(batch["x"], axis=0) * (1.0 if phase == 0 else -1.0)
    noise = jax.random.normal(jax.random.fold_in(rng, state.step), (2,))

    def loss_fn(params):
        loss = jnp.mean((params["w"] - target - 0.1 * noise) ** 2)
        return loss, {"scalars": {"loss": loss}}

    new_state, metrics, _ = gradient_step(state, loss_fn)
    return new_state, metrics


def sample(config, state, rng, num_samples, *, inputs=None, phase):
    TRACED.append(("sample", phase))
    del inputs
    return state.params["w"] + 0.01 * jax.random.normal(rng, (num_samples, 2))


PHASED = Algorithm(
    name="phased_toy", init=init, train_step=train_step, sample=sample, phase=phase
)


def toy_config(num_steps=10):
    config = base.get_base_config()
    config.algorithm = "phased_toy"
    config.data.source = "ring"
    config.data.num_points = 256
    config.data.batch_size = 16
    config.optim.learning_rate = 0.05
    config.optim.ema_decay = 0.9
    config.toy = ml_collections.ConfigDict({"boundary": BOUNDARY})
    config.train.num_steps = num_steps
    config.train.log_every = 1
    config.train.checkpoint_every = 2
    config.train.sample_every = 5
    config.train.num_sample_images = 16
    return config


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    monkeypatch.setitem(algorithms.REGISTRY, "phased_toy", PHASED)
    TRACED.clear()


def _arrays(state):
    return [np.asarray(x) for x in jax.tree.leaves(state.checkpoint_tree())]


def test_the_toy_follows_the_contract():
    assert contract_violations(PHASED) == []


def test_one_program_per_phase_and_phases_change_the_result(tmp_path):
    state = train_and_evaluate(toy_config(), str(tmp_path / "run"))
    assert int(state.step) == 10
    assert [p for f, p in TRACED if f == "train_step"] == [0, 1]
    # The grid at step 5 was drawn in phase 1 (the phase of the last step trained).
    assert ("sample", 1) in TRACED and ("sample", 0) not in TRACED
    one_phase = dataclasses.replace(PHASED, phase=lambda config, step: 0)
    algorithms.REGISTRY["phased_toy"] = one_phase
    other = train_and_evaluate(toy_config(), str(tmp_path / "one_phase"))
    assert not np.allclose(state.params["w"], other.params["w"])


def test_run_killed_in_its_second_phase_resumes_bitwise(tmp_path, monkeypatch):
    unbroken = train_and_evaluate(toy_config(), str(tmp_path / "unbroken"))

    class Killed(Exception):
        pass

    save = checkpoint.Checkpointer.save

    def save_then_die(self, step, tree):
        save(self, step, tree)
        if step == 6:  # inside phase 1
            raise Killed

    monkeypatch.setattr(checkpoint.Checkpointer, "save", save_then_die)
    with pytest.raises(Killed):
        train_and_evaluate(toy_config(), str(tmp_path / "killed"))
    monkeypatch.setattr(checkpoint.Checkpointer, "save", save)
    TRACED.clear()
    resumed = train_and_evaluate(toy_config(), str(tmp_path / "killed"))
    assert int(resumed.step) == 10
    # Resuming at step 6 compiles only the second phase's program.
    assert [p for f, p in TRACED if f == "train_step"] == [1]
    for a, b in zip(_arrays(unbroken), _arrays(resumed), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_fused_call_across_a_phase_boundary_is_a_config_error(tmp_path):
    config = toy_config(num_steps=9)
    config.train.steps_per_call = 3
    config.train.log_every = config.train.checkpoint_every = 3
    config.train.sample_every = 0
    with pytest.raises(ConfigError, match="span two training phases"):
        train_and_evaluate(config, str(tmp_path))
