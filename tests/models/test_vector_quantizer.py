"""Vector quantisation against NumPy: nearest codes, straight-through gradients, the EMA
codebook update, dead-code restarts, perplexity."""

import jax
import jax.numpy as jnp
import numpy as np

from v101jax.models import autoencoder as ae_models

RNG = np.random.default_rng(0)
Z = RNG.standard_normal((2, 3, 3, 4)).astype(np.float32)
CODEBOOK = RNG.standard_normal((10, 4)).astype(np.float32)


def test_nearest_code_matches_brute_force():
    codes = np.asarray(ae_models.nearest_code(Z, CODEBOOK))
    distances = ((Z[..., None, :] - CODEBOOK) ** 2).sum(-1)  # [2, 3, 3, 10]
    np.testing.assert_array_equal(codes, distances.argmin(-1))
    assert codes.shape == (2, 3, 3) and len(np.unique(codes)) > 3


def test_straight_through_passes_the_decoder_gradient_to_the_encoder():
    w = jnp.asarray(RNG.standard_normal((4,)), jnp.float32)

    def decoder_loss(z_q):
        return jnp.sum(jnp.tanh(z_q @ w) ** 2)

    def through_quantiser(z_e, straight):
        z_q = CODEBOOK[ae_models.nearest_code(z_e, CODEBOOK)]
        return decoder_loss(ae_models.straight_through(z_e, z_q) if straight else z_q)

    codes = ae_models.nearest_code(Z, CODEBOOK)
    want = jax.grad(decoder_loss)(jnp.asarray(CODEBOOK)[codes])  # ∂L/∂z_q at z_q
    got = jax.grad(through_quantiser)(jnp.asarray(Z), True)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert np.abs(want).max() > 1e-3
    # Without the estimator the lookup blocks every gradient: the check above can fail.
    assert np.abs(jax.grad(through_quantiser)(jnp.asarray(Z), False)).max() == 0.0
    # The forward value is the quantised one.
    np.testing.assert_allclose(
        ae_models.straight_through(Z, CODEBOOK[codes]),
        CODEBOOK[np.asarray(codes)],
        atol=1e-6,
    )


def test_ema_codebook_update_matches_its_formula():
    k, d, decay, eps = 5, 3, 0.9, 1e-5
    size = RNG.uniform(0.5, 3.0, (k,)).astype(np.float32)
    embed_sum = RNG.standard_normal((k, d)).astype(np.float32)
    z = RNG.standard_normal((12, d)).astype(np.float32)
    codes = np.array([0, 0, 1, 3, 3, 3, 0, 1, 1, 3, 0, 0], np.int32)  # code 2, 4 unused
    new_size, new_sum, codebook = ae_models.ema_codebook_update(
        size, embed_sum, z, codes, decay=decay, epsilon=eps
    )
    want_size = np.empty(k)
    want_sum = np.empty((k, d))
    for c in range(k):
        members = z[codes == c]
        want_size[c] = decay * size[c] + (1 - decay) * len(members)
        want_sum[c] = decay * embed_sum[c] + (1 - decay) * members.sum(0)
    n = want_size.sum()
    want_codebook = want_sum / ((want_size + eps) / (n + k * eps) * n)[:, None]
    np.testing.assert_allclose(new_size, want_size, rtol=1e-5)
    np.testing.assert_allclose(new_sum, want_sum, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(codebook, want_codebook, rtol=1e-4, atol=1e-6)


def test_dead_codes_are_moved_onto_encoder_outputs_and_live_ones_kept():
    usage = np.array([5.0, 0.2, 3.0, 0.0, 1.5, 0.9, 2.0, 4.0, 1.0, 8.0], np.float32)
    z_flat = Z.reshape(-1, 4)
    codebook, dead = ae_models.restart_dead_codes(
        jax.random.PRNGKey(0), CODEBOOK, usage, z_flat, threshold=1.0
    )
    codebook, dead = np.asarray(codebook), np.asarray(dead)
    np.testing.assert_array_equal(np.flatnonzero(dead), [1, 3, 5])
    np.testing.assert_array_equal(codebook[~dead], CODEBOOK[~dead])
    for row in codebook[dead]:
        assert np.min(np.abs(z_flat - row).sum(-1)) == 0.0  # an encoder output exactly


def test_perplexity_of_uniform_and_collapsed_usage():
    uniform = jnp.arange(16) % 8
    perplexity, used = ae_models.codebook_perplexity(uniform, 16)
    np.testing.assert_allclose([perplexity, used], [8.0, 0.5], rtol=1e-5)
    perplexity, used = ae_models.codebook_perplexity(jnp.zeros(16, jnp.int32), 16)
    np.testing.assert_allclose([perplexity, used], [1.0, 1 / 16], rtol=1e-5)
