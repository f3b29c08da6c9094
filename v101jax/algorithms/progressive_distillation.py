"""Progressive distillation (Salimans & Ho 2022) of a trained diffusion model's DDIM sampler.

The teacher is a `diffusion` run (`distill.teacher_workdir`) trained with v- or x₀-prediction
(the paper's section 4: an ε-network's x̂₀ = (z − σ·ε̂)/α blows up at the few, large steps a
distilled sampler takes). At start-up, outside jit, the loop resolves it once
(`ALGORITHM.first_stage`): its config is copied into `distill.teacher`, and its network
(model, diffusion, conditioning fields) becomes this run's, since the student starts as a
copy of it. A fresh run loads the teacher's sampling parameters (EMA) as both the frozen
teacher and the student.

Rounds are training phases. Round r (steps r·distill.steps_per_round onwards) distils the
teacher's sampler of N_r = distill.teacher_steps / 2^r deterministic DDIM steps into a student
of N_r / 2 (v101jax/diffusion/distillation.py: the two-step target, trailing timestep grids);
rounds continue until the student takes distill.final_steps. At the first step of each later
round the student's sampling parameters become the teacher, the student restarts from them,
and its optimiser state is reset (`distill.reset_optimizer`), all inside the compiled step,
so a run resumes exactly in any round. Samples (grids, evaluation, experiments.sample) are
the current round's student with DDIM η = 0 over its N_r / 2 trailing steps (sample.num_steps
> 0 overrides the count).
"""

import math

import jax
import jax.numpy as jnp

from v101jax.algorithms import diffusion, first_stage
from v101jax.algorithms.contract import Algorithm, FirstStage
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import (
    MultiState,
    fresh_optimizer_where,
    gradient_step,
    sampling_params,
)
from v101jax.diffusion import denoiser, distillation, process
from v101jax.diffusion.schedules import schedule_from_config

HINT = (
    "a diffusion run with v- or x0-prediction, e.g. python -m experiments.main "
    "--config=configs/ddim.py --config.diffusion.prediction=v"
)
# The fields of the teacher's config that define its network: the student's are the same.
NETWORK_SECTIONS = ("model", "diffusion", "conditioning")


def num_rounds(config) -> int:
    """Halvings from distill.teacher_steps to distill.final_steps."""
    d = config.distill
    rounds = math.log2(d.teacher_steps / d.final_steps) if d.final_steps > 0 else 0
    if d.final_steps < 1 or rounds < 1 or rounds != int(rounds):
        raise ConfigError(
            f"distill.teacher_steps={d.teacher_steps} must be distill.final_steps="
            f"{d.final_steps} (≥ 1) times a power of two (≥ 2)"
        )
    return int(rounds)


def student_steps(config, phase: int) -> int:
    """Sampling steps of round `phase`'s student."""
    return config.distill.teacher_steps // 2 ** (phase + 1)


