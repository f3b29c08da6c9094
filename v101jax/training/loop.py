"""The generic training loop: init or restore, step, log, sample, checkpoint.

Start-up order (fixed): the newest good checkpoint in `workdir/checkpoints`, else
`config.init_from`, else a fresh init. The loop never branches on the algorithm; it calls the
registered module's `init`, `train_step` and `sample`.
"""

import functools
import os
import signal
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging

from v101jax.algorithms import get_algorithm
from v101jax.core import parallel
from v101jax.core.checkpoint import (
    Checkpointer,
    abstract_train_state,
    restore_latest,
    sharding_function,
)
from v101jax.core.errors import (
    CheckpointError,
    ConfigError,
    NonFiniteLossError,
    WorkdirError,
)
from v101jax.data import BatchIterator, is_unpaired, load_dataset
from v101jax.data import example_batch as data_example_batch
from v101jax.training import images, sampling, sweep
from v101jax.training.periodic import is_time
from v101jax.training.progress import hms
from v101jax.training.resources import peak_memory
from v101jax.training.sampling import to_host

_EVAL_STREAM = 0x5EED  # fold_in constant that separates the eval key from the grid keys


def train_and_evaluate(config, workdir: str):
    """Trains `config` in `workdir` (resuming when it holds checkpoints); returns the state."""
    algorithm = get_algorithm(config.algorithm)
    _validate(config)
    workdir = prepare_workdir(workdir)
    # Once, outside jit: the first stage's config (and data-derived fields such as a
    # vocabulary) become part of this run's config.json.
    config = algorithm.resolved(config)
    dist = config.distributed
    mesh = parallel.make_mesh(fsdp=dist.fsdp)
    parallel.check_batch_size(config.data.batch_size, mesh)
    repl = parallel.replicated(mesh)
    sharding_of = parallel.state_sharding(mesh, dist.fsdp_min_size)
    steps_per_call = config.train.steps_per_call
    data_sharding = parallel.batch_sharding(mesh, 1 if steps_per_call > 1 else 0)

    dataset = load_dataset(config.data, seed=config.seed)
    init_key, train_key, sample_key = run_keys(config)
    example = example_batch(config)
    init_fn = functools.partial(algorithm.init, config)
    state = restore_or_init(
        config, workdir, init_fn, init_key, example, sharding_of, algorithm.first_stage
    )
    state_shardings = jax.tree.map(sharding_of, state)
    start_step = int(state.step)
    is_main = jax.process_index() == 0
    if is_main:
        with open(os.path.join(workdir, "config.json"), "w") as f:
            f.write(config.to_json_best_effort(indent=2))

    # clu's writers import TensorFlow (for event files): keep that off import time.
    from clu import metric_writers

    writer = metric_writers.create_default_writer(workdir, just_logging=not is_main)
    train_steps = PhasedSteps(algorithm, config, state_shardings, repl, data_sharding)
    # One compiled sampler per sample count (and phase), shared by the grids and evaluation.
    sampler = sampling.chunked_sampler(config, out_shardings=repl)
    held_out = sampling.HeldOut(config)

    evaluator = None
    if config.eval.every_steps > 0:
        from v101jax.training.evaluation import Evaluator

        # A missing extractor fails here, before training.
        evaluator = Evaluator(config, workdir, held_out=held_out)
        # The same noise at every evaluation, so successive scores differ by the model only.
        eval_key = jax.random.fold_in(sample_key, _EVAL_STREAM)

    batches = BatchIterator(
        dataset,
        global_batch_size=config.data.batch_size,
        seed=config.seed,
        start_step=start_step,
        process_index=jax.process_index(),
        process_count=jax.process_count(),
        steps_per_call=steps_per_call,
        random_flip=config.data.random_flip,
        independent=is_unpaired(config.data),
        prefetch=config.data.prefetch,
        transform=lambda b: parallel.global_batch(b, data_sharding),
    )
    ckpt = Checkpointer(
        os.path.join(workdir, "checkpoints"), max_to_keep=config.train.keep_checkpoints
    )
    num_steps = config.train.num_steps
    last_saved = start_step if ckpt.all_steps() else None
    stop = _StopSignal(config.train.stop_check_every)
    if start_step >= num_steps:
        logging.info(
            "%s is already trained to step %d (train.num_steps=%d)",
            workdir,
            start_step,
            num_steps,
        )
    else:
        logging.info("training steps %d → %d in %s", start_step, num_steps, workdir)
    progress = _Progress(start_step, num_steps)
    step = start_step
    final_train, final_eval = {}, {}  # the last logged scalars, for metrics.json
    started = time.perf_counter()
    try:
        while step < num_steps:
            state, metrics = train_steps(step)(state, next(batches), train_key)
            step += steps_per_call
            progress.tick(step)
            # Decided once per iteration, the same on every process: a signal arriving later
            # in this iteration is handled at the next check.
            stopping = stop.agreed()
            save = (
                is_time(step, config.train.checkpoint_every, num_steps)
                or step >= num_steps
                or stopping
            )
            if is_time(step, config.train.log_every, num_steps) or save:
                scalars = _host_scalars(metrics)
                _check_finite(scalars, step, last_saved, ckpt.directory)
                final_train = dict(scalars)
                if is_time(step, config.train.log_every, num_steps):
                    scalars.update(progress.report(step, scalars))
                    writer.write_scalars(
                        step, {f"train/{k}": v for k, v in scalars.items()}
                    )
            if is_time(step, config.train.sample_every, num_steps):
                n = config.train.num_sample_images
                inputs = sampling.default_inputs(config, n, held_out)
                write_samples(
                    sampler(
                        state,
                        jax.random.fold_in(sample_key, step),
                        n,
                        inputs=inputs,
                        phase=algorithm.phase_of(config, step - 1),
                    ),
                    workdir,
                    step,
                    writer,
                    is_main,
                    inputs=inputs,
                )
            if save:
                ckpt.save(step, state.checkpoint_tree())
                last_saved = step
                logging.info("saved checkpoint step %d", step)
            if evaluator and is_time(step, config.eval.every_steps, num_steps):
                results = evaluator.score_model(
                    sampler, state, eval_key, phase=algorithm.phase_of(config, step - 1)
                )
                writer.write_scalars(step, {f"eval/{k}": v for k, v in results.items()})
                final_eval = dict(results)
            if stopping:
                logging.warning(
                    "stop requested: saved step %d to %s; re-run to resume",
                    step,
                    ckpt.directory,
                )
                break
        missing = not os.path.exists(os.path.join(workdir, sweep.METRICS_FILE))
        if is_main and step >= num_steps and (step > start_step or missing):
            # The run's final scalars: how a sweep knows it finished and what it collects.
            run = {
                "from_step": start_step,
                "seconds": time.perf_counter() - started,
                **peak_memory(),
            }
            sweep.write_metrics(workdir, step, num_steps, final_train, final_eval, run)
    finally:
        stop.restore()
        batches.close()
        writer.flush()
        ckpt.close()
    return state


