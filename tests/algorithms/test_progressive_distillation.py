"""Progressive distillation: a v-prediction ring teacher distilled 16 → 8 → 4 DDIM steps keeps
its mode masses and its noise-to-sample map; the student becomes the teacher at each round's
first step; bad teachers and rounds are refused with the field named; the command line runs
teacher and student end to end."""

import functools
import json
import os

import jax
import numpy as np
import pytest

from configs import ddpm
from configs import progressive_distillation as distill_configs
from tests.algorithms.test_diffusion_learning import mode_statistics, train_ring
from tests.training.commands import run_module
from v101jax.algorithms import diffusion
from v101jax.algorithms import progressive_distillation as pd
from v101jax.core.config_spec import load_config
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import sampling_params
from v101jax.data import BatchIterator, load_dataset

NUM_SAMPLES = 4000
STD = 0.1  # the ring's σ


def teacher_samples(config, state, num_steps):
    c = config.copy_and_resolve_references()
    with c.unlocked():
        c.sample.sampler, c.sample.eta = "ddim", 0.0
        c.sample.timestep_spacing, c.sample.num_steps = "trailing", num_steps
    sample = functools.partial(diffusion.sample, c, num_samples=NUM_SAMPLES)
    return np.asarray(jax.jit(sample)(state, jax.random.PRNGKey(7)))


def student_config(teacher_config, **fields):
    config = distill_configs.get_config("ring")
    with config.unlocked():
        config.distill.teacher = teacher_config.copy_and_resolve_references()
        for section in pd.NETWORK_SECTIONS:
            config[section] = teacher_config[section].copy_and_resolve_references()
        for key, value in fields.items():
            section, name = key.split(".")
            config[section][name] = value
        config.train.num_steps = pd.num_rounds(config) * config.distill.steps_per_round
    return config


def with_teacher(config, teacher, batch):
    """A fresh distillation state whose teacher and student are `teacher`'s EMA (what
    load_teacher does with a checkpoint)."""
    state = pd.init(config, jax.random.PRNGKey(0), batch)
    params = sampling_params(teacher, True)
    student = state["student"].replace(
        params=params, ema_params=params, opt_state=state["student"].tx.init(params)
    )
    return state.replace(
        networks={"student": student}, frozen={"teacher_params": params}
    )


def distil(config, state, batches, *, until_step):
    steps = {}
    key = jax.random.PRNGKey(1)
    while int(state.step) < until_step:
        p = pd.phase(config, int(state.step))
        if p not in steps:
            steps[p] = jax.jit(functools.partial(pd.train_step, config, phase=p))
        state, _ = steps[p](state, next(batches), key)
    return state


@pytest.fixture(scope="module")
def ring_run():
    """The ring teacher (configs/ddpm.py:ring with v-prediction) and its student after each
    of the two rounds of configs/progressive_distillation.py:ring (16 → 8 → 4 steps)."""
    teacher_config = ddpm.get_config("ring")
    with teacher_config.unlocked():
        teacher_config.diffusion.prediction = "v"
    teacher_config, teacher, _ = train_ring(teacher_config)
    config = student_config(teacher_config)
    data = load_dataset(config.data, seed=0)
    batches = BatchIterator(data, global_batch_size=config.data.batch_size, seed=0)
    state = with_teacher(config, teacher, next(batches))
    rounds = []
    for r in range(pd.num_rounds(config)):
        state = distil(
            config, state, batches, until_step=(r + 1) * config.distill.steps_per_round
        )
        sample = functools.partial(pd.sample, config, num_samples=NUM_SAMPLES, phase=r)
        rounds.append(np.asarray(jax.jit(sample)(state, jax.random.PRNGKey(7))))
    batches.close()
    reference = {n: teacher_samples(teacher_config, teacher, n) for n in (4, 8, 16)}
    return config, reference, rounds


def test_an_8_step_student_keeps_the_16_step_teachers_modes(ring_run):
    config, teacher, (eight, _) = ring_run
    assert pd.student_steps(config, 0) == 8
    mass_teacher, inside_teacher, _ = mode_statistics(teacher[16], STD)
    mass, inside, _ = mode_statistics(eight, STD)
    assert np.max(np.abs(mass - mass_teacher)) < 0.02, (mass, mass_teacher)
    assert inside > inside_teacher - 0.03, (inside, inside_teacher)
    # From the same noise the student lands where the 16-step teacher does, much closer
    # than the teacher's own 8-step sampler.
    gap_student = np.linalg.norm(eight - teacher[16], axis=-1).mean()
    gap_teacher = np.linalg.norm(teacher[8] - teacher[16], axis=-1).mean()
    assert gap_student < 0.25 * gap_teacher, (gap_student, gap_teacher)