def phase(config, step: int) -> int:
    """The round of train step `step` (the last round runs to train.num_steps)."""
    return min(step // config.distill.steps_per_round, num_rounds(config) - 1)


def validate(config):
    d = config.distill
    rounds = num_rounds(config)
    if d.steps_per_round < 1:
        raise ConfigError(f"distill.steps_per_round={d.steps_per_round} must be ≥ 1")
    if config.train.num_steps <= (rounds - 1) * d.steps_per_round:
        raise ConfigError(
            f"train.num_steps={config.train.num_steps} ends before the last of the "
            f"{rounds} rounds (distill.steps_per_round={d.steps_per_round}): set it to "
            f"{rounds * d.steps_per_round}"
        )
    if d.weighting not in distillation.WEIGHTINGS:
        raise ConfigError(
            f"distill.weighting={d.weighting!r} is not one of: "
            f"{', '.join(distillation.WEIGHTINGS)}"
        )
    if d.teacher_steps > schedule_from_config(config.diffusion).num_timesteps:
        raise ConfigError(
            f"distill.teacher_steps={d.teacher_steps} exceeds the schedule's "
            f"{config.diffusion.num_timesteps} timesteps"
        )


def resolve_teacher(config):
    """`config` with the teacher's resolved config in distill.teacher and its network fields
    (model, diffusion, conditioning) as this run's."""
    config = first_stage.resolve(config, "distill", "teacher", ("diffusion",), HINT)
    teacher = config.distill.teacher
    if teacher.diffusion.prediction not in ("v", "x0"):
        raise ConfigError(
            f"distill.teacher_workdir={config.distill.teacher_workdir!r} holds an "
            f"{teacher.diffusion.prediction}-prediction model; progressive distillation "
            "needs v- or x0-prediction (Salimans & Ho 2022, section 4): train the teacher "
            "with --config.diffusion.prediction=v"
        )
    if teacher.conditioning.class_conditional:
        raise ConfigError(
            "progressive distillation distils unconditional teachers; "
            f"{config.distill.teacher_workdir!r} is class-conditional"
        )
    with config.unlocked():
        for section in NETWORK_SECTIONS:
            config[section] = teacher[section].copy_and_resolve_references()
    return config


def load_teacher(config, state: MultiState) -> MultiState:
    """The fresh `state` with the teacher's sampling parameters as teacher and student."""
    teacher_config = first_stage.resolved(config, "distill", "teacher")
    teacher = first_stage.restore(
        teacher_config, config.distill.teacher_workdir, diffusion.init
    )
    params = sampling_params(teacher, teacher_config.sample.use_ema)
    student = state["student"]
    student = student.replace(
        params=jax.tree.map(jnp.copy, params),
        ema_params=jax.tree.map(jnp.copy, params),
        opt_state=student.tx.init(params),
    )
    return state.replace(
        networks={"student": student}, frozen={"teacher_params": params}
    )


def init(config, rng, example_batch) -> MultiState:
    """The student (the teacher's network, its optimiser and EMA) and a frozen copy of its
    parameters as the teacher, until `load_teacher` fills in the trained ones."""
    validate(config)
    first_stage.resolved(
        config, "distill", "teacher"
    )  # names the field when unresolved
    # With a reset per round the optimiser's schedule spans one round.
    round_config = config.copy_and_resolve_references()
    if config.distill.reset_optimizer:
        with round_config.unlocked():
            round_config.train.num_steps = config.distill.steps_per_round
    student = diffusion.init(round_config, rng, example_batch)
    return MultiState(
        networks={"student": student},
        frozen={"teacher_params": jax.tree.map(jnp.copy, student.params)},
        primary="student",
    )


def distillation_loss(config, params, teacher_params, apply_fn, batch, rng, *, phase):
    """Mean over the batch of w(t)·mean over pixels (x̂_student(z_t) − x̃)² (Algorithm 2)."""
    schedule = schedule_from_config(config.diffusion)
    prediction = config.diffusion.prediction
    n = student_steps(config, phase)
    student_grid = jnp.asarray(distillation.grid(schedule.num_timesteps, n))
    teacher_grid = jnp.asarray(distillation.grid(schedule.num_timesteps, 2 * n))
    x0 = batch["x"]
    i_key, noise_key, dropout_key = jax.random.split(rng, 3)
    i = jax.random.randint(i_key, x0.shape[:1], 1, n + 1)
    t, t_mid, t_next = student_grid[i], teacher_grid[2 * i - 1], student_grid[i - 1]
    noise = jax.random.normal(noise_key, x0.shape, x0.dtype)
    z = process.q_sample(schedule, x0, t, noise)

    def teacher_x0(x, s):
        out = apply_fn({"params": teacher_params}, x, s, None, train=False)
        return process.x0_from_prediction(schedule, prediction, x, s, out)

    target = jax.lax.stop_gradient(
        distillation.two_step_target(teacher_x0, schedule, z, t, t_mid, t_next)
    )
    out = apply_fn(
        {"params": params}, z, t, None, train=True, rngs={"dropout": dropout_key}
    )
    x0_hat = process.x0_from_prediction(schedule, prediction, z, t, out)
    weight = distillation.loss_weight(schedule, t, z, config.distill.weighting)
    per_example = jnp.mean(
        (x0_hat - target) ** 2, axis=tuple(range(1, x0.ndim)), keepdims=True
    )
    loss = jnp.mean(weight * per_example)
    return loss, {"scalars": {"loss": loss, "student_steps": jnp.asarray(n)}}


def train_step(config, state: MultiState, batch, rng, *, phase: int):
    """One student update; at a later round's first step the student becomes the teacher.

    Keys: fold_in(rng, step) split into the timestep, the noise and dropout.
    """
    student, teacher = state["student"], state["teacher_params"]
    if phase > 0:
        first = state.step == phase * config.distill.steps_per_round
        promoted = sampling_params(student, config.sample.use_ema)
        teacher = jax.tree.map(
            lambda new, old: jnp.where(first, new, old), promoted, teacher
        )
        student = student.replace(
            params=jax.tree.map(
                lambda new, old: jnp.where(first, new, old), promoted, student.params
            )
        )
        if config.distill.reset_optimizer:
            student = fresh_optimizer_where(first, student)
    step_key = jax.random.fold_in(rng, state.step)
    student, metrics, _ = gradient_step(
        student,
        lambda params: distillation_loss(
            config,
            params,
            teacher,
            student.apply_fn,
            batch,
            step_key,
            phase=phase,
        ),
    )
    new_state = state.replace(
        networks={"student": student}, frozen={"teacher_params": teacher}
    )
    return new_state, metrics


def sampler_config(config, phase: int):
    """config with the student's sampler: DDIM, η = 0, trailing steps of round `phase` (or
    sample.num_steps when set)."""
    config = config.copy_and_resolve_references()
    with config.unlocked():
        steps = config.sample.num_steps or student_steps(config, phase)
        config.sample.sampler = "ddim"
        config.sample.eta = 0.0
        config.sample.timestep_spacing = "trailing"
        config.sample.num_steps = steps
    return config


def sample(
    config, state: MultiState, rng, num_samples: int, *, inputs=None, phase: int
):
    """`num_samples` samples of round `phase`'s student (`sampler_config`)."""
    return diffusion.sample(
        sampler_config(config, phase), state["student"], rng, num_samples, inputs=inputs
    )


ALGORITHM = Algorithm(
    name="progressive_distillation",
    init=init,
    train_step=train_step,
    sample=sample,
    sample_options=("num_steps", "clip_x0"),
    num_sample_classes=denoiser.num_sample_classes,
    sampling_inputs=denoiser.sampling_inputs,
    phase=phase,
    first_stage=FirstStage(resolve=resolve_teacher, load=load_teacher),
)
