"""Sampler speed: compile time and samples/s of the compiled (lax.scan) samplers, and the
ratio against a Python loop that calls a jitted single step.

    python -m benchmarks.sampler --config=configs/ddim.py --num_samples=64 \
        --runs=ddim:10,ddim:50,ddpm:1000 [--python_loop]
    python -m benchmarks.sampler --config=configs/score_sde_vp.py --runs=em:50,pc:50,ode:0 \
        --workdir=runs/score_sde_vp

Parameters are freshly initialised unless --workdir names a trained run: the fixed-step
samplers' speed does not depend on their values, the adaptive ODE's number of function
evaluations (printed as nfe) does. --python_loop applies to the discrete samplers.
"""

import argparse
import functools
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/ddim.py")
    parser.add_argument("--num_samples", type=int, default=64)
    parser.add_argument("--runs", default="ddim:10,ddim:50", help="sampler:steps,...")
    parser.add_argument(
        "--python_loop", action="store_true", help="also time a Python loop of steps"
    )
    parser.add_argument("--workdir", default="", help="sample this trained run")
    parser.add_argument(
        "--ode_tol", type=float, default=0.0, help="ODE rtol = atol (default: config's)"
    )
    args = parser.parse_args()

    import jax

    from benchmarks.common import device_name, load_config
    from v101jax.algorithms import diffusion, get_algorithm, score_sde
    from v101jax.algorithms.contract import with_sample_options
    from v101jax.data import sample_shape
    from v101jax.diffusion import samplers
    from v101jax.diffusion.schedules import schedule_from_config
    from v101jax.training.export import load_run_config, load_state
    from v101jax.training.loop import example_batch

    config = load_config(args.config)
    algorithm = get_algorithm(config.algorithm)
    if args.workdir:
        config = load_run_config(args.workdir, config)
        state = load_state(config, args.workdir)
    else:
        state = jax.jit(functools.partial(algorithm.init, config))(
            jax.random.PRNGKey(0), example_batch(config, 2)
        )
    if args.ode_tol:
        with config.unlocked():
            config.sample.ode_rtol = config.sample.ode_atol = args.ode_tol
    n = args.num_samples
    print(f"config={args.config} device={device_name()} num_samples={n}")
    for run in args.runs.split(","):
        name, steps = run.split(":")
        steps = int(steps)
        run_config = with_sample_options(
            config, algorithm, sampler=name, steps=steps or None
        )
        fn = jax.jit(functools.partial(algorithm.sample, run_config, num_samples=n))
        key = jax.random.PRNGKey(1)
        t0 = time.perf_counter()
        jax.block_until_ready(fn(state, key))
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        jax.block_until_ready(fn(state, jax.random.PRNGKey(2)))
        run_s = time.perf_counter() - t0
        line = (
            f"{name:5s} steps={steps:5d} compile+first={first:7.2f}s "
            f"run={run_s:7.3f}s samples/s={n / run_s:9.1f}"
        )
        if name == "ode":
            x_1 = jax.random.normal(key, (n,) + sample_shape(config.data))
            _, nfe = jax.jit(functools.partial(score_sde.ode_sample, run_config))(
                state, x_1
            )
            line += f"  nfe={int(nfe)}"
        if args.python_loop and algorithm is diffusion.ALGORITHM:
            schedule = schedule_from_config(config.diffusion)
            eps_fn = diffusion.noise_predictor(run_config, state)
            update, plan = samplers.sampler_steps(
                name,
                eps_fn,
                schedule,
                key,
                num_steps=steps,
                eta=config.sample.eta,
                clip_x0=config.sample.clip_x0,
            )
            step = jax.jit(update)
            x = jax.random.normal(key, (n,) + example_batch(config, 1)["x"].shape[1:])
            rows = [tuple(a[k] for a in plan) for k in range(len(plan[0]))]
            jax.block_until_ready(step(x, rows[0]))  # compile once
            t0 = time.perf_counter()
            for row in rows:
                x = step(x, row)
            jax.block_until_ready(x)
            loop_s = time.perf_counter() - t0
            line += f"  python_loop={loop_s:7.3f}s  loop/scan={loop_s / run_s:5.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
