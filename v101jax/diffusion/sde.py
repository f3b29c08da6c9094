"""Continuous-time diffusion SDEs dx = f(t)·x dt + g(t) dw on t ∈ [0, 1] (Song et al. 2021,
"Score-Based Generative Modeling through Stochastic Differential Equations").

All three SDEs of the paper have a linear drift, so the perturbation kernel is Gaussian:
p_0t(x_t | x₀) = N(m(t)·x₀, σ(t)² I). Each class gives f(t), g(t), m(t) = exp(log_mean_coeff(t))
and σ(t) in closed form (paper eqs. 29, 33, 30 and appendix B; VP's and sub-VP's σ through
alpha_sigma.vp_variance, the variance-preserving relation the discrete schedules share), the
prior p_1 and its log-density, and the reverse-time drifts

  reverse SDE:            f(t)·x − g(t)²·∇ₓ log p_t(x)              (eq. 6)
  probability-flow ODE:   f(t)·x − ½·g(t)²·∇ₓ log p_t(x)            (eq. 13)

Times are floats broadcastable against the batch ([B] or scalars); the hyperparameters are
static (not pytree leaves), so an SDE can be closed over inside jit.
"""

import math

import flax.struct
import jax
import jax.numpy as jnp

from v101jax.core.errors import ConfigError
from v101jax.diffusion.alpha_sigma import batch_broadcast, vp_variance


def sum_except_batch(x):
    return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


class _LinearSDE(flax.struct.PyTreeNode):
    """Shared parts of SDEs with drift f(t)·x. Subclasses define drift_coeff, diffusion,
    log_mean_coeff, std, prior_std and the one-step discretisation."""

    def mean_coeff(self, t):
        """m(t): E[x_t | x₀] = m(t)·x₀."""
        return jnp.exp(self.log_mean_coeff(t))

    def drift(self, x, t):
        """f(x, t) = f(t)·x."""
        return batch_broadcast(self.drift_coeff(t), x) * x

    def marginal(self, x0, t):
        """(mean [B, …], std [B]) of p_0t(x_t | x₀)."""
        return batch_broadcast(self.mean_coeff(t), x0) * x0, self.std(t) * jnp.ones(
            x0.shape[:1], jnp.float32
        )

    def prior_sample(self, rng, shape):
        """x_1 ~ N(0, prior_std² I)."""
        return self.prior_std * jax.random.normal(rng, shape, jnp.float32)

    def prior_logp(self, z):
        """log N(z; 0, prior_std² I), summed over all but the batch axis: [B]."""
        d = math.prod(z.shape[1:])
        s2 = self.prior_std**2
        return -0.5 * d * math.log(2 * math.pi * s2) - sum_except_batch(z**2) / (2 * s2)

    def reverse_drift(self, x, t, score, *, probability_flow: bool):
        """f(t)·x − c·g(t)²·score with c = ½ for the probability-flow ODE (eq. 13), else 1
        (the reverse SDE, eq. 6). `score` is ∇ₓ log p_t(x), shaped like x."""
        c = 0.5 if probability_flow else 1.0
        return self.drift(x, t) - c * batch_broadcast(self.diffusion(t) ** 2, x) * score

    def discretize(self, x, t, s):
        """(f_i, G_i) of one forward step s → t (s < t): x_t ≈ x_s + f_i + G_i·z.

        Default: Euler–Maruyama, f_i = f(t)·x·(t − s), G_i = g(t)·sqrt(t − s) (score_sde's
        `SDE.discretize`). The reverse-diffusion predictor inverts this step.
        """
        dt = t - s
        return self.drift(x, t) * batch_broadcast(dt, x), self.diffusion(t) * jnp.sqrt(
            dt
        )

    def langevin_alpha(self, t, s):
        """α of the Langevin corrector's step size 2·α·(snr·‖z‖/‖score‖)²: 1 except for VP."""
        del s
        return jnp.ones_like(jnp.asarray(t, jnp.float32))


