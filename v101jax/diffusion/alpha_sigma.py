"""Signal and noise scales of a Gaussian forward process, x_t = α·x₀ + σ·ε: the one definition
shared by the discrete schedules (schedules.py, process.py) and the continuous SDEs (sde.py).

What the two families share, and what they do not:

- The variance-preserving relation α² + σ² = 1. DDPM's discrete process writes it as
  α_t = sqrt(ᾱ_t), σ_t = sqrt(1 − ᾱ_t); the VP SDE as m(t) = exp(log m(t)),
  σ(t) = sqrt(1 − m(t)²) (Song et al. 2021, eq. 29): the same map ᾱ = α² ↦ σ, in the two
  forms the callers hold their schedule in. The discrete tables hold ᾱ_t, so
  `vp_from_alpha_bar` takes ᾱ; the SDE holds log m(t), and `vp_variance` evaluates 1 − α² as
  −expm1(2·log α), which keeps σ accurate near t = 0, where 1 − ᾱ would cancel. The same
  variance is sub-VP's σ(t) = 1 − m(t)² (eq. 33) and the β_i = 1 − m(t)²/m(s)² of the VP SDE's
  DDPM step s → t.
- Not ᾱ itself. The discrete ᾱ_t = ∏_{s≤t}(1 − β_s) (a float64 table cast to float32) and the
  VP SDE's m(t)² = exp(−∫₀ᵗβ(s)ds) are different numbers: the SDE is the T → ∞ limit of the
  linear-β chain with β(t) = T·β_t, equal only to first order in β. Each schedule keeps its
  own ᾱ (schedules.DiscreteSchedule, sde.VPSDE.log_mean_coeff).
- Not VE. The variance-exploding SDE has α = 1 and its own σ(t) = σ_min(σ_max/σ_min)ᵗ, with no
  relation to α; it stays in sde.VESDE.

Why two forms and not one function of ᾱ: routing the SDE through ᾱ = exp(2·log m) would lose
the expm1 accuracy at small t, and routing the discrete tables through log ᾱ would change
their float32 results; each form is the one its callers always computed, op for op, so
samples and training are unchanged to the bit. `batch_broadcast` shapes the per-example
scales of either family against a batch.
"""

import jax.numpy as jnp


def batch_broadcast(values, x):
    """values [B] (or a scalar) shaped [B, 1, …, 1] to broadcast against x [B, …]."""
    values = jnp.asarray(values, jnp.float32)
    return values.reshape(values.shape + (1,) * (x.ndim - values.ndim))


def vp_from_alpha_bar(alpha_bar):
    """(α, σ) = (sqrt(ᾱ), sqrt(1 − ᾱ)) of a variance-preserving process at ᾱ = α²."""
    return jnp.sqrt(alpha_bar), jnp.sqrt(1.0 - alpha_bar)


def vp_variance(log_alpha):
    """σ² = 1 − α² = −expm1(2·log α) of a variance-preserving process, without cancellation
    at α ≈ 1."""
    return -jnp.expm1(2.0 * log_alpha)
