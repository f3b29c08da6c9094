"""CycleGAN: the image pool, the losses against hand values, the generator's shapes, sampling
inputs, a learning test on two domains related by a known map, and the smoke preset through
the loop with an exact resume."""

import functools
import glob
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from benchmarks.common import load_config
from tests.algorithms.translation_data import (
    SMALL_EVAL,
    fast_compiling_keys,
    fast_compiling_keys_fixture,  # noqa: F401 (autouse fixture)
    tiny_fashion_mnist,
)
from v101jax.algorithms import cyclegan
from v101jax.core.checkpoint import Checkpointer
from v101jax.core.errors import ConfigError
from v101jax.gan import image_pool
from v101jax.metrics import image_quality
from v101jax.models.cyclegan import ResNetGenerator, reflect_pad
from v101jax.training.loop import train_and_evaluate

SIZE = 16  # the learning test's images


# --- image pool ----------------------------------------------------------------------------


def _images(values):
    """One 1×1 image per value: [N, 1, 1, 1]."""
    return jnp.asarray(values, jnp.float32).reshape(-1, 1, 1, 1)


def test_pool_stores_and_returns_fakes_until_full():
    pool = image_pool.init_pool(5, (1, 1, 1))
    pool, shown = image_pool.query_pool(pool, _images([1, 2, 3]), jax.random.PRNGKey(0))
    np.testing.assert_array_equal(shown, _images([1, 2, 3]))
    pool, shown = image_pool.query_pool(pool, _images([4, 5]), jax.random.PRNGKey(1))
    np.testing.assert_array_equal(shown, _images([4, 5]))
    assert int(pool["count"]) == 5
    np.testing.assert_array_equal(pool["images"].ravel(), [1, 2, 3, 4, 5])


def test_full_pool_swaps_half_the_fakes_for_stored_ones():
    """Once full, each fake is returned with probability ½, else a stored image is returned
    and the fake takes its slot: the pool always holds the images not shown."""
    size, n = 50, 2000
    pool = image_pool.init_pool(size, (1, 1, 1))
    pool, _ = image_pool.query_pool(
        pool, _images(-np.arange(1, size + 1)), jax.random.PRNGKey(0)
    )
    fakes = np.arange(1, n + 1, dtype=np.float32)  # distinct, positive
    before = np.asarray(pool["images"]).ravel()
    pool, shown = image_pool.query_pool(pool, _images(fakes), jax.random.PRNGKey(1))
    shown = np.asarray(shown).ravel()
    own = shown == fakes
    assert abs(own.mean() - 0.5) < 0.05  # binomial(2000, ½): 4.5 standard deviations
    # Conservation: what went in (old pool + fakes) = what came out (shown + new pool).
    after = np.asarray(pool["images"]).ravel()
    np.testing.assert_array_equal(
        np.sort(np.concatenate([before, fakes])),
        np.sort(np.concatenate([shown, after])),
    )
    # A swapped-out image is an earlier one: never a fake from later in the batch.
    for i in np.flatnonzero(~own)[:200]:
        assert shown[i] < 0 or shown[i] < fakes[i]


def test_pool_of_size_zero_is_the_identity():
    pool = image_pool.init_pool(0, (1, 1, 1))
    fakes = _images([3, 1, 2])
    _, shown = image_pool.query_pool(pool, fakes, jax.random.PRNGKey(0))
    np.testing.assert_array_equal(shown, fakes)


def test_pool_round_trips_through_a_checkpoint(tmp_path):
    pool = image_pool.init_pool(4, (2, 2, 1))
    pool, _ = image_pool.query_pool(
        pool, jnp.arange(24.0).reshape(6, 2, 2, 1), jax.random.PRNGKey(3)
    )
    ckpt = Checkpointer(str(tmp_path), max_to_keep=1)
    ckpt.save(1, {"pool": pool})
    ckpt.close()
    restored = Checkpointer(str(tmp_path), max_to_keep=1).restore(
        1, {"pool": jax.tree.map(jnp.zeros_like, pool)}
    )["pool"]
    np.testing.assert_array_equal(restored["images"], pool["images"])
    assert int(restored["count"]) == 4


# --- losses and networks -------------------------------------------------------------------


def test_cycle_and_identity_losses_are_mean_absolute_errors():
    x = jnp.array([1.0, -1.0, 0.5, 0.0]).reshape(1, 2, 2, 1)
    y = jnp.array([0.0, 0.0, 0.0, 1.0]).reshape(1, 2, 2, 1)
    want = (1 + 1 + 0.5 + 1) / 4
    assert float(cyclegan.cycle_loss(x, y)) == pytest.approx(want)
    assert float(cyclegan.identity_loss(x, y)) == pytest.approx(want)


def test_generator_adversarial_loss_is_the_mse_to_the_real_label():
    scores = jnp.array([0.0, 1.0, 3.0])
    want = ((0 - 1) ** 2 + 0 + (3 - 1) ** 2) / 3
    assert float(cyclegan.generator_adversarial_loss(scores)) == pytest.approx(want)


