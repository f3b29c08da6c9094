"""The forward process q(x_t | x₀), its posterior q(x_{t−1} | x_t, x₀), and conversions between
the three network parameterisations: ε, x₀ and v = α_t·ε − σ_t·x₀ (Salimans & Ho 2022), with
α_t = sqrt(ᾱ_t), σ_t = sqrt(1 − ᾱ_t).

Training regresses the chosen target with a plain MSE. Measured in ε, that is a weighting:
for a fixed x_t, x₀-error = (σ/α)·ε-error and v-error = ε-error/α, so
  ‖x₀ − x̂₀‖² = ‖ε − ε̂‖² / SNR_t  and  ‖v − v̂‖² = ‖ε − ε̂‖² · (1 + 1/SNR_t),
with SNR_t = α_t²/σ_t²: x₀-prediction weights low-noise steps less than ε-prediction, v
between the two at high noise and like ε at low noise.
"""

from v101jax.diffusion.alpha_sigma import batch_broadcast, vp_from_alpha_bar
from v101jax.diffusion.schedules import DiscreteSchedule


def _bcast(values, t, x):
    """values[t] shaped [B, 1, …, 1] to broadcast against x [B, …]."""
    return batch_broadcast(values[t], x)


def alpha_sigma(schedule: DiscreteSchedule, t, x):
    """(α_t, σ_t) = (sqrt(ᾱ_t), sqrt(1 − ᾱ_t)) at indices t [B], shaped to broadcast against
    x [B, …] (alpha_sigma.vp_from_alpha_bar: the VP SDE's scales have the same definition)."""
    return vp_from_alpha_bar(_bcast(schedule.alphas_cumprod, t, x))


def q_sample(schedule: DiscreteSchedule, x0, t, noise):
    """x_t = sqrt(ᾱ_t)·x₀ + sqrt(1 − ᾱ_t)·ε  (DDPM eq. 4)."""
    alpha, sigma = alpha_sigma(schedule, t, x0)
    return alpha * x0 + sigma * noise


def predict_x0_from_eps(schedule: DiscreteSchedule, x_t, t, eps):
    """x₀ = (x_t − sqrt(1 − ᾱ_t)·ε) / sqrt(ᾱ_t)  (DDIM eq. 12, the "predicted x₀")."""
    alpha, sigma = alpha_sigma(schedule, t, x_t)
    return (x_t - sigma * eps) / alpha


def predict_eps_from_x0(schedule: DiscreteSchedule, x_t, t, x0):
    """ε = (x_t − sqrt(ᾱ_t)·x₀) / sqrt(1 − ᾱ_t), the inverse of predict_x0_from_eps."""
    alpha, sigma = alpha_sigma(schedule, t, x_t)
    return (x_t - alpha * x0) / sigma


def q_posterior(schedule: DiscreteSchedule, x0, x_t, t):
    """Mean and variance of q(x_{t−1} | x_t, x₀)  (DDPM eqs. 6–7)."""
    mean = (
        _bcast(schedule.posterior_mean_coef1, t, x_t) * x0
        + _bcast(schedule.posterior_mean_coef2, t, x_t) * x_t
    )
    return mean, _bcast(schedule.posterior_variance, t, x_t)


PREDICTIONS = ("eps", "x0", "v")


def v_target(schedule: DiscreteSchedule, x0, t, noise):
    """v = α_t·ε − σ_t·x₀."""
    alpha, sigma = alpha_sigma(schedule, t, x0)
    return alpha * noise - sigma * x0


def predict_x0_from_v(schedule: DiscreteSchedule, x_t, t, v):
    """x₀ = α_t·x_t − σ_t·v (from x_t = α·x₀ + σ·ε and α² + σ² = 1)."""
    alpha, sigma = alpha_sigma(schedule, t, x_t)
    return alpha * x_t - sigma * v


def predict_eps_from_v(schedule: DiscreteSchedule, x_t, t, v):
    """ε = σ_t·x_t + α_t·v."""
    alpha, sigma = alpha_sigma(schedule, t, x_t)
    return sigma * x_t + alpha * v


def prediction_target(schedule: DiscreteSchedule, prediction: str, x0, t, noise):
    """What the network regresses under `prediction` (eps | x0 | v)."""
    if prediction == "eps":
        return noise
    if prediction == "x0":
        return x0
    if prediction == "v":
        return v_target(schedule, x0, t, noise)
    raise ValueError(
        f"prediction {prediction!r} is not one of: {', '.join(PREDICTIONS)}"
    )


def x0_from_prediction(schedule: DiscreteSchedule, prediction: str, x_t, t, output):
    """The x̂₀ implied by a network output under `prediction`."""
    if prediction == "eps":
        return predict_x0_from_eps(schedule, x_t, t, output)
    if prediction == "x0":
        return output
    if prediction == "v":
        return predict_x0_from_v(schedule, x_t, t, output)
    raise ValueError(
        f"prediction {prediction!r} is not one of: {', '.join(PREDICTIONS)}"
    )


def eps_from_prediction(schedule: DiscreteSchedule, prediction: str, x_t, t, output):
    """The ε̂ implied by a network output under `prediction`: what the samplers consume."""
    if prediction == "eps":
        return output
    if prediction == "x0":
        return predict_eps_from_x0(schedule, x_t, t, output)
    if prediction == "v":
        return predict_eps_from_v(schedule, x_t, t, output)
    raise ValueError(
        f"prediction {prediction!r} is not one of: {', '.join(PREDICTIONS)}"
    )
