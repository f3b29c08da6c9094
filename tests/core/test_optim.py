"""Learning-rate schedules, the optimiser chain, EMA decay and the train state's update."""

import math

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs.base import get_base_config
from v101jax.core import ema, optim
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import TrainState

LR = 1e-3


def _optim_cfg(**overrides):
    cfg = get_base_config().optim
    cfg.learning_rate = LR
    for k, v in overrides.items():
        cfg[k] = v
    return cfg


def _cosine(t, *, lr, end, start, length):
    """Half-cosine from lr at `start` to end at `start + length`."""
    return end + (lr - end) * 0.5 * (1.0 + math.cos(math.pi * (t - start) / length))


@pytest.mark.parametrize("t", [0, 1, 5, 10, 11, 37, 55, 99, 100, 150])
def test_warmup_cosine_matches_closed_form(t):
    w, d, end_fraction = 10, 100, 0.1
    cfg = _optim_cfg(
        schedule="warmup_cosine",
        warmup_steps=w,
        decay_steps=d,
        end_lr_fraction=end_fraction,
    )
    schedule = optim.learning_rate_schedule(cfg, num_steps=1000)
    end = LR * end_fraction
    if t < w:
        want = LR * t / w
    else:
        want = _cosine(min(t, d), lr=LR, end=end, start=w, length=d - w)
    assert float(schedule(t)) == pytest.approx(want, rel=1e-5, abs=1e-9)


