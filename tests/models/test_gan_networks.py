"""GAN networks: DCGAN shapes and initialisation, spectral norm, minibatch std-dev and
discrimination, conditioning."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial.distance import pdist

from v101jax.gan.diagnostics import mean_pairwise_distance
from v101jax.models import gan as nets
from v101jax.nn.minibatch import MinibatchDiscrimination, minibatch_stddev


@pytest.mark.parametrize("size, channels, stages", [(28, 1, 2), (32, 3, 3), (64, 3, 4)])
def test_dcgan_shapes_at_28_32_64(size, channels, stages):
    assert nets.num_upsamplings(size) == stages
    gen = nets.DCGANGenerator(image_size=size, out_channels=channels, channels=8)
    disc = nets.DCGANDiscriminator(channels=8, minibatch_std=2)
    z = jnp.zeros((4, 16))
    x = jnp.zeros((4, size, size, channels))
    key = jax.random.PRNGKey(0)
    # Shapes only (no compilation): the output sizes and the first feature map.
    g_vars = jax.eval_shape(lambda: gen.init(key, z, train=False))
    out = jax.eval_shape(
        lambda v: gen.apply(v, z, train=False, mutable=["batch_stats"])[0], g_vars
    )
    assert out.shape == (4, size, size, channels)
    first = size // 2**stages
    width = 8 * 2 ** (stages - 1)
    assert g_vars["params"]["Dense_0"]["kernel"].shape == (16, first * first * width)
    d_vars = jax.eval_shape(lambda: disc.init(key, x, train=False))
    scores, aux = jax.eval_shape(lambda v: disc.apply(v, x, train=False), d_vars)
    assert scores.shape == (4,)
    assert aux["features"].shape == (4, first * first * width)


def test_dcgan_init_is_normal_002():
    # 8×8 output: one transposed convolution (XLA's CPU compile of each is slow).
    gen = nets.DCGANGenerator(image_size=8, channels=16)
    z = jnp.zeros((1, 8))
    params = jax.jit(lambda k: gen.init(k, z, train=False)["params"])(
        jax.random.PRNGKey(0)
    )
    for name in ("Dense_0", "ConvTranspose4x4s2_0"):
        kernel = np.asarray(params[name]["kernel"])
        assert kernel.size >= 256, name
        assert kernel.std() == pytest.approx(0.02, rel=0.15), name
        assert abs(kernel.mean()) < 0.004, name


def _power_iterations(layer, inputs, num_calls: int):
    """Variables of nn.SpectralNorm(layer) after `num_calls` training calls (one iteration each)."""
    sn = nn.SpectralNorm(layer, n_steps=1)
    variables = jax.jit(lambda k: sn.init(k, inputs, update_stats=False))(
        jax.random.PRNGKey(1)
    )
    step = jax.jit(
        lambda v: sn.apply(v, inputs, update_stats=True, mutable=["batch_stats"])
    )
    for _ in range(num_calls):
        out, updates = step(variables)
        variables = {**variables, **updates}
    return out, variables


def test_spectral_norm_estimate_matches_svd():
    """flax's power iteration converges to the largest singular value of the kernel."""
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 6))
    for layer, inputs in (
        (nn.Dense(5), x),
        (nn.Conv(4, (3, 3)), jnp.ones((1, 5, 5, 2))),
    ):
        out, variables = _power_iterations(layer, inputs, 50)
        params = variables["params"]["layer_instance"]
        kernel = np.asarray(params["kernel"], np.float64)
        # A conv kernel [kh, kw, in, out] is normalised as the matrix [kh·kw·in, out].
        top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        sigma = variables["batch_stats"]["layer_instance/kernel/sigma"]
        assert float(sigma) == pytest.approx(top, rel=1e-3)
        if isinstance(layer, nn.Dense):
            expected = np.asarray(inputs) @ (kernel / top) + np.asarray(params["bias"])
            np.testing.assert_allclose(out, expected, rtol=1e-3, atol=1e-5)


def test_minibatch_stddev_matches_numpy_and_keeps_groups_apart():
    x = np.random.default_rng(0).standard_normal((8, 3, 3, 2)).astype(np.float32)
    out = np.asarray(minibatch_stddev(jnp.asarray(x), group_size=4))
    assert out.shape == (8, 3, 3, 3)
    np.testing.assert_array_equal(out[..., :2], x)
    for g in range(2):
        group = x[4 * g : 4 * g + 4].astype(np.float64)
        expected = np.sqrt(group.var(axis=0) + 1e-8).mean()
        np.testing.assert_allclose(out[4 * g : 4 * g + 4, ..., 2], expected, rtol=1e-5)
    changed = x.copy()
    changed[4:] *= 10.0  # the second group only
    again = np.asarray(minibatch_stddev(jnp.asarray(changed), group_size=4))
    np.testing.assert_allclose(again[:4], out[:4])
    with pytest.raises(ValueError, match="multiple"):
        minibatch_stddev(jnp.ones((6, 2)), group_size=4)


