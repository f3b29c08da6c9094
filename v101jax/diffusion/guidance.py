"""Classifier-free guidance (Ho & Salimans 2022).

One class-conditional network serves as both the conditional model f(x, t, c) and the
unconditional one f(x, t, ∅): in training, each label is replaced by the null label ∅ with
probability p_uncond. Sampling uses the guided prediction

    f̃(x, t, c) = (1 + w)·f(x, t, c) − w·f(x, t, ∅)

(the paper's eq. 6 for ε; seed notes write γ = 1 + w). w = 0 is the plain conditional model.
The combination is affine with weights summing to 1, and the x₀ and v outputs are affine in ε
at fixed (x_t, t), so guiding any of the three parameterisations gives the same ε̃.
"""

import jax
import jax.numpy as jnp


def drop_labels(rng, labels, p_uncond: float, null_label: int):
    """Each label replaced by `null_label` independently with probability `p_uncond`."""
    drop = jax.random.bernoulli(rng, p_uncond, labels.shape)
    return jnp.where(drop, null_label, labels)


def training_labels(rng, batch, num_classes: int, p_uncond: float):
    """The labels a class-conditional network trains on (None for an unconditional one):
    batch["label"] with each dropped to the null label `num_classes` at rate p_uncond."""
    if not num_classes:
        return None
    return drop_labels(rng, batch["label"], p_uncond, null_label=num_classes)


def guided_output(apply, x, t, labels, guidance, null_label: int):
    """(1 + w)·apply(x, t, labels) − w·apply(x, t, ∅), both halves in one batched call.

    Args:
      apply: (x, t, labels) → network output shaped like x.
      guidance: w; a Python 0 skips the unconditional half (the conditional model).
    """
    if isinstance(guidance, (int, float)) and guidance == 0:
        return apply(x, t, labels)
    n = x.shape[0]
    both = apply(
        jnp.concatenate([x, x]),
        jnp.concatenate([t, t]),
        jnp.concatenate([labels, jnp.full_like(labels, null_label)]),
    )
    cond, uncond = both[:n], both[n:]
    return cond + guidance * (cond - uncond)
