"""Sampler speed: compile time and samples/s of the compiled (lax.scan) samplers, and the
ratio against a Python loop that calls a jitted single step.

    python -m benchmarks.sampler --config=configs/ddim.py --num_samples=64 \
        --runs=ddim:10,ddim:50,ddpm:1000 [--python_loop]

Parameters are freshly initialised: speed does not depend on their values.
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
    args = parser.parse_args()

    import jax

    from benchmarks.common import device_name, load_config
    from v101jax.algorithms import diffusion
    from v101jax.diffusion import samplers
    from v101jax.diffusion.schedules import schedule_from_config
    from v101jax.training.loop import example_batch

    config = load_config(args.config)
    state = jax.jit(functools.partial(diffusion.init, config))(
        jax.random.PRNGKey(0), example_batch(config, 2)
    )
    schedule = schedule_from_config(config.diffusion)
    eps_fn = diffusion.noise_predictor(config, state)
    n = args.num_samples
    print(f"config={args.config} device={device_name()} num_samples={n}")
    for run in args.runs.split(","):
        name, steps = run.split(":")
        steps = int(steps)
        fn = jax.jit(
            functools.partial(
                diffusion.sample, config, num_samples=n, sampler=name, num_steps=steps
            )
        )
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
        if args.python_loop:
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
