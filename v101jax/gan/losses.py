"""GAN losses and discriminator penalties as small pure functions.

Discriminator outputs are raw scores ("logits"): D(x) = σ(logit) for the cross-entropy losses,
the critic value for the Wasserstein loss, an unbounded score for LSGAN and hinge. Every loss
is a mean over the batch and is minimised.

  minimax         L_D = −E log D(x) − E log(1 − D(G(z)))      L_G = E log(1 − D(G(z)))
                  (Goodfellow et al. 2014, eq. 1)
  non_saturating  L_D as minimax                              L_G = −E log D(G(z))
  lsgan           L_D = ½E(D(x) − 1)² + ½E D(G(z))²           L_G = ½E(D(G(z)) − 1)²
                  (Mao et al. 2017, eq. 9 with a = 0, b = c = 1)
  hinge           L_D = E max(0, 1 − D(x)) + E max(0, 1 + D(G(z)))   L_G = −E D(G(z))
                  (Lim & Ye 2017; Miyato et al. 2018)
  wasserstein     L_D = E D(G(z)) − E D(x)                    L_G = −E D(G(z))
                  (Arjovsky et al. 2017; Lipschitz by weight clipping or a penalty)

With logits l, log D = −softplus(−l) and log(1 − D) = −softplus(l), which is how the
cross-entropy losses are written (stable for any l).
"""

import jax
import jax.numpy as jnp
import optax

LOSSES = ("minimax", "non_saturating", "lsgan", "hinge", "wasserstein")
# Losses whose discriminator is a classifier trained with cross-entropy (label smoothing applies).
CROSS_ENTROPY_LOSSES = ("minimax", "non_saturating")


def _mean(per_example, where):
    """Mean over the examples `where` marks (all when None); 0 when it marks none, with
    finite gradients (jnp.mean(where=) would give 0/0)."""
    if where is None:
        return jnp.mean(per_example)
    weights = jnp.broadcast_to(where, per_example.shape).astype(per_example.dtype)
    return jnp.sum(per_example * weights) / jnp.maximum(jnp.sum(weights), 1.0)


def real_loss(name: str, real_logits, *, real_label: float = 1.0, where=None):
    """The real-data half of L_D for the loss `name`: −E[t log D(x) + (1 − t) log(1 − D(x))]
    for the cross-entropy losses, ½E(D(x) − 1)² (lsgan), E max(0, 1 − D(x)) (hinge),
    −E D(x) (wasserstein). `where` (bool [B]): the examples the mean runs over (all)."""
    if name in CROSS_ENTROPY_LOSSES:
        per_example = real_label * jax.nn.softplus(-real_logits) + (
            1.0 - real_label
        ) * jax.nn.softplus(real_logits)
    elif real_label != 1.0:
        raise ValueError(
            f"label smoothing applies to {CROSS_ENTROPY_LOSSES}, not {name}"
        )
    elif name == "lsgan":
        per_example = 0.5 * (real_logits - 1.0) ** 2
    elif name == "hinge":
        per_example = jax.nn.relu(1.0 - real_logits)
    elif name == "wasserstein":
        per_example = -real_logits
    else:
        raise ValueError(
            f"unknown GAN loss {name!r}; choose one of: {', '.join(LOSSES)}"
        )
    return _mean(per_example, where)


def fake_loss(name: str, fake_logits, *, where=None):
    """The generated-data half of L_D: −E log(1 − D(x̃)) (cross-entropy), ½E D(x̃)²
    (lsgan), E max(0, 1 + D(x̃)) (hinge), E D(x̃) (wasserstein); over `where` (all)."""
    if name in CROSS_ENTROPY_LOSSES:
        per_example = jax.nn.softplus(fake_logits)
    elif name == "lsgan":
        per_example = 0.5 * fake_logits**2
    elif name == "hinge":
        per_example = jax.nn.relu(1.0 + fake_logits)
    elif name == "wasserstein":
        per_example = fake_logits
    else:
        raise ValueError(
            f"unknown GAN loss {name!r}; choose one of: {', '.join(LOSSES)}"
        )
    return _mean(per_example, where)


def discriminator_loss(name: str, real_logits, fake_logits, *, real_label: float = 1.0):
    """L_D for the loss `name` (see the module docstring): real_loss + fake_loss.

    Args:
      name: one of LOSSES.
      real_logits: D's scores of real data, [B].
      fake_logits: D's scores of generated data, [B].
      real_label: target of real data in the cross-entropy losses; 0.9 is one-sided label
        smoothing (Salimans et al. 2016, §3.4). Must be 1 for the other losses.

    Returns:
      The scalar loss.
    """
    return real_loss(name, real_logits, real_label=real_label) + fake_loss(
        name, fake_logits
    )


