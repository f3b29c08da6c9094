"""Gatys, Ecker & Bethge (2016): an image optimised so that its features on one layer match
the content image's and its Gram matrices on several layers match the style image's.

    L(x) = α·‖F_c(x) − F_c(content)‖² + β·Σ_l w_l‖G_l(x) − G_l(style)‖² + γ·TV(x)

(v101jax.perceptual.losses; config.gatys holds α, β, γ, the layers and the optimiser). The
image is optimised by L-BFGS (the paper's) or Adam from optax, `log_every` steps per compiled
`lax.scan`, with a progress line between chunks.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from v101jax.core.errors import ConfigError
from v101jax.perceptual import features as perceptual_features
from v101jax.perceptual import losses

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "noise")


def _validate(g):
    if g.optimizer not in OPTIMIZERS:
        raise ConfigError(
            f"gatys.optimizer={g.optimizer!r} is not one of: {', '.join(OPTIMIZERS)}"
        )
    if g.init not in INITS:
        raise ConfigError(f"gatys.init={g.init!r} is not one of: {', '.join(INITS)}")
    if g.num_steps < 1 or g.log_every < 1 or g.num_steps % g.log_every:
        raise ConfigError(
            f"gatys.num_steps={g.num_steps} must be a positive multiple of "
            f"gatys.log_every={g.log_every}"
        )
    if not g.style_layers:
        raise ConfigError("gatys.style_layers is empty")
    if g.style_layer_weights and len(g.style_layer_weights) != len(g.style_layers):
        raise ConfigError(
            f"gatys.style_layer_weights has {len(g.style_layer_weights)} values for "
            f"{len(g.style_layers)} style layers"
        )


def objective(config, network, content, style):
    """(loss(x) → (total, {"content", "style", "tv"}), target Grams) for images [1, H, W, C]."""
    g = config.gatys
    style_layers = tuple(g.style_layers)
    grams = {
        name: losses.gram_matrix(f)
        for name, f in network.apply(style).items()
        if name in style_layers
    }
    content_target = network.apply(content)[g.content_layer]

    def loss(x):
        return losses.style_transfer_loss(g, x, network.apply(x), content_target, grams)

    return loss, grams


def stylize(config, content: np.ndarray, style: np.ndarray, *, seed: int = 0):
    """(the stylised image [H, W, C] in [-1, 1], [(step, {"total", "content", "style",
    "tv"}), …] at every log point) for content and style images [H, W, C] in [-1, 1]."""
    g = config.gatys
    _validate(g)
    layers = tuple(dict.fromkeys((*g.style_layers, g.content_layer)))
    network = perceptual_features.feature_network(config.perceptual, layers)
    content = jnp.asarray(content, jnp.float32)[None]
    style = jnp.asarray(style, jnp.float32)[None]
    loss_and_parts, _ = objective(config, network, content, style)

    def loss(x):
        return loss_and_parts(x)[0]

    if g.init == "content":
        x = content
    else:
        x = 0.5 * jax.random.normal(jax.random.PRNGKey(seed), content.shape)
    if g.optimizer == "adam":
        opt = optax.adam(g.learning_rate)
        value_and_grad = jax.value_and_grad(loss)

        def step(carry, _):
            x, state = carry
            _, grad = value_and_grad(x)
            updates, state = opt.update(grad, state, x)
            return (optax.apply_updates(x, updates), state), None

    else:
        opt = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(loss)

        def step(carry, _):
            x, state = carry
            value, grad = value_and_grad(x, state=state)
            updates, state = opt.update(
                grad, state, x, value=value, grad=grad, value_fn=loss
            )
            return (optax.apply_updates(x, updates), state), None

    @jax.jit
    def chunk(x, state):
        (x, state), _ = jax.lax.scan(step, (x, state), None, length=g.log_every)
        total, parts = loss_and_parts(x)
        return x, state, {"total": total, **parts}

    state = opt.init(x)
    history = [(0, jax.device_get({"total": loss(x), **loss_and_parts(x)[1]}))]
    start, done = time.perf_counter(), 0
    while done < g.num_steps:
        x, state, parts = chunk(x, state)
        done += g.log_every
        parts = {k: float(v) for k, v in jax.device_get(parts).items()}
        history.append((done, parts))
        elapsed = time.perf_counter() - start
        logging.info(
            "stylize: step %d/%d  loss %.4g (content %.4g, style %.4g, tv %.4g)  %.1f s",
            done,
            g.num_steps,
            parts["total"],
            parts["content"],
            parts["style"],
            parts["tv"],
            elapsed,
        )
    return np.clip(np.asarray(x[0]), -1.0, 1.0), history