def run_keys(config):
    """(init, train, sample) keys of a run: all derived from config.seed, never stored."""
    return jax.random.split(jax.random.PRNGKey(config.seed), 3)


def example_batch(config, batch_size: int | None = None) -> dict:
    """Zeros shaped like one global batch of the config's data source (its declared keys)."""
    return data_example_batch(config.data, batch_size or config.data.batch_size)


def restore_or_init(
    config, workdir, init_fn, init_key, example, sharding, first_stage=None
):
    """The newest good checkpoint of `workdir`, else `config.init_from`, else a fresh init
    (with the frozen `first_stage`'s parameters loaded into it, when there is one)."""
    abstract_state, abstract_tree = abstract_train_state(
        init_fn, init_key, example, sharding
    )
    keep = config.train.keep_checkpoints
    state = restore_latest(
        os.path.join(workdir, "checkpoints"), abstract_state, abstract_tree, keep
    )
    if state is None and config.init_from:
        directory = checkpoint_dir(config.init_from)
        if not os.path.isdir(directory):
            raise CheckpointError(
                f"config.init_from={config.init_from!r} is not a directory"
            )
        state = restore_latest(directory, abstract_state, abstract_tree, keep)
        if state is None:
            raise CheckpointError(
                f"config.init_from={config.init_from!r} holds no usable checkpoint"
            )
    if state is None:
        shardings = jax.tree.map(sharding_function(sharding), abstract_state)
        state = jax.jit(init_fn, out_shardings=shardings)(init_key, example)
        if first_stage is not None:
            state = jax.device_put(first_stage.load(config, state), shardings)
    return state


