"""train_state.gradient_step_on_output through output_and_pullback's recorded forward pass
is the update gradient_step makes on the composed loss, and the GAN steps built on it
(pix2pix, srgan) equal D's update on G's detached output followed by G's own two-pass
update."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from benchmarks.common import load_config
from v101jax.algorithms import pix2pix, srgan
from v101jax.core.train_state import (
    TrainState,
    gradient_step,
    gradient_step_on_output,
    output_and_pullback,
)

# Plain SGD with lr 1 makes the new parameters differ by the gradients' difference: Adam's
# first step, lr · g / |g|, turns a rounding-level difference in a near-zero gradient into
# a full step of the other sign.
_SGD = optax.inject_hyperparams(optax.sgd)(learning_rate=1.0)


def _with_sgd(state):
    """`state` (a MultiState) with every network on _SGD."""
    return state.replace_networks(
        **{
            name: ts.replace(tx=_SGD, opt_state=_SGD.init(ts.params))
            for name, ts in state.networks.items()
        }
    )


class _Net(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool):
        h = nn.BatchNorm(use_running_average=not train)(nn.Dense(8)(x))
        return nn.Dense(3)(jnp.tanh(h))


def _state():
    net = _Net()
    x = jnp.ones((4, 5))
    variables = net.init(jax.random.PRNGKey(0), x, train=False)
    return TrainState.create(
        apply_fn=net.apply,
        params=variables["params"],
        tx=_SGD,
        model_state={"batch_stats": variables["batch_stats"]},
        ema_decay=0.9,
    )


def _forward(state, params, x):
    return state.apply_fn(
        {"params": params, **state.model_state}, x, train=True, mutable=["batch_stats"]
    )


def _close(a, b, rtol=1e-5, atol=1e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def test_step_on_output_equals_the_step_on_the_composed_loss():
    state = _state()
    x = jax.random.normal(jax.random.PRNGKey(1), (4, 5))
    target = jax.random.normal(jax.random.PRNGKey(2), (4, 3))

    def of_output(y, model_state):
        loss = jnp.mean((y - target) ** 2) + jnp.mean(jnp.sin(y))
        return loss, {"scalars": {"loss": loss}, "model_state": model_state}

    def composed(params):
        y, model_state = _forward(state, params, x)
        return of_output(y, model_state)

    want, want_metrics, _ = gradient_step(state, composed)
    y, model_state, pullback = output_and_pullback(
        state, functools.partial(_forward, state), x
    )
    got, got_metrics, _ = gradient_step_on_output(
        state, pullback, y, lambda y: of_output(y, model_state)
    )
    _close(got.checkpoint_tree(), want.checkpoint_tree())
    _close(got_metrics, want_metrics)
    # The update is a real one (batch statistics and parameters moved).
    moved = jax.tree.map(
        lambda a, b: float(jnp.max(jnp.abs(a - b))),
        got.checkpoint_tree(),
        state.checkpoint_tree(),
    )
    assert min(jax.tree.leaves(moved["params"])) > 0
    assert max(jax.tree.leaves(moved["model_state"])) > 0


def _two_pass_pix2pix(config, state, batch, rng):
    """Pix2Pix's step as two forward passes of G: D on G's detached output, then G's loss
    differentiated through a fresh forward pass (same dropout key)."""
    key = jax.random.fold_in(rng, state.step)
    gen, disc = state["gen"], state["disc"]
    fake = jax.lax.stop_gradient(
        pix2pix.generate(gen, gen.params, batch["source"], dropout_rng=key)
    )
    disc, _ = pix2pix.discriminator_step(config, disc, batch, fake)

    def loss_fn(params):
        images = pix2pix.generate(gen, params, batch["source"], dropout_rng=key)
        logits = pix2pix._scores(disc, disc.params, batch["source"], images)
        adversarial = pix2pix.losses.generator_loss(pix2pix.GAN_LOSS, logits.ravel())
        l1 = pix2pix.l1_loss(images, batch["target"])
        p = config.pix2pix
        loss = p.adversarial_weight * adversarial + p.l1_weight * l1
        return loss, {"scalars": {"g_loss": loss}}

    gen, _, _ = gradient_step(gen, loss_fn)
    return state.replace_networks(gen=gen, disc=disc)


def _pairs(n, low, high, channels, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "source": rng.uniform(-1, 1, (n, low, low, channels)).astype(np.float32),
        "target": rng.uniform(-1, 1, (n, high, high, channels)).astype(np.float32),
        "label": np.zeros(n, np.int32),
    }


def test_pix2pix_step_equals_its_two_pass_form():
    config = load_config(
        "configs/pix2pix.py:smoke",
        {"model.channels": 8, "pix2pix.bottleneck": 16, "data.batch_size": 4},
    )
    batch = _pairs(4, 16, 16, 1)
    state = _with_sgd(pix2pix.init(config, jax.random.PRNGKey(0), batch))
    rng = jax.random.PRNGKey(3)
    got, _ = jax.jit(functools.partial(pix2pix.train_step, config))(state, batch, rng)
    want = jax.jit(functools.partial(_two_pass_pix2pix, config))(state, batch, rng)
    _close(got.checkpoint_tree(), want.checkpoint_tree(), rtol=1e-4, atol=1e-5)
    assert config.pix2pix.dropout > 0  # the shared forward pass shares its dropout mask


def _two_pass_srgan(config, state, batch):
    gen = state["gen"]
    fake, _ = srgan.super_resolution.forward(
        gen, gen.params, batch["source"], train=True
    )
    disc, _ = srgan.discriminator_step(
        config, state, batch, jax.lax.stop_gradient(fake)
    )
    state = state.replace_networks(disc=disc)
    g = config.srgan

    def loss_fn(params):
        images, model_state = srgan.super_resolution.forward(
            gen, params, batch["source"], train=True
        )
        logits, _ = srgan._disc_forward(disc, disc.params, images)
        loss = g.content_weight * srgan.content_loss(
            config, state, images, batch["target"]
        ) + g.adversarial_weight * srgan.losses.generator_loss(srgan.GAN_LOSS, logits)
        return loss, {"scalars": {"g_loss": loss}, "model_state": model_state}

    gen, _, _ = gradient_step(gen, loss_fn)
    return state.replace_networks(gen=gen)


@pytest.mark.parametrize("content", ["mse", "vgg"])
def test_srgan_step_equals_its_two_pass_form(content):
    config = load_config(
        "configs/srgan.py:smoke",
        {"srgan.content": content, "srgan.adversarial_weight": 0.5},
    )
    scale, size = config.data.downscale, config.data.image_size
    batch = _pairs(4, size // scale, size, config.data.channels)
    state = _with_sgd(srgan.init(config, jax.random.PRNGKey(0), batch))
    got, _ = jax.jit(functools.partial(srgan.train_step, config))(
        state, batch, jax.random.PRNGKey(1)
    )
    want = jax.jit(functools.partial(_two_pass_srgan, config))(state, batch)
    assert config.srgan.pixel_weight == 0 and config.srgan.tv_weight == 0
    _close(got.checkpoint_tree(), want.checkpoint_tree(), rtol=1e-4, atol=1e-5)
