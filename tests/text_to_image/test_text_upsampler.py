"""GigaGAN's text-conditioned upsampler: the network's bicubic residual and text paths, the
low-resolution filter, config checks, a learning test where only the caption says what the
source lost, and the two-stage run (a gigagan base, then the upsampler) sampled from prompts."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax.traverse_util import flatten_dict, unflatten_dict

from benchmarks.common import load_config
from v101jax.algorithms import text_gan, text_upsampler
from v101jax.core.errors import ConfigError
from v101jax.models import gigagan, superres
from v101jax.nn.text import TextEncoder
from v101jax.training import export
from v101jax.training.loop import example_batch, train_and_evaluate


def _upsampler(factor=2):
    encoder = TextEncoder(vocab_size=12, width=16, num_layers=1, max_length=8)
    return gigagan.TextUpsampler(
        encoder,
        widths=(8, 8, 8, 8),
        factor=factor,
        w_dim=16,
        mapping_layers=2,
        code_dim=16,
        pyramid_levels=3,
    )


def test_upsampler_adds_to_the_bicubic_resize_of_its_source_and_reads_the_text():
    net = _upsampler()
    rng = np.random.default_rng(0)
    z = jnp.asarray(rng.standard_normal((2, 8)), jnp.float32)
    source = jnp.asarray(rng.uniform(-1, 1, (2, 16, 16, 1)), jnp.float32)
    tokens = jnp.array([[2, 3, 4, 0, 0, 0], [5, 6, 0, 0, 0, 0]], jnp.int32)
    keys = {"params": jax.random.PRNGKey(1), "noise": jax.random.PRNGKey(2)}
    variables = net.init(keys, z, tokens, source, train=False)

    def run(params, t=tokens, s=source):
        return net.apply(
            {**variables, "params": params},
            z,
            t,
            s,
            train=False,
            rngs={"noise": jax.random.PRNGKey(3)},
        )

    # With every to-RGB output zeroed, each level is the source's bicubic resize.
    flat = flatten_dict(variables["params"])
    silent = unflatten_dict(
        {
            k: jnp.zeros_like(v) if k[0].startswith("to_rgb") else v
            for k, v in flat.items()
        }
    )
    pyramid = run(silent)
    assert [p.shape[1] for p in pyramid] == [8, 16, 32]
    np.testing.assert_allclose(
        pyramid[-1], superres.bicubic_upscale(source, 2), atol=1e-5
    )
    np.testing.assert_allclose(pyramid[1], source, atol=1e-5)  # 16 px: itself
    # Trained-like weights: the network adds detail that depends on the caption (a changed
    # word changes that caption's image only) and not on padding.
    noisy = unflatten_dict(
        {
            k: v + 0.3 * jax.random.normal(jax.random.PRNGKey(i), v.shape)
            for i, (k, v) in enumerate(flat.items())
        }
    )
    out = run(noisy)[-1]
    assert float(jnp.abs(out - superres.bicubic_upscale(source, 2)).mean()) > 1e-2
    changed = run(noisy, t=tokens.at[0, 1].set(9))[-1]
    assert float(jnp.abs(changed[0] - out[0]).max()) > 1e-3
    np.testing.assert_allclose(changed[1], out[1], atol=1e-5)
    longer = net.apply(
        {**variables, "params": noisy},
        z,
        jnp.pad(tokens, ((0, 0), (0, 2))),
        source,
        train=False,
        rngs={"noise": jax.random.PRNGKey(3)},
    )[-1]
    np.testing.assert_allclose(longer, out, atol=1e-5)
    with pytest.raises(ValueError, match="16 px sources × 4"):
        _upsampler(factor=4).init(keys, z, tokens, source, train=False)


def test_low_resolution_is_average_pooling_by_the_factor():
    config = load_config("configs/gigagan_upsampler.py:smoke")
    x = np.random.default_rng(0).standard_normal((2, 32, 32, 1)).astype(np.float32)
    for factor in (2, 4):
        with config.unlocked():
            config.model.upsample_factor = factor
        low = text_gan.low_resolution(config, jnp.asarray(x))
        n = 32 // factor
        want = x.reshape(2, n, factor, n, factor, 1).mean(axis=(2, 4))
        np.testing.assert_allclose(low, want, atol=1e-6)


def test_configs_that_do_not_fit_are_refused():
    def init(config):
        config = text_gan.resolve_config(config)
        return text_upsampler.init(config, jax.random.PRNGKey(0), example_batch(config))

    config = load_config("configs/gigagan_upsampler.py:smoke")
    for field, value, message in (
        ("upsample_factor", 3, "power of 2"),
        ("upsample_factor", 16, "at least 4 px"),
    ):
        bad = config.copy_and_resolve_references()
        bad.model[field] = value
        with pytest.raises(ConfigError, match=message):
            init(bad)
    bad = config.copy_and_resolve_references()
    bad.sample.sampler = "nearest"
    with pytest.raises(ConfigError, match="sample.sampler='nearest'"):
        init(bad)
    # The upsampler's network belongs to its algorithm, and only it reconstructs.
    bad = config.copy_and_resolve_references()
    bad.algorithm = "text_gan"
    with pytest.raises(ConfigError, match="text_upsampler"):
        text_gan.init(text_gan.resolve_config(bad), jax.random.PRNGKey(0), {})
    base = load_config("configs/gigagan.py:smoke")
    with base.unlocked():
        base.gan.reconstruction_weight = 1.0
    with pytest.raises(ConfigError, match="reconstruction_weight"):
        text_gan.init(text_gan.resolve_config(base), jax.random.PRNGKey(0), {})


CHECKER_WORDS = ("<pad>", "<unk>", "a", "checker", "of", "phase", "one", "two")


def _checker_batch(rng, n, config):
    """32 px images c · (2-px checkerboard of phase 0 or 1): both pool to 0 at 8 px, so
    only the caption ("a checker of phase one/two") says which one the source came from."""
    phase = rng.integers(0, 2, n)
    yy, xx = np.mgrid[:32, :32]
    board = np.where(((yy // 2) + (xx // 2)) % 2 == 0, 1.0, -1.0)
    sign = np.where(phase == 0, 1.0, -1.0)[:, None, None]
    x = (0.8 * sign * board[None])[..., None].astype(np.float32)
    words = ("a", "checker", "of", "phase")
    ids = [CHECKER_WORDS.index(w) for w in words]
    length = config.data.caption_length
    captions = np.zeros((n, 1, length), np.int32)
    captions[:, 0, : len(ids)] = ids
    captions[:, 0, len(ids)] = np.where(phase == 0, 6, 7)
    return {
        "x": jnp.asarray(x),
        "captions": jnp.asarray(captions),
        "description": jnp.asarray(phase, jnp.int32),
        "label": jnp.asarray(phase, jnp.int32),
    }, board


def test_upsampler_learns_from_the_caption_what_the_source_lost():
    config = load_config("configs/gigagan_upsampler.py:smoke")
    with config.unlocked():
        config.text.vocabulary = CHECKER_WORDS
        config.model.upsample_factor = 4  # 32 → 8 px: the checkerboards pool to 0
        config.model.widths = (16, 16, 16, 16)
        config.train.num_steps = 300
        config.data.batch_size = 16
    rng = np.random.default_rng(0)
    batch, board = _checker_batch(rng, 16, config)
    state = jax.jit(functools.partial(text_upsampler.init, config))(
        jax.random.PRNGKey(0), batch
    )
    step = jax.jit(functools.partial(text_upsampler.train_step, config))
    for _ in range(config.train.num_steps):
        batch, _ = _checker_batch(rng, 16, config)
        state, metrics = step(state, batch, jax.random.PRNGKey(1))
    assert np.isfinite(float(metrics["g_loss"]))

    test, _ = _checker_batch(np.random.default_rng(1), 64, config)
    phase = np.asarray(test["label"])
    source = text_gan.low_resolution(config, test["x"])
    assert float(jnp.abs(source).max()) < 1e-6  # the source holds no phase

    def phases(captions):
        out = text_upsampler.sample(
            config,
            state,
            jax.random.PRNGKey(2),
            64,
            inputs={"tokens": captions, "source": source},
        )
        return np.where(np.einsum("nhwc,hw->n", np.asarray(out), board) > 0, 0, 1)

    captions = test["captions"][:, 0]
    assert np.mean(phases(captions) == phase) >= 0.9
    # Swapping "one" and "two" in the captions swaps the drawn phase.
    swapped = jnp.where(captions == 6, 7, jnp.where(captions == 7, 6, captions))
    assert np.mean(phases(swapped) == 1 - phase) >= 0.9


def test_two_stage_run_samples_prompts_through_the_base(tmp_path):
    base_dir, up_dir = str(tmp_path / "base"), str(tmp_path / "up")
    train_and_evaluate(load_config("configs/gigagan.py:smoke"), base_dir)
    config = load_config("configs/gigagan_upsampler.py:smoke")
    with config.unlocked():
        config.upsampler.base_workdir = base_dir
    train_and_evaluate(config, up_dir)

    run = export.load_run_config(up_dir)
    assert run.upsampler.base.algorithm == "text_gan"
    base_config = export.load_run_config(base_dir)
    assert tuple(run.text.vocabulary) == tuple(base_config.text.vocabulary)
    state = export.load_state(run, up_dir)
    base_state = export.load_state(base_config, base_dir)
    # The frozen base is the base run's averaged generator, untouched by training.
    for a, b in zip(
        jax.tree.leaves(state["base_generator"]),
        jax.tree.leaves(base_state["gen"].ema_params),
    ):
        np.testing.assert_array_equal(a, b)

    tokens = text_gan.prompt_inputs(run, ["a dark coat"] * 3)["tokens"]
    rng = jax.random.PRNGKey(5)
    outputs = {}
    for sampler in text_upsampler.SAMPLERS:
        cfg = run.copy_and_resolve_references()
        cfg.sample.sampler = sampler
        outputs[sampler] = text_upsampler.sample(
            cfg, state, rng, 3, inputs={"tokens": tokens}
        )
        assert outputs[sampler].shape == (3, 32, 32, 1)
    # bicubic and the upsampler lift the same base samples: the base's 16 px level.
    low, full = text_upsampler.base_samples(
        run, state, tokens, jax.random.split(rng, 3)[0]
    )
    assert low.shape == (3, 16, 16, 1)
    np.testing.assert_allclose(
        outputs["bicubic"], superres.bicubic_upscale(low, 2), atol=1e-5
    )
    np.testing.assert_allclose(outputs["base"], full, atol=1e-5)
    assert float(jnp.abs(outputs["upsampler"] - outputs["bicubic"]).mean()) > 1e-3
    out, scores = export.export_prompts(
        up_dir, ["a dark coat", "a sandal"], 4, out=str(tmp_path / "p.npz")
    )
    with np.load(out) as f:
        assert f["images"].shape == (8, 32, 32, 1)
    assert {s["prompt"] for s in scores} == {"a dark coat", "a sandal"}
    # Without a base run, sampling from captions alone names what is missing.
    alone = load_config("configs/gigagan_upsampler.py:smoke")
    alone = text_gan.resolve_config(alone)
    lone_state = text_upsampler.init(alone, jax.random.PRNGKey(0), example_batch(alone))
    with pytest.raises(ConfigError, match="upsampler.base_workdir"):
        text_upsampler.sample(alone, lone_state, rng, 3, inputs={"tokens": tokens})