def matching_aware_discriminator_loss(
    name: str,
    real_right,
    real_wrong,
    fake_right,
    *,
    wrong_weight: float = 0.5,
    wrong_valid=None,
):
    """GAN-CLS's matching-aware L_D (Reed et al. 2016, algorithm 1): real images with their
    own text are real; real images with mismatched text and generated images with the
    right text are both fake, weighted w and 1 − w (the paper: ½ and ½):

      L_D = real_loss(s_r) + w · fake_loss(s_w) + (1 − w) · fake_loss(s_f)

    Scores [B] each; `wrong_valid` (bool [B]) marks the examples that have a mismatched
    caption (a batch whose captions all say the same has none; the term then counts 0).
    """
    return (
        real_loss(name, real_right)
        + wrong_weight * fake_loss(name, real_wrong, where=wrong_valid)
        + (1.0 - wrong_weight) * fake_loss(name, fake_right)
    )


def generator_loss(name: str, fake_logits):
    """L_G for the loss `name` from D's scores of generated data [B]; a scalar."""
    if name == "minimax":
        return -jnp.mean(jax.nn.softplus(fake_logits))  # E log(1 − D(G(z)))
    if name == "non_saturating":
        return jnp.mean(jax.nn.softplus(-fake_logits))  # −E log D(G(z))
    if name == "lsgan":
        return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)
    if name in ("hinge", "wasserstein"):
        return -jnp.mean(fake_logits)
    raise ValueError(f"unknown GAN loss {name!r}; choose one of: {', '.join(LOSSES)}")


def _per_example_sq_grad_norm(score_fn, x):
    """‖∇ₓ score_fn(x)_i‖₂² for each example i of x [B, ...] → [B].

    Each example's score depends only on its own input (no batch statistics in D), so the
    gradient of the summed scores holds every per-example gradient.
    """
    grads = jax.grad(lambda v: jnp.sum(score_fn(v)))(x)
    return jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1)


def interpolate(real, fake, rng):
    """x̂ = ε·x + (1 − ε)·x̃ with ε ~ U[0, 1] drawn per example (WGAN-GP's sampling of x̂)."""
    eps = jax.random.uniform(rng, (real.shape[0],) + (1,) * (real.ndim - 1))
    return eps * real + (1.0 - eps) * fake


def unit_gradient_penalty(score_fn, x):
    """E[(‖∇D(x)‖₂ − 1)²] at the points x [B, ...]."""
    # The small constant keeps the gradient of the norm finite where ∇D vanishes.
    norms = jnp.sqrt(_per_example_sq_grad_norm(score_fn, x) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)


def gradient_penalty(score_fn, real, fake, rng):
    """WGAN-GP penalty E[(‖∇D(x̂)‖₂ − 1)²] (Gulrajani et al. 2017, eq. 3), without its λ.

    Args:
      score_fn: x [B, ...] → D's scores [B] (the discriminator at fixed parameters).
      real, fake: [B, ...] real and generated examples (no gradient flows into fake).
      rng: key for the interpolation weights ε.
    """
    x_hat = interpolate(real, jax.lax.stop_gradient(fake), rng)
    return unit_gradient_penalty(score_fn, x_hat)


def progressive_critic_loss(
    score_fn, real, fake, rng, *, gradient_weight: float, drift: float
):
    """ProGAN's critic loss (Karras et al. 2018, §A.1), also StyleGAN's option for
    CelebA-HQ: −(E D(x) − E D(x̃)) + λ·E[(‖∇D(x̂)‖ − 1)²] + ε_drift·E[D(x)²].

    Reals and fakes are scored apart, so a minibatch-stddev layer never mixes the two.
    Returns (loss, {"wasserstein_estimate", "gradient_penalty", "drift"}).
    """
    real_scores, fake_scores = score_fn(real), score_fn(fake)
    wasserstein = jnp.mean(real_scores) - jnp.mean(fake_scores)
    gp = gradient_penalty(score_fn, real, fake, rng)
    drift_term = jnp.mean(real_scores**2)
    loss = -wasserstein + gradient_weight * gp + drift * drift_term
    parts = {
        "wasserstein_estimate": wasserstein,
        "gradient_penalty": gp,
        "drift": drift_term,
    }
    return loss, parts


def r1_penalty(score_fn, real):
    """R1 penalty E‖∇D(x)‖₂² on real data (Mescheder et al. 2018, eq. 9), without its γ/2."""
    return jnp.mean(_per_example_sq_grad_norm(score_fn, real))


def classification_loss(class_logits, labels):
    """Mean softmax cross-entropy of class logits [B, K] against int labels [B] (ACGAN)."""
    return jnp.mean(
        optax.softmax_cross_entropy_with_integer_labels(class_logits, labels)
    )


def feature_matching_loss(real_features, fake_features):
    """‖E f(x) − E f(G(z))‖₂² over D's intermediate features [B, F] (Salimans et al. 2016, §3.1)."""
    diff = jnp.mean(real_features, axis=0) - jnp.mean(fake_features, axis=0)
    return jnp.sum(diff**2)
