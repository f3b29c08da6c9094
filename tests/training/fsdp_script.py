"""One train step with the state sharded over an fsdp axis of 4 against plain data
parallelism, on 8 fake CPU devices, in a fresh process.

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python fsdp_script.py OUT_NPZ

Writes the max abs difference of the stepped parameters, the largest update, and the bytes
of state one device holds in each layout to OUT_NPZ.
"""

import functools
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def device_bytes(tree, device) -> int:
    """Bytes of `tree`'s arrays that live on `device`."""
    import jax

    return sum(
        shard.data.nbytes
        for leaf in jax.tree.leaves(tree)
        for shard in leaf.addressable_shards
        if shard.device == device
    )


def main():
    import jax
    import numpy as np

    from v101jax.algorithms import get_algorithm
    from v101jax.core import parallel
    from v101jax.core.config_spec import load_config
    from v101jax.data import BatchIterator, load_dataset

    # Adam's first step is lr·g/(|g| + ε): with ε 1e-8 a gradient entry near 1e-8 turns the
    # rounding of a differently ordered sum into a 5% difference of the step; ε 1e-4 keeps
    # the comparison about the sums themselves.
    config = load_config(
        "configs/ddpm.py:ring",
        {"data.batch_size": 16, "optim.warmup_steps": 0, "optim.eps": 1e-4},
    )
    algorithm = get_algorithm(config.algorithm)
    data = load_dataset(config.data)
    batches = BatchIterator(data, global_batch_size=16, seed=0)
    batch = next(batches)
    batches.close()
    init_key = jax.random.PRNGKey(0)
    init = functools.partial(algorithm.init, config)

    def one_step(fsdp):
        mesh = parallel.make_mesh(fsdp=fsdp)
        repl = parallel.replicated(mesh)
        shard = parallel.batch_sharding(mesh)
        sharding_of = parallel.state_sharding(mesh, min_size=256)
        shardings = jax.tree.map(sharding_of, jax.eval_shape(init, init_key, batch))
        state = jax.jit(init, out_shardings=shardings)(init_key, batch)
        step = jax.jit(
            functools.partial(algorithm.train_step, config),
            in_shardings=(shardings, shard, repl),
            out_shardings=(shardings, repl),
        )
        held = device_bytes(state, jax.devices()[0])
        new_state, _ = step(state, parallel.global_batch(batch, shard), init_key)
        return new_state, held, device_bytes(new_state, jax.devices()[0])

    sharded, sharded_bytes, sharded_after = one_step(4)
    plain, plain_bytes, _ = one_step(1)
    diffs = jax.tree.map(
        lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))),
        sharded.params,
        plain.params,
    )
    moved = jax.tree.map(
        lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))),
        plain.params,
        jax.jit(init)(init_key, batch).params,
    )
    np.savez(
        sys.argv[1],
        max_diff=max(jax.tree.leaves(diffs)),
        max_update=max(jax.tree.leaves(moved)),
        sharded_bytes=sharded_bytes,
        sharded_bytes_after_step=sharded_after,
        plain_bytes=plain_bytes,
        num_params=sum(x.size for x in jax.tree.leaves(plain.params)),
    )


if __name__ == "__main__":
    main()