def test_a_4_step_student_covers_the_ring_where_4_teacher_steps_do_not(ring_run):
    config, teacher, (_, four) = ring_run
    assert pd.student_steps(config, 1) == 4
    mass, inside, _ = mode_statistics(four, STD)
    assert np.all(np.abs(mass - 0.125) < 0.05) and inside >= 0.75, (mass, inside)
    _, teacher_inside, _ = mode_statistics(teacher[4], STD)
    assert teacher_inside < 0.5, teacher_inside


def test_the_student_becomes_the_teacher_at_a_rounds_first_step():
    teacher_config = ddpm.get_config("ring")
    with teacher_config.unlocked():
        teacher_config.diffusion.prediction = "v"
        teacher_config.train.num_steps = 20
        teacher_config.optim.warmup_steps = 5
    teacher_config, teacher, _ = train_ring(teacher_config)
    config = student_config(teacher_config, **{"distill.steps_per_round": 3})
    data = load_dataset(config.data, seed=0)
    batches = BatchIterator(data, global_batch_size=config.data.batch_size, seed=0)
    state = distil(
        config, with_teacher(config, teacher, next(batches)), batches, until_step=3
    )
    ema_before = sampling_params(state["student"], True)
    teacher_before = state["teacher_params"]
    after = distil(config, state, batches, until_step=4)
    batches.close()
    for new, old, was in zip(
        jax.tree.leaves(after["teacher_params"]),
        jax.tree.leaves(ema_before),
        jax.tree.leaves(teacher_before),
        strict=True,
    ):
        np.testing.assert_array_equal(new, old)  # promoted: the student's EMA
        assert not np.array_equal(new, was)
    # The optimiser restarted: one Adam step since the round began.
    counts = [
        int(x) for x in jax.tree.leaves(after["student"].opt_state) if np.ndim(x) == 0
    ]
    assert counts and max(counts) == 1, counts


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("distill.teacher_steps", 12, "power of two"),
        ("distill.final_steps", 8, "power of two"),
        ("distill.weighting", "snr", "distill.weighting"),
        ("train.num_steps", 2, "train.num_steps"),
    ],
)
def test_bad_rounds_name_the_field(field, value, match):
    config = load_config("configs/progressive_distillation.py:smoke", {field: value})
    with pytest.raises(ConfigError, match=match):
        pd.validate(config)


def test_teacher_and_student_train_from_the_command_line(tmp_path):
    env = {"JAX_THREEFRY_PARTITIONABLE": "0"}
    eps_teacher, v_teacher = str(tmp_path / "eps"), str(tmp_path / "v")
    for workdir, prediction in ((eps_teacher, "eps"), (v_teacher, "v")):
        result = run_module(
            "experiments.main",
            "--config=configs/ddim.py:smoke",
            f"--workdir={workdir}",
            f"--config.diffusion.prediction={prediction}",
            env=env,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    student = str(tmp_path / "student")
    result = run_module(
        "experiments.main",
        "--config=configs/progressive_distillation.py:smoke",
        f"--workdir={student}",
        f"--config.distill.teacher_workdir={eps_teacher}",
        env=env,
    )
    assert result.returncode != 0 and "v- or x0-prediction" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_module(
        "experiments.main",
        "--config=configs/progressive_distillation.py:smoke",
        f"--workdir={student}",
        f"--config.distill.teacher_workdir={v_teacher}",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(student, "config.json")) as f:
        resolved = json.load(f)
    assert resolved["distill"]["teacher"]["diffusion"]["prediction"] == "v"
    assert resolved["model"] == resolved["distill"]["teacher"]["model"]
    # Samples of the finished run: the last round's 1-step student.
    grids = sorted(os.listdir(os.path.join(student, "samples")))
    assert grids[-1] == "step_000004.png", grids
    out = str(tmp_path / "samples.npz")
    result = run_module(
        "experiments.sample",
        f"--workdir={student}",
        f"--out={out}",
        "--num_samples=4",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(out) as exported:
        assert all(np.isfinite(exported[k]).all() for k in exported.files)