def test_minibatch_discrimination_matches_numpy_and_keeps_groups_apart():
    """o(x_i)_b = Σ_j exp(−‖M_i,b − M_j,b‖_L1) over i's group, j = i included."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4)).astype(np.float32)  # 2 groups of 3, A = 4
    t = rng.standard_normal((4, 3, 2)).astype(np.float32) * 0.3  # A × B × C
    layer = MinibatchDiscrimination(num_kernels=3, kernel_dim=2, group_size=3)
    params = {"params": {"T": jnp.asarray(t.reshape(4, 6))}}
    out = np.asarray(layer.apply(params, jnp.asarray(x)))
    assert out.shape == (6, 4 + 3)
    np.testing.assert_array_equal(out[:, :4], x)
    m = np.einsum("ia,abc->ibc", x.astype(np.float64), t)  # M_i ∈ ℝ^(B×C)
    expected = np.zeros((6, 3))
    for i in range(6):
        group = range(3 * (i // 3), 3 * (i // 3) + 3)
        for b in range(3):
            expected[i, b] = sum(
                np.exp(-np.abs(m[i, b] - m[j, b]).sum()) for j in group
            )
    # The expectation sums within groups of 3 only, so it also checks the groups stay apart.
    np.testing.assert_allclose(out[:, 4:], expected, rtol=1e-5)
    assert expected.min() > 1.0  # the j = i term alone gives exactly 1
    with pytest.raises(ValueError, match="multiple"):
        layer.apply(params, jnp.ones((4, 4)))


def test_minibatch_discrimination_switch_in_both_discriminators():
    key = jax.random.PRNGKey(0)
    for disc, x in [
        (nets.MLPDiscriminator(hidden=8, num_layers=1), jnp.zeros((4, 2))),
        (nets.DCGANDiscriminator(channels=4), jnp.zeros((4, 8, 8, 1))),
    ]:
        plain = jax.eval_shape(lambda d=disc, x=x: d.init(key, x, train=False))
        assert "MinibatchDiscrimination_0" not in plain["params"]
        on = disc.clone(
            minibatch_discrimination=2, minibatch_kernels=6, minibatch_kernel_dim=3
        )
        variables = jax.eval_shape(lambda d=on, x=x: d.init(key, x, train=False))
        t = variables["params"]["MinibatchDiscrimination_0"]["T"]
        features = 8 if x.ndim == 2 else 4 * 4 * 4
        assert t.shape == (features, 6 * 3)
        # The score layer reads the features and the B = 6 minibatch features.
        assert variables["params"]["Dense_0" if x.ndim == 4 else "Dense_1"][
            "kernel"
        ].shape == (features + 6, 1)


def test_conditioning_routes_labels():
    key = jax.random.PRNGKey(0)
    z = jax.random.normal(key, (4, 3))
    x = jax.random.normal(key, (4, 2))
    a, b = jnp.zeros(4, jnp.int32), jnp.ones(4, jnp.int32)
    gen = nets.MLPGenerator(hidden=8, num_classes=3, conditioning="concat")
    concat = nets.MLPDiscriminator(hidden=8, num_classes=3, conditioning="concat")
    projection = nets.MLPDiscriminator(
        hidden=8, num_classes=3, conditioning="projection"
    )
    plain = nets.MLPDiscriminator(hidden=8)
    acgan = nets.MLPDiscriminator(hidden=8, aux_classes=3)

    @jax.jit
    def outputs():
        g_vars = gen.init(key, z, a, train=False)
        c_vars = concat.init(key, x, a, train=False)
        p_vars = projection.init(key, x, a, train=False)
        # The same score layers without the embedding: the unconditional part ψ(φ(x)).
        shared = {k: v for k, v in p_vars["params"].items() if k != "Embed_0"}
        p_scores, p_aux = projection.apply(p_vars, x, a, train=False)
        table = p_vars["params"]["Embed_0"]["embedding"]
        return {
            "g": [gen.apply(g_vars, z, y, train=False) for y in (a, b)],
            "concat": [concat.apply(c_vars, x, y, train=False)[0] for y in (a, b)],
            "projection": [p_scores, projection.apply(p_vars, x, b, train=False)[0]],
            "psi": plain.apply({"params": shared}, x, train=False)[0],
            "inner": jnp.sum(table[a] * p_aux["features"], axis=-1),
            "class_logits": acgan.apply(
                acgan.init(key, x, train=False), x, train=False
            )[1]["class_logits"],
        }

    out = outputs()
    for name in ("g", "concat", "projection"):
        assert not np.allclose(out[name][0], out[name][1]), name
    # Projection discriminator: D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩ (Miyato & Koyama 2018).
    np.testing.assert_allclose(
        out["projection"][0], out["psi"] + out["inner"], rtol=1e-5, atol=1e-6
    )
    assert out["class_logits"].shape == (4, 3)


def test_mean_pairwise_distance_matches_scipy():
    x = np.random.default_rng(1).standard_normal((10, 2, 3)).astype(np.float32)
    expected = pdist(x.reshape(10, -1)).mean()
    assert float(mean_pairwise_distance(jnp.asarray(x))) == pytest.approx(
        expected, rel=1e-5
    )
