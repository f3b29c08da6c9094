"""One train step on a mesh of all (fake) devices vs a mesh of one device, in a fresh process.

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python parallel_script.py OUT_NPZ

Writes the max abs difference of every parameter leaf and the device count to OUT_NPZ. The
setup and the step are shared with fsdp_script.py.
"""

import functools
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def ring_setup(overrides=None):
    """(algorithm, config, one batch of 16, init key): the 2-D ring DDPM, fast on CPU."""
    import jax

    from v101jax.algorithms import get_algorithm
    from v101jax.core.config_spec import load_config
    from v101jax.data import BatchIterator, load_dataset

    config = load_config(
        "configs/ddpm.py:ring",
        {"data.batch_size": 16, "optim.warmup_steps": 0, **(overrides or {})},
    )
    batches = BatchIterator(load_dataset(config.data), global_batch_size=16, seed=0)
    batch = next(batches)
    batches.close()
    return get_algorithm(config.algorithm), config, batch, jax.random.PRNGKey(0)


def one_step(algorithm, config, batch, init_key, mesh, sharding_of):
    """(initial state, state after one train step) on `mesh`, the state sharded by
    `sharding_of` (parallel.state_sharding) and the batch over all devices."""
    import jax

    from v101jax.core import parallel

    init = functools.partial(algorithm.init, config)
    repl = parallel.replicated(mesh)
    shard = parallel.batch_sharding(mesh)
    shardings = jax.tree.map(sharding_of, jax.eval_shape(init, init_key, batch))
    state = jax.jit(init, out_shardings=shardings)(init_key, batch)
    step = jax.jit(
        functools.partial(algorithm.train_step, config),
        in_shardings=(shardings, shard, repl),
        out_shardings=(shardings, repl),
    )
    new_state, _ = step(state, parallel.global_batch(batch, shard), init_key)
    return state, new_state


def max_abs_diff(a, b) -> float:
    """The largest absolute difference between two trees of arrays."""
    import jax
    import numpy as np

    diffs = jax.tree.map(
        lambda x, y: float(np.max(np.abs(np.asarray(x) - np.asarray(y)))), a, b
    )
    return max(jax.tree.leaves(diffs))


def main():
    import jax
    import numpy as np

    from v101jax.core import parallel

    algorithm, config, batch, init_key = ring_setup()

    def on(devices):
        mesh = parallel.make_mesh(devices)
        sharding_of = parallel.state_sharding(mesh, min_size=0)  # fsdp 1: replicated
        return one_step(algorithm, config, batch, init_key, mesh, sharding_of)

    _, many = on(jax.devices())
    initial, one = on(jax.devices()[:1])
    shard = parallel.batch_sharding(parallel.make_mesh())
    np.savez(
        sys.argv[1],
        max_diff=max_abs_diff(many.params, one.params),
        max_update=max_abs_diff(one.params, initial.params),
        num_devices=jax.device_count(),
        shards=len(parallel.global_batch(batch, shard)["x"].addressable_shards),
    )


if __name__ == "__main__":
    main()
