"""The style-based GAN layers against their definitions: the equalized learning rate's He
constant, pixel norm, AdaIN, the modulated convolution (against the paper's per-example
weights, and its unit output variance), noise injection, truncation and style mixing."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v101jax.nn import style


@pytest.mark.parametrize("fan_in", [3, 64, 512])
@pytest.mark.parametrize("lr_multiplier", [1.0, 0.01])
def test_equalized_dense_scales_by_the_he_constant(fan_in, lr_multiplier):
    layer = style.EqualizedDense(256, lr_multiplier=lr_multiplier, bias_init=0.5)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, fan_in)), jnp.float32)
    variables = layer.init(jax.random.PRNGKey(0), x)
    kernel = np.asarray(variables["params"]["kernel"], np.float64)
    # Stored N(0, 1/λ²); used as W·√2/√fan_in·λ: the effective weight is He-initialised.
    assert kernel.std() * lr_multiplier == pytest.approx(1.0, rel=0.05)
    he = math.sqrt(2.0) / math.sqrt(fan_in)
    want = x @ (kernel * he * lr_multiplier) + 0.5
    np.testing.assert_allclose(layer.apply(variables, x), want, rtol=1e-4, atol=1e-4)
    assert (kernel * he * lr_multiplier).std() == pytest.approx(he, rel=0.05)


@pytest.mark.parametrize("kernel_size,c_in", [(1, 8), (3, 4), (3, 32)])
def test_equalized_conv_scales_by_the_he_constant(kernel_size, c_in):
    layer = style.EqualizedConv(16, kernel_size=kernel_size)
    x = jnp.asarray(
        np.random.default_rng(1).standard_normal((2, 6, 6, c_in)), jnp.float32
    )
    variables = layer.init(jax.random.PRNGKey(0), x)
    kernel = variables["params"]["kernel"]
    plain = jax.lax.conv_general_dilated(
        x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    he = math.sqrt(2.0) / math.sqrt(kernel_size * kernel_size * c_in)
    np.testing.assert_allclose(
        layer.apply(variables, x), he * plain, rtol=1e-4, atol=1e-5
    )


def test_pixel_norm_gives_unit_rms_feature_vectors():
    x = jnp.asarray(
        np.random.default_rng(2).standard_normal((3, 4, 4, 8)) * 5, jnp.float32
    )
    y = np.asarray(style.pixel_norm(x))
    np.testing.assert_allclose(np.sqrt((y**2).mean(-1)), 1.0, rtol=1e-5)
    ratio = y / np.asarray(x)  # one factor per feature vector
    np.testing.assert_allclose(
        ratio, np.broadcast_to(ratio[..., :1], ratio.shape), rtol=1e-5
    )


def test_adain_normalises_then_applies_the_style():
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.standard_normal((2, 8, 8, 3)) * 4 + 2, jnp.float32)
    scale = jnp.asarray([[1.0, 2.0, 0.5], [3.0, 1.0, 1.0]])
    bias = jnp.asarray([[0.0, -1.0, 4.0], [1.0, 2.0, 3.0]])
    y = np.asarray(style.adain(x, scale, bias))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), bias, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), scale, rtol=1e-4)


def _modulated(seed=0, demodulate=True, c_in=16, features=8):
    layer = style.ModulatedConv(features, demodulate=demodulate)
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.standard_normal((3, 40, 40, c_in)), jnp.float32)
    w = jnp.asarray(rng.standard_normal((3, 12)), jnp.float32)
    variables = layer.init(jax.random.PRNGKey(seed), x, w)
    return layer, variables, x, w


def test_modulated_convolution_equals_per_example_weights():
    """conv(x·s, W)·(1/σ) is the paper's convolution with weights s_i·w_ijk / σ_j, one set
    of weights per example (computed here one example at a time)."""
    layer, variables, x, w = _modulated()
    out = np.asarray(layer.apply(variables, x, w))
    params = variables["params"]
    s = np.asarray(
        w @ (params["affine"]["kernel"] / math.sqrt(12.0)) + params["affine"]["bias"]
    )
    kernel = np.asarray(params["kernel"]) / math.sqrt(3 * 3 * 16)
    for b in range(3):
        modulated = kernel * s[b][None, None, :, None]
        demod = modulated / np.sqrt((modulated**2).sum(axis=(0, 1, 2)) + 1e-8)
        want = jax.lax.conv_general_dilated(
            x[b : b + 1],
            jnp.asarray(demod, jnp.float32),
            (1, 1),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        np.testing.assert_allclose(out[b], np.asarray(want)[0], rtol=1e-4, atol=1e-4)


def test_demodulation_gives_unit_output_variance_per_channel():
    """For i.i.d. unit-variance inputs every output channel has variance 1 whatever the
    style; without demodulation it has Σ_{i,k} w'² instead (here far from 1)."""
    layer, variables, x, w = _modulated(seed=4)
    variables = jax.tree.map(lambda a: a * 3.0, variables)  # a style far from 1
    out = np.asarray(layer.apply(variables, x, w))[
        :, 1:-1, 1:-1
    ]  # interior: no padding
    np.testing.assert_allclose(out.var(axis=(1, 2)), 1.0, rtol=0.12)
    plain = style.ModulatedConv(8, demodulate=False)
    raw = np.asarray(plain.apply(variables, x, w))[:, 1:-1, 1:-1]
    assert np.all(np.abs(raw.var(axis=(1, 2)) - 1.0) > 0.5)


def test_noise_injection_starts_at_zero_and_scales_per_channel():
    layer = style.NoiseInjection()
    x = jnp.ones((2, 4, 4, 3))
    noise = jnp.asarray(
        np.random.default_rng(5).standard_normal((2, 4, 4, 1)), jnp.float32
    )
    variables = layer.init(jax.random.PRNGKey(0), x, noise)
    np.testing.assert_array_equal(layer.apply(variables, x, noise), x)
    scaled = {"params": {"scale": jnp.array([0.0, 1.0, 2.0])}}
    y = np.asarray(layer.apply(scaled, x, noise))
    np.testing.assert_allclose(
        y - 1.0, np.asarray(noise) * np.array([0.0, 1.0, 2.0]), atol=1e-6
    )
    drawn = layer.apply(scaled, x, rngs={"noise": jax.random.PRNGKey(1)})
    assert drawn.shape == x.shape and float(jnp.std(drawn[..., 2])) > 0.5


def test_truncation_and_style_mixing():
    rng = np.random.default_rng(6)
    w, w_mean = (
        jnp.asarray(rng.standard_normal((5, 4)), jnp.float32) for _ in range(2)
    )
    np.testing.assert_allclose(
        style.truncate(w, w_mean[:1], 0.0), np.broadcast_to(w_mean[:1], w.shape)
    )
    np.testing.assert_allclose(style.truncate(w, w_mean[:1], 1.0), w, atol=1e-6)
    w1, w2 = w, w_mean
    crossover = jnp.array([0, 2, 6, 3, 1])
    mixed = np.asarray(style.mix_styles(w1, w2, crossover, 6))
    for b, c in enumerate(np.asarray(crossover)):
        for layer in range(6):
            want = w1[b] if layer < c else w2[b]
            np.testing.assert_array_equal(mixed[b, layer], want)
