"""GigaGAN-style networks: the image pyramid, padding-blind text conditioning through the
style and cross-attention, the multi-scale discriminator, and training steps."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from tests.text_to_image.caption_batches import random_caption_batch
from v101jax.algorithms import text_gan
from v101jax.core.errors import ConfigError
from v101jax.models import gigagan
from v101jax.nn.text import TextEncoder
from v101jax.training.loop import example_batch


def _generator(cross_attention_levels=(1, 2)):
    encoder = TextEncoder(
        vocab_size=12, width=16, num_layers=1, num_heads=2, max_length=16
    )
    return gigagan.TextStyleGenerator(
        encoder,
        widths=(8, 8, 8, 8),
        w_dim=16,
        mapping_layers=2,
        code_dim=16,
        cross_attention_levels=cross_attention_levels,
        pyramid_levels=3,
    )


def _randomised(variables, seed=1):
    """Every parameter redrawn, so zero-initialised output projections carry signal too."""
    leaves, tree = jax.tree.flatten(variables)
    keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
    return jax.tree.unflatten(
        tree, [0.3 * jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves)]
    )


def test_image_pyramid_is_average_pooling():
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 1)).astype(np.float32)
    pyramid = gigagan.image_pyramid(jnp.asarray(x), 3)
    assert [p.shape[1] for p in pyramid] == [2, 4, 8]
    want = x.reshape(2, 4, 2, 4, 2, 1).mean(axis=(2, 4))
    np.testing.assert_allclose(pyramid[1], want, atol=1e-6)
    np.testing.assert_allclose(
        pyramid[0], want.reshape(2, 2, 2, 2, 2, 1).mean((2, 4)), atol=1e-6
    )


def test_generator_pyramid_and_text_conditioning_blind_to_padding():
    gen = _generator()
    z = jax.random.normal(jax.random.PRNGKey(0), (2, 8))
    tokens = jnp.array([[2, 3, 4, 0, 0, 0, 0, 0], [5, 6, 0, 0, 0, 0, 0, 0]], jnp.int32)
    rngs = {"params": jax.random.PRNGKey(1), "noise": jax.random.PRNGKey(2)}
    variables = gen.init(rngs, z, tokens, train=False)
    # The cross-attention blocks exist at the asked levels (8 and 16 px) only.
    names = set(variables["params"])
    assert {"cross_attention1", "cross_attention2"} <= names
    assert "cross_attention0" not in names and "cross_attention3" not in names
    variables = {**variables, "params": _randomised(variables["params"])}

    @jax.jit
    def run(t):
        return gen.apply(
            variables, z, t, train=False, rngs={"noise": jax.random.PRNGKey(3)}
        )

    pyramid = run(tokens)
    assert [p.shape for p in pyramid] == [(2, 8, 8, 1), (2, 16, 16, 1), (2, 32, 32, 1)]
    # Padding to 16 tokens changes nothing: padded tokens are masked in the encoder and in
    # every cross-attention.
    longer = run(jnp.pad(tokens, ((0, 0), (0, 8))))
    for a, b in zip(pyramid, longer):
        np.testing.assert_allclose(a, b, atol=1e-4)
    # A real word changes the image; the other caption's image stays.
    changed = run(tokens.at[0, 1].set(9))
    assert np.abs(np.asarray(changed[-1][0] - pyramid[-1][0])).max() > 1e-3
    np.testing.assert_allclose(changed[-1][1], pyramid[-1][1], atol=1e-5)


def test_cross_attention_carries_the_tokens_besides_the_style():
    """With the global code cut off (a zero projection), the caption reaches the image only
    through cross-attention: without cross-attention two captions give the same image."""
    z = jax.random.normal(jax.random.PRNGKey(0), (1, 8))
    a = jnp.array([[2, 3, 4, 0, 0, 0, 0, 0]], jnp.int32)
    b = jnp.array([[5, 3, 7, 0, 0, 0, 0, 0]], jnp.int32)
    differences = {}
    for levels in ((), (1, 2)):
        gen = _generator(levels)
        rngs = {"params": jax.random.PRNGKey(1), "noise": jax.random.PRNGKey(2)}
        variables = gen.init(rngs, z, a, train=False)
        params = _randomised(variables["params"])
        params["text_projection"]["kernel"] = jnp.zeros_like(
            params["text_projection"]["kernel"]
        )
        out = [
            gen.apply(
                {**variables, "params": params},
                z,
                t,
                train=False,
                rngs={"noise": jax.random.PRNGKey(3)},
            )[-1]
            for t in (a, b)
        ]
        differences[levels] = float(jnp.abs(out[0] - out[1]).max())
    assert differences[()] < 1e-6
    assert differences[(1, 2)] > 1e-3


def test_multiscale_discriminator_scores_every_level_and_the_text():
    encoder = TextEncoder(vocab_size=12, width=16, num_layers=1, max_length=8)
    disc = gigagan.MultiScaleTextDiscriminator(
        encoder, widths=(16, 16, 8, 8), group_size=2
    )
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 32, 32, 1))
    tokens = jnp.array([[2, 3, 0, 0, 0, 0, 0, 0]] * 4, jnp.int32)
    pyramid = gigagan.image_pyramid(x, 3)
    variables = disc.init(jax.random.PRNGKey(1), pyramid, tokens, train=False)
    scores, aux = disc.apply(variables, pyramid, tokens, train=False)
    assert scores.shape == (4, 3) and aux["features"].shape == (4, 3 * 16)
    other, _ = disc.apply(variables, pyramid, tokens.at[:, 1].set(7), train=False)
    assert np.abs(np.asarray(other - scores)).min() > 0  # every level reads the text
    # Each level's score depends on its own image only.
    moved = [pyramid[0], pyramid[1] + 1.0, pyramid[2]]
    shifted, _ = disc.apply(variables, moved, tokens, train=False)
    np.testing.assert_allclose(shifted[:, [0, 2]], scores[:, [0, 2]], atol=1e-5)
    assert np.abs(np.asarray(shifted[:, 1] - scores[:, 1])).min() > 0


def test_smoke_config_trains_with_r1_and_samples_final_images():
    config = text_gan.resolve_config(load_config("configs/gigagan.py:smoke"))
    batch = random_caption_batch(config)
    state = jax.jit(functools.partial(text_gan.init, config))(
        jax.random.PRNGKey(0), batch
    )
    step = jax.jit(functools.partial(text_gan.train_step, config))
    state, metrics = step(state, batch, jax.random.PRNGKey(1))
    assert int(state.step) == 1
    assert all(np.isfinite(float(v)) for v in metrics.values())
    assert float(metrics["r1_penalty"]) > 0 and "g_interpolation_loss" in metrics
    samples = text_gan.sample(
        config,
        state,
        jax.random.PRNGKey(2),
        2,
        inputs={"tokens": batch["captions"][:2, 0]},
    )
    assert samples.shape == (2, 32, 32, 1)
    bad = load_config("configs/gigagan.py:smoke")
    with bad.unlocked():
        bad.data.pad = 0  # 28 px data for a 32 px generator
    with pytest.raises(ConfigError, match="model.widths"):
        text_gan.init(
            text_gan.resolve_config(bad), jax.random.PRNGKey(0), example_batch(bad)
        )
