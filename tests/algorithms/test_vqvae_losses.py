"""The VQ-VAE loss's codebook switch: with the codebook loss the codebook's gradient is that of
‖sg(z_e) − e‖² alone (NumPy formula); with EMA updates it gets no gradient."""

import functools

import jax
import numpy as np
import pytest

from benchmarks.common import load_config
from v101jax.algorithms import vqvae
from v101jax.models.autoencoder import VQVAE


@pytest.mark.parametrize("update", ["loss", "ema"])
def test_codebook_gradient_comes_from_the_codebook_term_only(update):
    config = load_config(
        "configs/vqvae.py:smoke",
        {"vqvae.codebook_update": update, "data.batch_size": 2},
    )
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    state = vqvae.init(config, jax.random.PRNGKey(0), {"x": x})
    loss = functools.partial(vqvae.loss_fn, apply_fn=state.apply_fn, config=config)
    grads, aux = jax.jit(jax.grad(loss, has_aux=True))(state.params, batch={"x": x})
    got = np.asarray(grads["quantizer"]["codebook"])
    if update == "ema":
        assert np.all(got == 0.0)
        return
    codebook = np.asarray(state.params["quantizer"]["codebook"])
    z_e = np.asarray(
        state.apply_fn({"params": state.params}, x, method=VQVAE.encode)
    ).reshape(-1, codebook.shape[1])
    codes = np.asarray(aux["codes"]).reshape(-1)
    # d/de_k of mean_i ‖z_i − e_{c(i)}‖² = −2/M Σ_{i: c(i) = k} (z_i − e_k)
    want = np.zeros_like(codebook)
    for i, k in enumerate(codes):
        want[k] -= 2.0 * (z_e[i] - codebook[k]) / len(codes)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    assert np.abs(want).max() > 0
