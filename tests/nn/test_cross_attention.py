"""Cross-attention against a NumPy re-derivation, the masking of padded tokens, and the U-Net's
cross-attention path (shapes, labels as one token, an error without context)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.keys import fast_compiling_keys_fixture  # noqa: F401 - autouse
from v101jax.nn.attention import CrossAttention, CrossAttention2D
from v101jax.nn.unet import UNet


def _randomised(variables, seed=0):
    """Every parameter redrawn (the output projection starts at zero: the block would be
    the identity and every check below vacuous)."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda x: jnp.asarray(0.5 * rng.standard_normal(x.shape), jnp.float32),
        variables,
    )


def _numpy_cross_attention(params, x, context, mask, num_heads):
    """x + W_O · softmax(Q Kᵀ / √d, masked) V with LayerNorm'd queries, in float64."""
    x, context = np.asarray(x, np.float64), np.asarray(context, np.float64)
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    ln = params["LayerNorm_0"]
    y = (x - mean) / np.sqrt(var + 1e-6) * np.asarray(ln["scale"]) + np.asarray(
        ln["bias"]
    )

    def dense(name, inp):
        p = params[name]
        return np.einsum("bnc,chd->bnhd", inp, np.asarray(p["kernel"])) + np.asarray(
            p["bias"]
        )

    q, k, v = dense("query", y), dense("key", context), dense("value", context)
    logits = np.einsum("bnhd,blhd->bhnl", q, k) / np.sqrt(q.shape[-1])
    logits = np.where(mask[:, None, None, :], logits, -np.inf)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    out = np.einsum("bhnl,blhd->bnhd", weights, v)
    o = params["out"]
    return (
        x
        + np.einsum("bnhd,hdc->bnc", out, np.asarray(o["kernel"]))
        + np.asarray(o["bias"])
    )


def test_cross_attention_matches_numpy_and_ignores_padded_tokens():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2, 5, 8)), jnp.float32)
    context = jnp.asarray(rng.standard_normal((2, 4, 6)), jnp.float32)
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    block = CrossAttention(num_heads=2, num_groups=0)
    variables = _randomised(block.init(jax.random.PRNGKey(0), x, context, mask))
    out = np.asarray(block.apply(variables, x, context, mask))
    want = _numpy_cross_attention(variables["params"], x, context, mask, 2)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)

    # Padded tokens carry no weight: changing them leaves the output as it was, while
    # changing a real token moves it.
    padded = context.at[0, 2:].set(100.0)
    np.testing.assert_allclose(
        block.apply(variables, x, padded, mask), out, rtol=1e-5, atol=1e-5
    )
    moved = block.apply(variables, x, context.at[0, 0].set(3.0), mask)
    assert np.abs(np.asarray(moved)[0] - out[0]).max() > 1e-2
    # A fresh block is the identity (zero output projection).
    fresh = block.init(jax.random.PRNGKey(0), x, context, mask)
    np.testing.assert_array_equal(block.apply(fresh, x, context, mask), x)


def test_cross_attention_2d_attends_from_every_position():
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((2, 4, 4, 8)), jnp.float32)
    context = jnp.asarray(rng.standard_normal((2, 3, 6)), jnp.float32)
    block = CrossAttention2D(num_heads=2, num_groups=4)
    variables = _randomised(block.init(jax.random.PRNGKey(0), x, context))
    out = block.apply(variables, x, context)
    assert out.shape == x.shape
    # Swapping the two images' contexts changes both images' outputs.
    swapped = block.apply(variables, x, context[::-1])
    assert np.all(np.abs(np.asarray(swapped - out)).reshape(2, -1).max(-1) > 1e-2)


def test_unet_cross_attention_path_with_labels_as_one_token():
    x = jnp.zeros((3, 8, 8, 1))
    t = jnp.zeros((3,), jnp.int32)
    labels = jnp.array([0, 1, 2])
    net = UNet(
        channels=8,
        channel_mult=(1, 2),
        num_res_blocks=1,
        attention_resolutions=(4,),
        num_groups=4,
        num_classes=3,
        cross_attention=True,
        label_tokens=True,
    )
    variables = jax.jit(lambda key: net.init(key, x, t, labels, train=False))(
        jax.random.PRNGKey(0)
    )
    params = variables["params"]
    # Cross-attention after every self-attention: the 4×4 level's one block down, two up,
    # and the middle block.
    count = lambda prefix: sum(k.startswith(prefix) for k in params)
    assert count("CrossAttention2D") == count("SelfAttention2D") == 4
    randomised = {"params": _randomised(params)}
    apply = jax.jit(lambda v, y: net.apply(v, x + 0.3, t, y, train=False))
    out = apply(randomised, labels)
    assert out.shape == x.shape
    other = apply(randomised, jnp.array([1, 1, 1]))
    differs = np.abs(np.asarray(other - out)).reshape(3, -1).max(-1) > 1e-4
    assert differs.tolist() == [True, False, True]  # only images whose label changed

    plain = UNet(channels=8, channel_mult=(1,), num_groups=4, cross_attention=True)
    with pytest.raises(ValueError, match="needs context"):
        plain.init(jax.random.PRNGKey(0), x, t, train=False)
    context = jnp.ones((3, 2, 5))
    out = plain.apply(
        plain.init(jax.random.PRNGKey(0), x, t, train=False, context=context),
        x,
        t,
        train=False,
        context=context,
    )
    assert out.shape == x.shape