def checkpoint_dir(path: str) -> str:
    """Accepts a workdir or its checkpoints/ folder."""
    sub = os.path.join(path, "checkpoints")
    return sub if os.path.isdir(sub) else path


def prepare_workdir(workdir: str) -> str:
    """Creates `workdir` and checks that it is writable; WorkdirError otherwise."""
    if not workdir:
        raise WorkdirError("--workdir is required")
    workdir = os.path.abspath(workdir)
    try:
        os.makedirs(os.path.join(workdir, "samples"), exist_ok=True)
        probe = os.path.join(workdir, f".write_test_{jax.process_index()}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise WorkdirError(
            f"workdir {workdir} is not writable: {e.strerror or e}"
        ) from None
    return workdir


class PhasedSteps:
    """The compiled train step of each training phase, compiled on first use.

    An algorithm without phases has one program. With a `phase` hook, step s runs the program
    of phase(config, s); a fused call (train.steps_per_call > 1) must not straddle a phase
    boundary.
    """

    def __init__(self, algorithm, config, state_shardings, repl, data_sharding):
        self.algorithm, self.config = algorithm, config
        self.state_shardings = state_shardings
        self.repl, self.data_sharding = repl, data_sharding
        self._compiled = {}

    def __call__(self, step: int):
        """The program for the call that starts at `step`."""
        config, k = self.config, self.config.train.steps_per_call
        phase = self.algorithm.phase_of(config, step)
        if k > 1 and self.algorithm.phase_of(config, step + k - 1) != phase:
            raise ConfigError(
                f"train.steps_per_call={k}: steps {step}…{step + k - 1} span two training "
                "phases; choose a steps_per_call that divides the phase lengths"
            )
        if phase not in self._compiled:
            step_fn = functools.partial(self.algorithm.train_step, config)
            if phase is not None:
                step_fn = functools.partial(step_fn, phase=phase)
                logging.info("training phase %s from step %d", phase, step)
            if k > 1:
                step_fn = fuse_steps(step_fn)
            self._compiled[phase] = jax.jit(
                step_fn,
                in_shardings=(self.state_shardings, self.data_sharding, self.repl),
                out_shardings=(self.state_shardings, self.repl),
                donate_argnums=(0,),
            )
        return self._compiled[phase]


def fuse_steps(step_fn):
    """K train steps in one compiled call: batches carry a leading [K] axis (lax.scan)."""

    def fused(state, batches, rng):
        state, metrics = jax.lax.scan(lambda s, b: step_fn(s, b, rng), state, batches)
        return state, jax.tree.map(lambda m: jnp.mean(m, axis=0), metrics)

    return fused


def write_samples(
    samples, workdir: str, step: int, writer, is_main: bool, inputs=None
) -> str | None:
    """Writes samples/step_XXXXXX.png (and the same picture to TensorBoard); image `inputs`
    (source images the samples were conditioned on) are shown beside their samples."""
    samples = to_host(samples)
    if not is_main:
        return None
    if inputs is not None:
        inputs = {k: to_host(v) for k, v in inputs.items()}
    picture = images.samples_to_picture(samples, inputs=inputs)
    path = os.path.join(workdir, "samples", f"step_{step:06d}.png")
    images.save_png(path, picture)
    writer.write_images(step, {"sample/grid": picture[None]})
    logging.info("wrote %s", path)
    return path