def test_warmup_cosine_decay_steps_zero_means_num_steps():
    cfg = _optim_cfg(
        schedule="warmup_cosine", warmup_steps=4, decay_steps=0, end_lr_fraction=0.0
    )
    schedule = optim.learning_rate_schedule(cfg, num_steps=40)
    for t in (0, 2, 4, 22, 40):
        want = LR * t / 4 if t < 4 else _cosine(t, lr=LR, end=0.0, start=4, length=36)
        assert float(schedule(t)) == pytest.approx(want, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("t", [0, 3, 7, 8, 9, 500])
def test_constant_with_warmup(t):
    schedule = optim.learning_rate_schedule(
        _optim_cfg(schedule="constant", warmup_steps=8), 1000
    )
    want = LR * t / 8 if t < 8 else LR
    assert float(schedule(t)) == pytest.approx(want, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("warmup", [0, 5])
def test_linear_decay_is_flat_then_falls_linearly_to_the_end_rate(warmup):
    """CycleGAN's schedule: constant, then the last decay_steps (default half the run) fall
    linearly to learning_rate · end_lr_fraction."""
    num_steps, end_fraction = 100, 0.1
    for decay_steps, start in ((0, 50), (20, 80)):
        cfg = _optim_cfg(
            schedule="linear_decay",
            warmup_steps=warmup,
            decay_steps=decay_steps,
            end_lr_fraction=end_fraction,
        )
        schedule = optim.learning_rate_schedule(cfg, num_steps)
        length = num_steps - start
        for t in (0, 3, 10, start - 1, start, start + 7, num_steps - 1, num_steps):
            if t < warmup:
                want = LR * t / warmup
            elif t <= start:
                want = LR
            else:
                want = LR + (LR * end_fraction - LR) * (t - start) / length
            assert float(schedule(t)) == pytest.approx(want, rel=1e-5, abs=1e-12), t
    with pytest.raises(ConfigError, match="decay_steps"):
        optim.learning_rate_schedule(
            _optim_cfg(schedule="linear_decay", decay_steps=98, warmup_steps=5), 100
        )


def test_constant_without_warmup_is_flat():
    schedule = optim.learning_rate_schedule(
        _optim_cfg(schedule="constant", warmup_steps=0), 10
    )
    for t in (0, 1, 10, 10_000):
        assert float(schedule(t)) == pytest.approx(LR, rel=1e-6)


def test_cosine_restarts_returns_to_peak_each_cycle():
    period, w, end_fraction = 50, 5, 0.2
    cfg = _optim_cfg(
        schedule="cosine_restarts",
        restart_period=period,
        warmup_steps=w,
        end_lr_fraction=end_fraction,
    )
    schedule = optim.learning_rate_schedule(cfg, num_steps=200)
    end = LR * end_fraction
    for k in range(4):
        start = k * period
        assert float(schedule(start)) == pytest.approx(0.0, abs=1e-9)
        assert float(schedule(start + 2)) == pytest.approx(LR * 2 / w, rel=1e-5)
        assert float(schedule(start + w)) == pytest.approx(LR, rel=1e-5)
        mid = start + w + 20
        want = _cosine(mid, lr=LR, end=end, start=start + w, length=period - w)
        assert float(schedule(mid)) == pytest.approx(want, rel=1e-5)
        # Just before the restart the rate is near the cycle's end value.
        assert float(schedule(start + period - 1)) == pytest.approx(
            _cosine(
                start + period - 1, lr=LR, end=end, start=start + w, length=period - w
            ),
            rel=1e-5,
        )
        assert float(schedule(start + period - 1)) < 0.25 * LR


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"schedule": "linear"}, "optim.schedule"),
        (
            {"schedule": "warmup_cosine", "warmup_steps": 100, "decay_steps": 100},
            "optim.decay_steps",
        ),
        (
            {"schedule": "warmup_cosine", "warmup_steps": 100, "decay_steps": 50},
            "optim.decay_steps",
        ),
        (
            {"schedule": "cosine_restarts", "warmup_steps": 10, "restart_period": 10},
            "optim.restart_period",
        ),
    ],
)
def test_bad_schedule_config_raises_config_error(overrides, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        optim.learning_rate_schedule(_optim_cfg(**overrides), num_steps=1000)


def test_warmup_cosine_num_steps_not_beyond_warmup_raises():
    cfg = _optim_cfg(schedule="warmup_cosine", warmup_steps=20, decay_steps=0)
    with pytest.raises(ConfigError):
        optim.learning_rate_schedule(cfg, num_steps=20)


def test_unknown_optimizer_raises_config_error():
    with pytest.raises(ConfigError, match=r"optim\.name"):
        optim.make_optimizer(_optim_cfg(name="sgd"), num_steps=10)


def _first_update(cfg, grad):
    tx = optim.make_optimizer(cfg, num_steps=100)
    params = {"w": jnp.zeros_like(grad)}
    state = tx.init(params)
    updates, state = tx.update({"w": grad}, state, params)
    return np.asarray(updates["w"]), state


GRAD = jnp.array([6.0, -8.0, 0.0])  # global norm 10


def test_clipping_scales_the_gradient_before_adam_moments():
    b1, b2 = 0.9, 0.999
    _, state = _first_update(_optim_cfg(grad_clip_norm=1.0, b1=b1, b2=b2), GRAD)
    clipped = np.array([0.6, -0.8, 0.0])
    np.testing.assert_allclose(
        optax.tree_utils.tree_get(state, "mu")["w"],
        (1 - b1) * clipped,
        rtol=1e-5,
        atol=1e-9,
    )
    np.testing.assert_allclose(
        optax.tree_utils.tree_get(state, "nu")["w"],
        (1 - b2) * clipped**2,
        rtol=1e-4,
        atol=1e-12,
    )  # b2 in float32


def test_gradient_within_the_norm_is_not_clipped():
    b2 = 0.999
    grad = GRAD / 40.0  # norm 0.25
    _, state = _first_update(_optim_cfg(grad_clip_norm=1.0, b2=b2), grad)
    np.testing.assert_allclose(
        optax.tree_utils.tree_get(state, "nu")["w"],
        (1 - b2) * np.asarray(grad) ** 2,
        rtol=1e-4,
    )


@pytest.mark.parametrize("clip", [1.0, 0.0])
def test_first_adam_step_sees_the_clipped_gradient(clip):
    """With eps = 1, Adam's first step −lr·g/(|g| + eps) depends on the gradient's scale."""
    updates, _ = _first_update(_optim_cfg(grad_clip_norm=clip, eps=1.0), GRAD)
    g = np.asarray(GRAD) / 10.0 if clip else np.asarray(GRAD)
    np.testing.assert_allclose(
        updates, -LR * g / (np.abs(g) + 1.0), rtol=1e-5, atol=1e-12
    )


def test_adamw_applies_decoupled_weight_decay():
    cfg = _optim_cfg(name="adamw", weight_decay=0.1)
    tx = optim.make_optimizer(cfg, num_steps=10)
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    state = tx.init(params)
    # With a zero gradient Adam's direction is 0, leaving only −lr·wd·params.
    updates, _ = tx.update({"w": jnp.zeros(3)}, state, params)
    np.testing.assert_allclose(
        updates["w"], -LR * 0.1 * np.array([1.0, -2.0, 3.0]), rtol=1e-5
    )


def test_adam_ignores_weight_decay():
    cfg = _optim_cfg(name="adam", weight_decay=0.1)
    tx = optim.make_optimizer(cfg, num_steps=10)
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    updates, _ = tx.update({"w": jnp.zeros(3)}, tx.init(params), params)
    np.testing.assert_allclose(updates["w"], 0.0, atol=1e-12)


def test_current_learning_rate_reports_the_rate_of_the_last_update():
    w, d = 10, 100
    cfg = _optim_cfg(schedule="warmup_cosine", warmup_steps=w, decay_steps=d)
    tx = optim.make_optimizer(cfg, num_steps=d)
    params = {"w": jnp.ones(2)}
    state = tx.init(params)
    for k in range(1, 16):
        _, state = tx.update({"w": jnp.ones(2)}, state, params)
        t = k - 1  # the k-th update runs at schedule step k − 1
        want = (
            LR * t / w if t < w else _cosine(t, lr=LR, end=0.0, start=w, length=d - w)
        )
        assert float(optim.current_learning_rate(state)) == pytest.approx(
            want, rel=1e-5, abs=1e-10
        )


def test_current_learning_rate_without_clipping():
    tx = optim.make_optimizer(_optim_cfg(grad_clip_norm=0.0), num_steps=10)
    state = tx.init({"w": jnp.ones(2)})
    assert float(optim.current_learning_rate(state)) == pytest.approx(LR)


def test_current_learning_rate_without_hyperparams_raises():
    with pytest.raises(ValueError):
        optim.current_learning_rate(optax.sgd(0.1).init({"w": jnp.ones(2)}))


@pytest.mark.parametrize("step", [0, 1, 5, 10, 100, 8990, 8991, 20000])
def test_ema_decay_warmup_formula(step):
    want = min(0.999, (1 + step) / (10 + step))
    assert float(ema.decay_at(step, 0.999, True)) == pytest.approx(want, rel=1e-6)
    assert float(ema.decay_at(step, 0.999, False)) == pytest.approx(0.999, rel=1e-7)
    assert float(ema.decay_at(step, 0.0, True)) == 0.0


def _sgd_state(ema_decay, ema_warmup=True, lr=0.5):
    params = {"w": jnp.array([1.0, 2.0, -1.0]), "b": jnp.array(0.5)}
    return TrainState.create(
        apply_fn=None,
        params=params,
        tx=optax.sgd(lr),
        ema_decay=ema_decay,
        ema_warmup=ema_warmup,
    )


def _grads(k):
    return {"w": jnp.array([0.1 * k, -0.2, 0.3]), "b": jnp.array(1.0 - 0.1 * k)}


@pytest.mark.parametrize("warmup", [True, False])
def test_apply_gradients_updates_params_and_ema(warmup):
    max_decay, lr = 0.9, 0.5
    state = _sgd_state(max_decay, warmup, lr)
    params = {k: np.asarray(v, np.float64) for k, v in state.params.items()}
    ema_params = {k: v.copy() for k, v in params.items()}
    for k in range(6):
        d = min(max_decay, (1 + k) / (10 + k)) if warmup else max_decay
        grads = _grads(k)
        state = state.apply_gradients(grads)
        for name, g in grads.items():
            params[name] = params[name] - lr * np.asarray(g, np.float64)
            ema_params[name] = d * ema_params[name] + (1 - d) * params[name]
        assert int(state.step) == k + 1
        for name, want in params.items():
            np.testing.assert_allclose(state.params[name], want, rtol=1e-6, atol=1e-7)
        for name, want in ema_params.items():
            np.testing.assert_allclose(
                state.ema_params[name], want, rtol=1e-5, atol=1e-6
            )
    # The average lags behind: it is not the current parameters.
    assert not np.allclose(state.ema_params["w"], state.params["w"])


def test_zero_ema_decay_keeps_ema_equal_to_params():
    state = _sgd_state(0.0)
    for k in range(3):
        state = state.apply_gradients(_grads(k))
        for name in state.params:
            np.testing.assert_array_equal(state.ema_params[name], state.params[name])
    np.testing.assert_allclose(
        state.params["b"], 0.5 - 0.5 * (1.0 + 0.9 + 0.8), rtol=1e-6
    )


def test_apply_gradients_keeps_or_replaces_model_state():
    state = _sgd_state(0.0).replace(model_state={"stats": jnp.ones(2)})
    kept = state.apply_gradients(_grads(0))
    np.testing.assert_array_equal(kept.model_state["stats"], np.ones(2))
    replaced = state.apply_gradients(_grads(0), model_state={"stats": jnp.zeros(2)})
    np.testing.assert_array_equal(replaced.model_state["stats"], np.zeros(2))


def test_checkpoint_tree_round_trip():
    tx = optim.make_optimizer(_optim_cfg(), num_steps=10)
    params = {"w": jnp.array([1.0, 2.0])}
    state = TrainState.create(apply_fn=None, params=params, tx=tx, ema_decay=0.5)
    state = state.apply_gradients({"w": jnp.array([0.3, -0.4])})
    tree = state.checkpoint_tree()
    assert set(tree) == {"step", "params", "opt_state", "ema_params", "model_state"}
    fresh = TrainState.create(
        apply_fn=None, params={"w": jnp.zeros(2)}, tx=tx, ema_decay=0.5
    )
    restored = fresh.from_checkpoint_tree(tree)
    assert int(restored.step) == 1
    np.testing.assert_array_equal(restored.params["w"], state.params["w"])
    np.testing.assert_array_equal(restored.ema_params["w"], state.ema_params["w"])
    np.testing.assert_array_equal(
        optax.tree_utils.tree_get(restored.opt_state, "nu")["w"],
        optax.tree_utils.tree_get(state.opt_state, "nu")["w"],
    )


def test_rmsprop_first_step_divides_by_the_root_mean_square():
    """ν₁ = (1 − ρ)·g², so the first update is −lr·g/√((1 − ρ)·g²) = −lr·sign(g)/√(1 − ρ)."""
    cfg = _optim_cfg(name="rmsprop", b2=0.9, eps=1e-12, grad_clip_norm=0.0)
    tx = optim.make_optimizer(cfg, num_steps=10)
    params = {"w": jnp.zeros(3)}
    g = np.array([0.5, -2.0, 4.0], np.float32)
    updates, _ = tx.update({"w": jnp.asarray(g)}, tx.init(params), params)
    np.testing.assert_allclose(
        updates["w"], -LR * np.sign(g) / math.sqrt(0.1), rtol=1e-4
    )
