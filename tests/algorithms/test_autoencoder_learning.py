"""Learning tests: a small VAE on 2048 Fashion-MNIST images, its likelihood bounds, and β-VAE.

Bars are set against the constant "mean image" model, computed here with NumPy: a VAE whose
encoder is ignored (posterior collapse) or whose loss has a sign error cannot beat it.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from tests.algorithms.autoencoder_data import fashion_mnist_subset, train
from v101jax.algorithms import autoencoder

STEPS = 200
TINY = {
    "data.batch_size": 32,
    "model.channels": 8,
    "model.channel_mult": (1,),
    "autoencoder.latent_dim": 8,
    "optim.warmup_steps": 0,
    "optim.schedule": "constant",
    "optim.learning_rate": 2e-3,
    "optim.ema_decay": 0.0,
}


@pytest.fixture(scope="module")
def data():
    config = load_config("configs/vae.py", TINY)
    return fashion_mnist_subset(config, "train", 2048), fashion_mnist_subset(
        config, "test", 128
    )


@pytest.fixture(scope="module")
def vae(data):
    config = load_config("configs/vae.py", TINY)
    return config, train(autoencoder, config, data[0], STEPS)[0]


@pytest.fixture(scope="module")
def beta_vae(data):
    config = load_config(
        "configs/beta_vae.py", dict(TINY, **{"autoencoder.kl_warmup_steps": 0})
    )
    return config, train(autoencoder, config, data[0], STEPS)[0]


def mean_image_baselines(train_images, test_images):
    """(−BCE per image, MSE) of predicting every test image by the training mean image."""
    p = np.clip((train_images.mean(0) + 1) / 2, 1e-6, 1 - 1e-6).astype(np.float64)
    t = (test_images + 1) / 2
    log_lik = (t * np.log(p) + (1 - t) * np.log(1 - p)).sum((1, 2, 3)).mean()
    mse = ((test_images - train_images.mean(0)) ** 2).mean()
    return log_lik, mse


def figures(config, state, images, seed=0):
    fn = jax.jit(functools.partial(autoencoder.evaluate, config))
    return {
        k: float(v)
        for k, v in fn(state, {"x": images}, jax.random.PRNGKey(seed)).items()
    }


def test_vae_beats_the_mean_image_on_held_out_data(data, vae):
    config, state = vae
    base_log_lik, base_mse = mean_image_baselines(*data)
    got = figures(config, state, data[1])
    assert got["elbo"] > base_log_lik + 25.0, (got, base_log_lik)
    assert got["recon_mse"] < 0.5 * base_mse, (got, base_mse)


def test_elbo_below_importance_weighted_bound_below_zero(data, vae):
    config, state = vae
    params, x = state.params, jnp.asarray(data[1][:64])
    elbo = jax.jit(functools.partial(autoencoder.elbo, config, apply_fn=state.apply_fn))
    iwae = jax.jit(
        functools.partial(
            autoencoder.iwae_log_likelihood, config, apply_fn=state.apply_fn
        ),
        static_argnames="num_samples",
    )
    mean_elbo = np.mean(
        [elbo(params, x=x, rng=jax.random.PRNGKey(i)).mean() for i in range(8)]
    )
    bounds = [
        float(iwae(params, x=x, rng=jax.random.PRNGKey(10), num_samples=k).mean())
        for k in (1, 64)
    ]
    # L_1 is a one-sample ELBO: equal in expectation (the batch mean is a noisy estimate).
    assert abs(bounds[0] - mean_elbo) < 2.0
    assert mean_elbo < bounds[1] < 0.0
    assert bounds[1] - mean_elbo > 0.5  # k = 64 tightens the bound visibly


def test_beta_above_one_lowers_the_kl_term(data, vae, beta_vae):
    kls = []
    for config, state in (vae, beta_vae):
        x = jnp.asarray(data[1])
        mean, log_var = state.apply_fn(
            {"params": state.params["net"]}, x, method=autoencoder.Autoencoder.encode
        )
        kls.append(float(autoencoder.kl_standard_normal(mean, log_var).mean()))
    assert kls[1] < 0.75 * kls[0], kls