def _validate(config):
    k = config.train.steps_per_call
    if k < 1:
        raise ConfigError(f"train.steps_per_call={k} must be ≥ 1")
    for name in ("num_steps", "log_every", "checkpoint_every", "sample_every"):
        value = config.train[name]
        if value > 0 and value % k:
            raise ConfigError(
                f"train.{name}={value} must be a multiple of train.steps_per_call={k}"
            )
    every = config.eval.every_steps
    if every > 0 and every % k:
        raise ConfigError(
            f"eval.every_steps={every} must be a multiple of train.steps_per_call={k}"
        )
    if config.train.num_steps < 0:
        raise ConfigError("train.num_steps must be ≥ 0")


def _host_scalars(metrics) -> dict:
    return {k: float(to_host(v)) for k, v in metrics.items()}


def _check_finite(scalars: dict, step: int, last_saved, ckpt_dir: str):
    bad = sorted(k for k, v in scalars.items() if not np.isfinite(v))
    if bad:
        where = (
            f"the last good checkpoint is step {last_saved} in {ckpt_dir}"
            if last_saved is not None
            else "no checkpoint was saved"
        )
        raise NonFiniteLossError(
            f"non-finite {', '.join(bad)} at step {step} "
            f"({', '.join(f'{k}={scalars[k]}' for k in bad)}); stopping: {where}"
        )


class _Progress:
    """The progress line: step, losses, steps/s and ETA, the rate measured from the first
    completed call (compilation excluded)."""

    def __init__(self, start_step: int, num_steps: int):
        self.num_steps = num_steps
        self.t0, self.step0 = None, start_step

    def tick(self, step: int):
        if self.t0 is None:
            self.t0, self.step0 = time.perf_counter(), step

    def report(self, step: int, scalars: dict) -> dict:
        """Logs the line (with whichever of loss, d_loss, g_loss `scalars` has); returns
        {"steps_per_sec": rate}."""
        elapsed = time.perf_counter() - self.t0
        rate = (
            (step - self.step0) / elapsed if elapsed > 0 and step > self.step0 else 0.0
        )
        eta = (self.num_steps - step) / rate if rate > 0 else float("nan")
        losses = "".join(
            f"  {k} {scalars[k]:.4g}"
            for k in ("loss", "d_loss", "g_loss")
            if k in scalars
        )
        logging.info(
            "step %d/%d%s  %.2f steps/s  ETA %s",
            step,
            self.num_steps,
            losses,
            rate,
            hms(eta),
        )
        return {"steps_per_sec": rate}


class _StopSignal:
    """SIGTERM/SIGINT → finish the current step, checkpoint, return (preemption-safe).

    With several processes a signal may reach one of them only, or each at another step, and
    a checkpoint is written by all together: every `check_every` iterations the processes
    share their flags (one small all-gather), and all stop at that iteration if any was
    signalled. One process reads its own flag every iteration.
    """

    def __init__(self, check_every: int):
        self.requested = False
        self.check_every = max(1, check_every)
        self._iterations = 0
        self._previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass

    def agreed(self) -> bool:
        """Whether this iteration stops; call once per iteration on every process."""
        self._iterations += 1
        if jax.process_count() == 1:
            return self.requested
        if self._iterations % self.check_every:
            return False
        from jax.experimental import multihost_utils

        flags = multihost_utils.process_allgather(np.int32(self.requested))
        return bool(np.any(flags))

    def _handle(self, signum, frame):
        del frame
        logging.warning("received signal %d: checkpointing after this step", signum)
        self.requested = True

    def restore(self):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
