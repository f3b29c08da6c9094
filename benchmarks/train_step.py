"""Train-step throughput and compile time of a config's algorithm.

    python -m benchmarks.train_step --config=configs/ddim.py [--batch=32] [--repeats=10]
    python -m benchmarks.train_step --config=configs/progan.py --phase=6   # one phase


Prints the compile-and-run time of init, compile time, seconds per step, steps/s and images/s on
the default device, and XLA's flop count of the compiled step.
The state is threaded through the calls with donated buffers, as in training.
"""

import argparse
import functools
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/ddim.py")
    parser.add_argument("--batch", type=int, default=0, help="override data.batch_size")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--steps_per_call", type=int, default=1)
    parser.add_argument(
        "--phase",
        type=int,
        default=None,
        help="phased algorithms: the phase (default 0)",
    )
    parser.add_argument(
        "--set", nargs="*", default=[], help="dotted overrides key=value"
    )
    args = parser.parse_args()

    import jax
    import numpy as np

    from benchmarks.common import (
        device_name,
        load_config,
        parse_overrides,
        peak_memory_mb,
        xla_flops,
    )
    from v101jax.algorithms import get_algorithm
    from v101jax.data import example_batch
    from v101jax.training.loop import fuse_steps

    overrides = {"train.steps_per_call": args.steps_per_call}
    if args.batch:
        overrides["data.batch_size"] = args.batch
    overrides.update(parse_overrides(args.set))
    config = load_config(args.config, overrides)
    alg = get_algorithm(config.algorithm)
    # A second stage reads its first stage's config.json (the latent shapes; its parameters
    # stay freshly initialised, which times the same programs); a text model its vocabulary.
    config = alg.resolved(config)
    b = config.data.batch_size
    k = args.steps_per_call
    rng = np.random.default_rng(0)
    # The source's batch keys (x/label, paired source/target, unpaired a/b, captions);
    # images uniform, integers (labels, caption tokens) zero.
    batch = {
        name: rng.uniform(-1, 1, z.shape).astype(np.float32)
        if z.ndim > 1 and z.dtype == np.float32
        else z
        for name, z in example_batch(config.data, b).items()
    }
    t0 = time.perf_counter()
    state = jax.jit(functools.partial(alg.init, config))(jax.random.PRNGKey(0), batch)
    jax.block_until_ready(state)
    init_s = time.perf_counter() - t0
    n_params = sum(p.size for p in jax.tree.leaves(state.params))
    step = functools.partial(alg.train_step, config)
    if alg.phase is not None:
        step = functools.partial(step, phase=args.phase or 0)
    elif args.phase is not None:
        raise SystemExit(f"--phase: algorithm {config.algorithm!r} has no phases")
    if k > 1:
        step = fuse_steps(step)
        batch = {kk: np.stack([v] * k) for kk, v in batch.items()}
    key = jax.random.PRNGKey(1)
    t0 = time.perf_counter()
    # Compiled ahead of the first call, so that its flop count comes from the program timed.
    step = jax.jit(step, donate_argnums=(0,)).lower(state, batch, key).compile()
    state, m = step(state, batch, key)
    jax.block_until_ready(m)
    compile_s = time.perf_counter() - t0
    # XLA's count after its passes (work it merged or dropped is not counted); on a GPU,
    # cuDNN's convolutions are custom calls it does not count: a CPU figure.
    flops = xla_flops(step.cost_analysis())
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        state, m = step(state, batch, key)
        jax.block_until_ready(m)
        times.append(time.perf_counter() - t0)
    per_call = float(np.median(times))
    per_step = per_call / k
    peak = peak_memory_mb()
    print(
        f"config={args.config} {' '.join(args.set)} device={device_name()} "
        f"params={n_params / 1e6:.3f}M batch={b} steps_per_call={k}"
        + ("" if alg.phase is None else f" phase={args.phase or 0}")
    )
    print(
        f"init={init_s:.2f}s  compile+first={compile_s:.2f}s  step={per_step * 1e3:.1f}ms  "
        f"steps/s={1 / per_step:.2f}  images/s={b / per_step:.1f}"
        + (f"  xla_gflop/step={flops / k / 1e9:.4g}" if flops else "")
        + (f"  peak_mem={peak:.0f}MiB" if peak is not None else "")
    )


if __name__ == "__main__":
    main()