def test_reflect_pad_mirrors_without_repeating_the_edge():
    x = jnp.arange(3.0).reshape(1, 1, 3, 1)
    padded = reflect_pad(jnp.tile(x, (1, 3, 1, 1)), 2)
    np.testing.assert_array_equal(padded[0, 2, :, 0], [2, 1, 0, 1, 2, 1, 0])


def test_resnet_generator_keeps_the_image_size_and_range():
    gen = ResNetGenerator(out_channels=3, channels=4, num_blocks=2)
    x = jnp.asarray(np.random.default_rng(0).normal(0, 50, (2, 12, 8, 1)), jnp.float32)
    y = jax.jit(lambda x: gen.apply(gen.init(jax.random.PRNGKey(0), x), x))(x)
    assert y.shape == (2, 12, 8, 3)
    assert float(jnp.max(jnp.abs(y))) <= 1.0


# --- the learning test on a known map --------------------------------------------------------


def _discs(n, seed):
    """White discs (radius 2–5, anywhere at least 4 px from the border) on black, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE] + 0.5
    cy, cx = (rng.uniform(4, SIZE - 4, (n, 1, 1)) for _ in range(2))
    radius = rng.uniform(2, 5, (n, 1, 1))
    mask = np.clip(radius - np.hypot(yy - cy, xx - cx) + 0.5, 0, 1)  # anti-aliased edge
    return (2 * mask - 1).astype(np.float32)[..., None]


def true_map(a):
    """A → B of the learning test: the black background turns mid-grey, discs stay white."""
    return (a + 1) / 2


def true_inverse(b):
    return 2 * b - 1


LEARNING = {
    "model.channels": 8,
    "cyclegan.res_blocks": 2,
    "cyclegan.pool_size": 50,
    "data.batch_size": 16,
    "optim.learning_rate": 1e-3,
    "d_optim.learning_rate": 1e-3,
    "optim.schedule": "constant",
    "d_optim.schedule": "constant",
}
STEPS = 300
PSNR_BAR = 20.0


@pytest.fixture(scope="module")
def setup():
    """(config, a fresh state, the compiled train step) for 16×16 two-domain batches."""
    config = load_config("configs/cyclegan.py:smoke", LEARNING)
    example = {"a": _discs(16, 0), "b": true_map(_discs(16, 1))}
    with fast_compiling_keys():  # module fixtures start before the autouse one
        state = jax.jit(functools.partial(cyclegan.init, config))(
            jax.random.PRNGKey(0), example
        )
    step = jax.jit(functools.partial(cyclegan.train_step, config))
    return config, state, step


def _psnr_against_the_true_map(state, a, b):
    gen = state["gen"]
    to_b = cyclegan.translate(gen, gen.params, a, cyclegan.DOMAIN_B)
    to_a = cyclegan.translate(gen, gen.params, b, cyclegan.DOMAIN_A)
    return (
        float(jnp.mean(image_quality.psnr(to_b, true_map(a)))),
        float(jnp.mean(image_quality.psnr(to_a, true_inverse(b)))),
    )


def test_losses_at_zero_scores_and_the_generator_objective(setup):
    """With both discriminators' last layers zeroed every score is 0: each D loss is
    ½(E(0 − 1)² + E 0²) = ½ and each G adversarial term (0 − 1)² = 1; G's loss adds
    λ_cyc = 10 times both cycle terms and 0.5·λ_cyc times both identity terms."""
    config, state, step = setup
    disc = state["disc"]
    params = {}
    for name, p in disc.params.items():
        last = max(p, key=lambda k: int(k.split("_")[-1]))
        params[name] = {**p, last: jax.tree.map(jnp.zeros_like, p[last])}
    state = state.replace_networks(disc=disc.replace(params=params))
    batch = {"a": _discs(16, 5), "b": true_map(_discs(16, 6))}
    _, m = step(state, batch, jax.random.PRNGKey(1))
    assert float(m["d_loss_a"]) == pytest.approx(0.5) and float(m["d_loss_b"]) == 0.5
    assert float(m["g_adversarial_ab"]) == pytest.approx(1.0)
    assert float(m["g_adversarial_ba"]) == pytest.approx(1.0)
    c = config.cyclegan
    assert (c.cycle_weight, c.identity_weight) == (10.0, 0.5)
    want = 2.0 + 10.0 * (float(m["cycle_l1_a"]) + float(m["cycle_l1_b"]))
    want += 5.0 * (float(m["identity_l1_a"]) + float(m["identity_l1_b"]))
    assert float(m["g_loss"]) == pytest.approx(want, rel=1e-5)
    assert int(state["disc"].model_state["pool_a"]["count"]) == 0


def test_learns_a_known_map_it_never_saw_paired(setup):
    """Trained on unpaired discs (A: on black; B: other discs, on grey), G recovers the
    background map and F its inverse: 300 steps reach 20 dB against the true map in both
    directions (measured 28.4 and 24.7 dB), where the untrained networks give 13.7 dB
    (A → B: their mid-grey output is the target's background) and 5.8 dB. Checked by hand
    with the same steps: without the cycle term (cycle_weight 0) 18.5 and 9.2 dB (the
    translations look like B but lose their input's disc); with the discriminators' loss
    sign flipped 8.0 and 4.1 dB. (Flipping the generators' LSGAN term is no test: (D − 1)²
    also grows as D's score rises past 1, so G is still pushed off the identity; 24.5 and
    22.3 dB.)"""
    _, state, step = setup
    train_a, train_b = _discs(16 * STEPS, 2), true_map(_discs(16 * STEPS, 3))
    held_a, held_b = _discs(128, 9), true_map(_discs(128, 10))
    before = _psnr_against_the_true_map(state, held_a, held_b)
    for i in range(STEPS):
        batch = {
            "a": train_a[16 * i : 16 * (i + 1)],
            "b": train_b[16 * i : 16 * (i + 1)],
        }
        state, _ = step(state, batch, jax.random.PRNGKey(2))
    after = _psnr_against_the_true_map(state, held_a, held_b)
    assert max(before) < PSNR_BAR - 5, before
    print("PSNR against the true map: before", before, "after", after)
    assert min(after) > PSNR_BAR, after
    assert int(state["disc"].model_state["pool_b"]["count"]) == 50


# --- sampling ------------------------------------------------------------------------------


def test_sample_translates_each_image_into_its_requested_domain(setup):
    config, state, _ = setup
    a = _discs(4, 7)
    with pytest.raises(ConfigError, match="'domain'"):
        cyclegan.sample(config, state, jax.random.PRNGKey(0), 4, inputs={"source": a})
    domain = jnp.array([1, 0, 1, 0], jnp.int32)
    out = cyclegan.sample(
        config, state, jax.random.PRNGKey(0), 4, inputs={"source": a, "domain": domain}
    )
    gen = state["gen"]
    np.testing.assert_allclose(
        out[0::2], cyclegan.translate(gen, gen.params, a[0::2], 1), atol=1e-5
    )
    np.testing.assert_allclose(
        out[1::2], cyclegan.translate(gen, gen.params, a[1::2], 0), atol=1e-5
    )
    assert (
        float(jnp.max(jnp.abs(out[0] - cyclegan.translate(gen, gen.params, a, 0)[0])))
        > 1e-3
    )
    held = {"a": np.full((5, 2, 2, 1), -1.0), "b": np.full((5, 2, 2, 1), 1.0)}
    inputs = cyclegan.sampling_inputs(config, 5, lambda n: held)
    np.testing.assert_array_equal(inputs["domain"], [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(inputs["source"][:3], held["a"][:3])
    np.testing.assert_array_equal(inputs["source"][3:], held["b"][:2])


def test_paired_data_is_a_config_error():
    config = load_config("configs/cyclegan.py:smoke", {"data.source": "fashion_edges"})
    example = {"a": np.zeros((2, 28, 28, 1)), "b": np.zeros((2, 28, 28, 1))}
    with pytest.raises(ConfigError, match="unpaired"):
        cyclegan.init(config, jax.random.PRNGKey(0), example)


# --- through the loop ----------------------------------------------------------------------


def _leaves(state):
    return jax.tree.leaves(jax.device_get(state.checkpoint_tree()))


def test_smoke_preset_trains_evaluates_and_resumes_exactly(tmp_path):
    """Four steps with a checkpoint at 2; the same run restarted from step 2 (the step-4
    checkpoint removed) ends bitwise equal, image pools included; grids pair each held-out
    source with its translation; the evaluate hook's metrics are logged."""
    data_dir = tmp_path / "fashion"
    data_dir.mkdir()
    tiny_fashion_mnist(data_dir, num_classes=2)  # 24 + 8 images of classes 0 and 1
    overrides = {
        **SMALL_EVAL,
        "data.fashion_mnist_dir": str(data_dir),
        "data.domain_classes": (1, 0),
        "data.batch_size": 4,
        "train.num_steps": 4,
        "eval.every_steps": 4,
    }
    config = load_config("configs/cyclegan.py:smoke", overrides)
    run = tmp_path / "run"
    straight = train_and_evaluate(config, str(run))
    assert int(straight.step) == 4
    assert int(straight["disc"].model_state["pool_a"]["count"]) == 4  # pool_size 4
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(run, resumed_dir)
    shutil.rmtree(resumed_dir / "checkpoints" / "4")
    resumed = train_and_evaluate(config, str(resumed_dir))
    for x, y in zip(_leaves(straight), _leaves(resumed), strict=True):
        np.testing.assert_array_equal(x, y)
    grid = max(glob.glob(os.path.join(run, "samples", "*.png")))
    # 4 samples (2 A → B, 2 B → A): 2 rows of 2 (source | output) pairs of 28×28 tiles.
    assert np.asarray(Image.open(grid)).shape == (2 * 29 + 1, 4 * 29 + 1)
    import tensorflow as tf

    tags = set()
    for path in glob.glob(os.path.join(run, "events.out.tfevents*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    want = {
        "eval/cycle_l1_a",
        "eval/cycle_l1_b",
        "eval/accuracy_ab",
        "eval/accuracy_ba",
    }
    assert want | {"eval/fmnist_fd", "train/cycle_l1_a"} <= tags
