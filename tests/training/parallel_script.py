"""One train step on a mesh of all (fake) devices vs a mesh of one device, in a fresh process.

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python parallel_script.py OUT_NPZ

Writes the max abs difference of every parameter leaf and the device count to OUT_NPZ.
"""

import functools
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def main():
    import jax
    import numpy as np

    from benchmarks.common import load_config
    from v101jax.algorithms import get_algorithm
    from v101jax.core import parallel
    from v101jax.data import BatchIterator, load_dataset

    config = load_config(
        "configs/ddpm.py:ring", {"data.batch_size": 16, "optim.warmup_steps": 0}
    )
    algorithm = get_algorithm(config.algorithm)
    data = load_dataset(config.data)
    batches = BatchIterator(data, global_batch_size=16, seed=0)
    batch = next(batches)
    batches.close()
    init_key = jax.random.PRNGKey(0)

    def one_step(devices):
        mesh = parallel.make_mesh(devices)
        repl = parallel.replicated(mesh)
        shard = parallel.batch_sharding(mesh)
        state = jax.jit(functools.partial(algorithm.init, config), out_shardings=repl)(
            init_key, batch
        )
        step = jax.jit(
            functools.partial(algorithm.train_step, config),
            in_shardings=(repl, shard, repl),
            out_shardings=(repl, repl),
        )
        new_state, _ = step(state, parallel.global_batch(batch, shard), init_key)
        return new_state, shard

    many, shard = one_step(jax.devices())
    one, _ = one_step(jax.devices()[:1])
    diffs = jax.tree.map(
        lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))),
        many.params,
        one.params,
    )
    moved = jax.tree.map(
        lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))),
        one.params,
        jax.jit(functools.partial(algorithm.init, config))(init_key, batch).params,
    )
    np.savez(
        sys.argv[1],
        max_diff=max(jax.tree.leaves(diffs)),
        max_update=max(jax.tree.leaves(moved)),
        num_devices=jax.device_count(),
        shards=len(parallel.global_batch(batch, shard)["x"].addressable_shards),
    )


if __name__ == "__main__":
    main()
