"""Learning test: a small VQ-VAE on 2048 Fashion-MNIST images uses its codebook (perplexity
above a floor, no collapse) and reconstructs; dead codes are restarted inside the train step."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from tests.algorithms.autoencoder_data import fashion_mnist_subset, train
from v101jax.algorithms import vqvae
from v101jax.models.autoencoder import VQVAE

STEPS = 300
NUM_CODES = 32
TINY = {
    "data.batch_size": 32,
    "model.channels": 8,
    "model.channel_mult": (1, 2),
    "vqvae.num_codes": NUM_CODES,
    "vqvae.code_dim": 8,
    "optim.warmup_steps": 0,
    "optim.schedule": "constant",
    "optim.learning_rate": 2e-3,
}


@pytest.fixture(scope="module")
def trained():
    config = load_config("configs/vqvae.py", TINY)
    train_x = fashion_mnist_subset(config, "train", 2048)
    test_x = fashion_mnist_subset(config, "test", 128)
    state, step = train(vqvae, config, train_x, STEPS)
    return config, state, step, train_x, test_x


def test_vqvae_uses_its_codebook_and_reconstructs(trained):
    config, state, _, train_x, test_x = trained
    got = jax.jit(functools.partial(vqvae.evaluate, config))(
        state, {"x": test_x}, jax.random.PRNGKey(0)
    )
    got = {k: float(v) for k, v in got.items()}
    baseline_mse = float(((test_x - train_x.mean(0)) ** 2).mean())
    # A collapsed codebook has perplexity ≈ 1; uniform use of all 32 codes gives 32.
    assert got["perplexity"] > 6.0, got
    assert got["recon_mse"] < 0.4 * baseline_mse, (got, baseline_mse)


def test_train_step_restarts_a_dead_code_on_an_encoder_output(trained):
    config, state, step, train_x, _ = trained
    usage = state.model_state["usage"].at[3].set(0.0)
    state = state.replace(model_state=dict(state.model_state, usage=usage))
    batch = {"x": train_x[:32], "label": np.zeros(32, np.int32)}
    z_e = np.asarray(
        state.apply_fn({"params": state.params}, batch["x"], method=VQVAE.encode)
    ).reshape(-1, config.vqvae.code_dim)
    # The fixture's compiled step donates its input: pass a copy.
    new_state, metrics = step(
        jax.tree.map(jnp.copy, state), batch, jax.random.PRNGKey(5)
    )
    assert float(metrics["dead_codes_restarted"]) >= 1
    code = np.asarray(new_state.params["quantizer"]["codebook"][3])
    np.testing.assert_allclose(np.min(np.abs(z_e - code).sum(-1)), 0.0, atol=1e-5)
    assert float(new_state.model_state["usage"][3]) >= config.vqvae.dead_code_threshold
