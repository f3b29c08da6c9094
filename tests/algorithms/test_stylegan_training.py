"""StyleGAN's algorithm: style mixing splits the layers at the crossover, truncation (ψ = 0 the
mean w's image for every z, ψ = 1 nothing), R1 only on every r1_interval-th step and weighted
by it, the WGAN-GP option's loss, the path-length penalty against a linear generator's
closed form, the figures' layout,
clear config errors, and the smoke run end to end through the sample command."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from tests.keys import (  # noqa: F401 - the fixture is autouse
    fast_compiling_keys,
    fast_compiling_keys_fixture,
)
from v101jax.algorithms import stylegan
from v101jax.core.errors import ConfigError
from v101jax.training.export import export_samples, load_samples_file
from v101jax.training.loop import example_batch, train_and_evaluate


def _config(**fields):
    """The smoke config with dotted overrides {"section.field": value}."""
    return load_config("configs/stylegan.py:smoke", fields)


@pytest.fixture(scope="module")
def state():
    """The smoke config's initial state, with a w_avg away from zero."""
    config = _config()
    with fast_compiling_keys():
        s = jax.jit(functools.partial(stylegan.init, config))(
            jax.random.PRNGKey(0), example_batch(config)
        )
    gen = s["gen"]
    stats = jax.tree.map(lambda v: v + 0.7, gen.model_state["stats"])
    gen = gen.replace(model_state={**gen.model_state, "stats": stats})
    return s.replace_networks(gen=gen)


def _mapping(config, state, z):
    gen = state["gen"]
    return gen.apply_fn({"params": gen.params, **gen.model_state}, z, method="mapping")


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_style_mixing_takes_layers_below_the_crossover_from_w1(state, probability):
    config = _config(**{"stylegan.style_mixing": probability})
    gen = state["gen"]
    key = jax.random.PRNGKey(5)
    ws, _ = stylegan.mixed_styles(
        config, gen, gen.params, gen.model_state["stats"], key, 64
    )
    # The same latents, drawn as mixed_styles draws them.
    z_key, z2_key, _, _ = jax.random.split(key, 4)
    w1, w2 = (
        np.asarray(_mapping(config, state, jax.random.normal(k, (64, 8))))
        for k in (z_key, z2_key)
    )
    ws = np.asarray(ws)
    layers = stylegan.num_ws(config)
    assert ws.shape == (64, layers, 8)
    crossovers = []
    for b in range(64):
        from_w1 = [np.allclose(ws[b, i], w1[b]) for i in range(layers)]
        c = sum(from_w1)
        assert from_w1 == [True] * c + [False] * (layers - c), b
        np.testing.assert_allclose(ws[b, c:], np.broadcast_to(w2[b], ws[b, c:].shape))
        crossovers.append(c)
    if probability == 0.0:
        assert set(crossovers) == {layers}
    else:
        assert set(crossovers) == set(range(1, layers))


def test_truncation_zero_gives_the_mean_w_image_and_one_changes_nothing(state):
    config = _config()  # truncation_cutoff 0: every layer
    z = jax.random.normal(jax.random.PRNGKey(6), (6, 8))
    noise = jax.random.PRNGKey(7)
    w_avg = np.asarray(state["gen"].model_state["stats"]["mapping_network"]["w_avg"])
    layers = stylegan.num_ws(config)
    mean_image = stylegan.synthesize(
        config, state, jnp.broadcast_to(w_avg, (6, layers, 8)), noise
    )
    truncated = stylegan.styles(config, state, z, psi=0.0)
    np.testing.assert_allclose(
        np.asarray(truncated), np.broadcast_to(w_avg, (6, layers, 8)), rtol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(stylegan.synthesize(config, state, truncated, noise)),
        np.asarray(mean_image),
        atol=1e-6,
    )
    w = np.asarray(_mapping(config, state, z))
    np.testing.assert_allclose(
        np.asarray(stylegan.styles(config, state, z, psi=1.0)),
        np.broadcast_to(w[:, None], (6, layers, 8)),
        atol=1e-6,  # w_avg + 1·(w − w_avg) rounds
    )


def test_r1_is_applied_lazily_and_weighted_by_its_interval(state):
    gamma, interval = 2.0, 2  # the smoke config's interval
    with_r1 = _config(**{"stylegan.r1_gamma": gamma, "stylegan.pl_weight": 0.0})
    without = _config(**{"stylegan.r1_gamma": 0.0, "stylegan.pl_weight": 0.0})
    batch = example_batch(with_r1)
    key = jax.random.PRNGKey(8)

    compiled = {
        id(c): jax.jit(functools.partial(stylegan.train_step, c))
        for c in (with_r1, without)
    }

    def step(config, s):
        return compiled[id(config)](s, batch, key)

    def at_step(n):
        gen, disc = state["gen"], state["disc"]
        return state.replace_networks(
            gen=gen.replace(step=jnp.int32(n)), disc=disc.replace(step=jnp.int32(n))
        )

    on, m_on = step(with_r1, at_step(0))
    off, m_off = step(without, at_step(0))
    r1 = float(m_on["r1_penalty"])
    assert r1 > 0
    np.testing.assert_allclose(
        float(m_on["d_loss"]) - float(m_off["d_loss"]),
        0.5 * gamma * interval * r1,
        rtol=1e-4,
    )
    # Adam's first step moves each weight by ±lr whatever the gradient; its moments show
    # that R1 changed the gradient.
    assert not all(
        np.allclose(a, b)
        for a, b in zip(
            jax.tree.leaves(on["disc"].opt_state),
            jax.tree.leaves(off["disc"].opt_state),
        )
    )
    # Step 1 is not a regularised step: the same D update as without R1 (up to the
    # rounding of two differently compiled programs).
    on, m_on = step(with_r1, at_step(1))
    off, _ = step(without, at_step(1))
    assert float(m_on["r1_penalty"]) == 0.0
    for a, b in zip(
        jax.tree.leaves(on["disc"].opt_state), jax.tree.leaves(off["disc"].opt_state)
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-9)


