"""Progressive distillation's target on exact predictors: one DDIM step with x̃ lands where
the sampler's own two DDIM steps (samplers.ddim_update) land; the trailing grids nest; the
loss weights are the paper's.

The data are the mixture ½N(−μ, s²) + ½N(μ, s²): its exact E[x₀ | z_t] is the
responsibility-weighted mean of each component's μ_k + α s² (z_t − α μ_k) / (α² s² + σ²), and
(unlike a single Gaussian, whose DDIM path is nearly exact at any step count) one DDIM step
of it is measurably not two.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v101jax.diffusion import distillation, samplers
from v101jax.diffusion.schedules import DiscreteSchedule, linear_betas

T = 1000
MU, S = 1.0, 0.2


@pytest.fixture(scope="module")
def schedule():
    return DiscreteSchedule.from_betas(linear_betas(T, 1e-4, 0.02))


def exact_x0_fn(schedule):
    def x0_fn(z, t):
        ab = schedule.alphas_cumprod[t][:, None]
        a = jnp.sqrt(ab)
        var = ab * S**2 + 1 - ab
        means = jnp.asarray([-MU, MU])
        log_w = -((z - a * means) ** 2) / (2 * var)  # equal priors and variances
        w = jax.nn.softmax(log_w, axis=-1)
        return jnp.sum(
            w * (means + a * S**2 * (z - a * means) / var), -1, keepdims=True
        )

    return x0_fn


def exact_eps_fn(schedule):
    x0_fn = exact_x0_fn(schedule)

    def eps_fn(z, t):
        ab = schedule.alphas_cumprod[t][:, None]
        return (z - jnp.sqrt(ab) * x0_fn(z, t)) / jnp.sqrt(1 - ab)

    return eps_fn


def two_teacher_steps(schedule, z, t, t_mid, t_next):
    """The sampler's own η = 0 DDIM update, twice."""
    eps_fn = exact_eps_fn(schedule)
    for i, (a, b) in enumerate([(t, t_mid), (t_mid, t_next)]):
        z = samplers.ddim_update(
            eps_fn,
            schedule,
            z,
            (i, a, b),
            jax.random.PRNGKey(0),
            eta=0.0,
            clip_x0=False,
        )
    return z


@pytest.mark.parametrize("student_steps", [1, 2, 4, 8])
def test_one_step_on_the_target_equals_two_teacher_steps(schedule, student_steps):
    z_all = np.random.default_rng(0).standard_normal((student_steps, 64, 1))
    student = distillation.grid(T, student_steps)
    teacher = distillation.grid(T, 2 * student_steps)
    x0_fn = exact_x0_fn(schedule)
    gaps = []
    for i in range(1, student_steps + 1):
        t, t_mid, t_next = student[i], teacher[2 * i - 1], student[i - 1]
        z = jnp.asarray(z_all[i - 1], jnp.float32)
        ts = [jnp.full((64,), v, jnp.int32) for v in (t, t_mid, t_next)]
        target = distillation.two_step_target(x0_fn, schedule, z, *ts)
        a_t, s_t = distillation.alpha_sigma_at(schedule, ts[0], z)
        a_n, s_n = distillation.alpha_sigma_at(schedule, ts[2], z)
        one_step = distillation.ddim_step(z, target, a_t, s_t, a_n, s_n)
        expected = two_teacher_steps(schedule, z, int(t), int(t_mid), int(t_next))
        np.testing.assert_allclose(one_step, expected, atol=2e-4, rtol=1e-4)
        if t_next == -1:  # the last step: the target is the teacher's second x̂
            np.testing.assert_allclose(target, expected, atol=2e-4)
        teacher_one = distillation.ddim_step(z, x0_fn(z, ts[0]), a_t, s_t, a_n, s_n)
        gaps.append(float(jnp.max(jnp.abs(teacher_one - expected))))
    # The teacher's own single step misses (else distillation were a no-op) by far more
    # than the tolerance above.
    assert max(gaps) > 1e-2, gaps


def test_trailing_grids_end_at_t_minus_one_and_nest():
    np.testing.assert_array_equal(
        samplers.ddim_timesteps(1000, 4, "trailing"), [249, 499, 749, 999]
    )
    np.testing.assert_array_equal(distillation.grid(1000, 1), [-1, 999])
    for n in (1, 2, 4, 8, 16, 32, 64, 125, 500):
        np.testing.assert_array_equal(
            distillation.grid(1000, 2 * n)[::2], distillation.grid(1000, n)
        )
    # Rounding keeps nesting where T/n is not an integer.
    np.testing.assert_array_equal(
        distillation.grid(1000, 32)[::2], distillation.grid(1000, 16)
    )


def test_loss_weights(schedule):
    t = jnp.asarray([0, 500, 999])
    x = jnp.zeros((3, 2))
    ab = np.asarray(schedule.alphas_cumprod)[[0, 500, 999]]
    snr = ab / (1 - ab)
    np.testing.assert_allclose(
        distillation.loss_weight(schedule, t, x, "truncated_snr")[:, 0],
        np.maximum(snr, 1),
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        distillation.loss_weight(schedule, t, x, "snr_plus_one")[:, 0],
        snr + 1,
        rtol=1e-4,
    )
    with pytest.raises(ValueError, match="weighting"):
        distillation.loss_weight(schedule, t, x, "snr")