class VPSDE(_LinearSDE):
    """Variance preserving: dx = −½β(t)x dt + sqrt(β(t)) dw, β(t) = β_min + t(β_max − β_min)
    (eq. 11): DDPM's chain in the limit of infinitely many steps."""

    beta_min: float = flax.struct.field(pytree_node=False, default=0.1)
    beta_max: float = flax.struct.field(pytree_node=False, default=20.0)

    def beta(self, t):
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def drift_coeff(self, t):
        return -0.5 * self.beta(t)

    def diffusion(self, t):
        return jnp.sqrt(self.beta(t))

    def log_mean_coeff(self, t):
        """log m(t) = −¼t²(β_max − β_min) − ½tβ_min = −½∫₀ᵗβ(s)ds."""
        return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

    def std(self, t):
        """σ(t) = sqrt(1 − m(t)²)  (eq. 29): the discrete process's σ_t = sqrt(1 − ᾱ_t) at
        ᾱ = m(t)² (alpha_sigma.py)."""
        return jnp.sqrt(vp_variance(self.log_mean_coeff(t)))

    @property
    def prior_std(self) -> float:
        return 1.0

    def step_beta(self, t, s):
        """β_i = 1 − m(t)²/m(s)² of the DDPM step s → t (s < t): exact for the marginals, so
        the predictor below is DDPM's chain on any time grid (score_sde uses β(t)/N instead,
        the same to first order in 1/N). It is the variance 1 − α² of a VP step with
        α = m(t)/m(s)."""
        return vp_variance(self.log_mean_coeff(t) - self.log_mean_coeff(s))

    def discretize(self, x, t, s):
        """DDPM's step: x_t = sqrt(1 − β_i)·x_s + sqrt(β_i)·z, written as x_s + f_i + G_i z."""
        beta = self.step_beta(t, s)
        return (batch_broadcast(jnp.sqrt(1.0 - beta), x) - 1.0) * x, jnp.sqrt(beta)

    def langevin_alpha(self, t, s):
        """α_i = 1 − β_i, as score_sde's corrector uses for VP."""
        return 1.0 - self.step_beta(t, s)


class SubVPSDE(VPSDE):
    """sub-VP: the VP drift with g(t)² = β(t)(1 − exp(−2∫₀ᵗβ(s)ds))  (eq. 31); its variance
    σ(t)² = (1 − m(t)²)² is below the VP one at every t."""

    def diffusion(self, t):
        discount = -jnp.expm1(4.0 * self.log_mean_coeff(t))  # 1 − exp(−2∫β)
        return jnp.sqrt(self.beta(t) * discount)

    def std(self, t):
        """σ(t) = 1 − m(t)²  (eq. 33): the VP SDE's variance."""
        return vp_variance(self.log_mean_coeff(t))

    def discretize(self, x, t, s):
        return _LinearSDE.discretize(self, x, t, s)

    def langevin_alpha(self, t, s):
        # score_sde's Langevin corrector takes α = 1 for sub-VP (it special-cases VP only).
        return _LinearSDE.langevin_alpha(self, t, s)


class VESDE(_LinearSDE):
    """Variance exploding: dx = σ(t)·sqrt(2 log(σ_max/σ_min)) dw, σ(t) = σ_min(σ_max/σ_min)ᵗ
    (eq. 30): SMLD/NCSN's noise scales in continuous time.

    The closed-form std σ(t) is that of score_sde, which treats the data as already carrying
    σ_min noise: integrating the SDE from variance 0 at t = 0 gives σ(t)² − σ_min².
    """

    sigma_min: float = flax.struct.field(pytree_node=False, default=0.01)
    sigma_max: float = flax.struct.field(pytree_node=False, default=50.0)

    def drift_coeff(self, t):
        return jnp.zeros_like(jnp.asarray(t, jnp.float32))

    def diffusion(self, t):
        log_ratio = math.log(self.sigma_max / self.sigma_min)
        return self.std(t) * math.sqrt(2 * log_ratio)

    def log_mean_coeff(self, t):
        return jnp.zeros_like(jnp.asarray(t, jnp.float32))

    def std(self, t):
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    @property
    def prior_std(self) -> float:
        return self.sigma_max

    def discretize(self, x, t, s):
        """SMLD's step: x_t = x_s + sqrt(σ(t)² − σ(s)²)·z (exact for the marginals)."""
        return jnp.zeros_like(x), jnp.sqrt(self.std(t) ** 2 - self.std(s) ** 2)


SDES = ("vp", "subvp", "ve")


def sde_from_config(sde_cfg):
    """The SDE named by config.sde.name (vp | subvp | ve)."""
    if sde_cfg.name == "vp":
        return VPSDE(beta_min=sde_cfg.beta_min, beta_max=sde_cfg.beta_max)
    if sde_cfg.name == "subvp":
        return SubVPSDE(beta_min=sde_cfg.beta_min, beta_max=sde_cfg.beta_max)
    if sde_cfg.name == "ve":
        return VESDE(sigma_min=sde_cfg.sigma_min, sigma_max=sde_cfg.sigma_max)
    raise ConfigError(f"sde.name={sde_cfg.name!r} is not one of: {', '.join(SDES)}")