def test_wgan_gp_option_uses_the_critic_loss_with_its_weights(state):
    """stylegan.loss=wgan_gp: D's loss is −W + λ·GP + ε·drift with the config's λ and ε;
    the default logistic loss reports none of those parts."""
    weights = {"stylegan.gradient_penalty": 3.0, "stylegan.drift": 0.5}
    config = _config(
        **{"stylegan.loss": "wgan_gp", "stylegan.r1_gamma": 0.0}, **weights
    )
    _, m = jax.jit(functools.partial(stylegan.train_step, config))(
        state, example_batch(config), jax.random.PRNGKey(3)
    )
    m = {k: float(v) for k, v in m.items()}
    assert "d_real" not in m and m["gradient_penalty"] > 0
    expected = -m["wasserstein_estimate"] + 3.0 * m["gradient_penalty"]
    assert m["d_loss"] == pytest.approx(expected + 0.5 * m["drift"], rel=1e-5)
    logistic = _config(**{"stylegan.r1_gamma": 0.0})
    _, m_logistic = jax.jit(functools.partial(stylegan.train_step, logistic))(
        state, example_batch(logistic), jax.random.PRNGKey(3)
    )
    assert float(m_logistic["g_loss"]) > 0 and "wasserstein_estimate" not in m_logistic


def test_path_length_penalty_matches_a_linear_generators_closed_form():
    rng = np.random.default_rng(1)
    b, layers, d, h, w = 3, 4, 5, 6, 7
    a = rng.standard_normal((layers, d, h, w)).astype(np.float32)
    ws = rng.standard_normal((b, layers, d)).astype(np.float32)

    def linear(v):
        return jnp.einsum("bld,ldhw->bhw", v, a)[..., None]

    key, pl_mean, decay = jax.random.PRNGKey(9), 0.4, 0.01
    penalty, new_mean = stylegan.path_length_penalty(
        linear, jnp.asarray(ws), key, pl_mean, decay
    )
    y = np.asarray(jax.random.normal(key, (b, h, w, 1))) / np.sqrt(h * w)
    jty = np.einsum("bhw,ldhw->bld", y[..., 0], a)  # J_wᵀ y of each example
    lengths = np.sqrt((jty**2).sum(2).mean(1))
    want_mean = pl_mean + decay * (lengths.mean() - pl_mean)
    np.testing.assert_allclose(float(new_mean), want_mean, rtol=1e-5)
    np.testing.assert_allclose(
        float(penalty), ((lengths - want_mean) ** 2).mean(), rtol=1e-4
    )


def test_style_mixing_figure_takes_the_masked_layers_from_the_columns(state):
    config = _config()
    layers = stylegan.num_ws(config)
    n, size = stylegan.FIGURE_SOURCES, 8

    def cells(mask):
        grid = stylegan.style_mixing_grid(
            config, state, jax.random.PRNGKey(10), np.asarray(mask)
        )
        assert grid.shape == ((n + 1) * (size + 1) + 1,) * 2 + (1,)
        return np.stack(
            [
                [
                    grid[1 + r * 9 : 1 + r * 9 + 8, 1 + c * 9 : 1 + c * 9 + 8]
                    for c in range(n + 1)
                ]
                for r in range(n + 1)
            ]
        )

    from_columns = cells([True] * layers)
    from_rows = cells([False] * layers)
    for r in range(1, n + 1):
        for c in range(1, n + 1):
            np.testing.assert_array_equal(from_columns[r, c], from_columns[0, c])
            np.testing.assert_array_equal(from_rows[r, c], from_rows[r, 0])
    mixed = cells([True] + [False] * (layers - 1))
    assert any(
        np.abs(mixed[r, c].astype(int) - mixed[r, 0]).max() > 0
        for r in range(1, n + 1)
        for c in range(1, n + 1)
    )


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"model.widths": (8, 8, 8)}, "model.widths"),
        ({"model.style": "fused"}, "model.style"),
        ({"stylegan.style_mixing": 1.5}, "stylegan.style_mixing"),
        ({"stylegan.r1_interval": 0}, "stylegan.r1_interval"),
        ({"stylegan.loss": "hinge"}, "stylegan.loss"),
        ({"stylegan.drift": -1.0}, "stylegan.drift"),
        ({"sample.truncation_cutoff": 9}, "sample.truncation_cutoff"),
        ({"data.source": "ring"}, "image data"),
    ],
)
def test_bad_configs_name_the_field(fields, match):
    config = _config(**fields)
    with pytest.raises(ConfigError, match=match):
        stylegan.init(config, jax.random.PRNGKey(0), example_batch(config))


def test_smoke_run_samples_with_truncation_and_writes_the_figures(tmp_path):
    config = _config()
    train_and_evaluate(config, str(tmp_path / "run"))
    out = export_samples(
        str(tmp_path / "run"),
        5,
        sample_flags={"truncation": 0.0},
        out=str(tmp_path / "s.npz"),
    )
    images, _ = load_samples_file(out)
    assert images.shape == (5, 8, 8, 1)
    for name in ("style_mixing_coarse", "style_mixing_fine", "w_interpolation"):
        assert (tmp_path / f"s_{name}.png").exists(), name
