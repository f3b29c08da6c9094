"""One train step with the state sharded over an fsdp axis of 4 against plain data
parallelism, on 8 fake CPU devices, in a fresh process.

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python fsdp_script.py OUT_NPZ

Writes the max abs difference of the stepped parameters, the largest update, and the bytes
of state one device holds in each layout to OUT_NPZ.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))


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

    from tests.training.parallel_script import max_abs_diff, one_step, ring_setup
    from v101jax.core import parallel

    # Adam's first step is lr·g/(|g| + ε): with ε 1e-8 a gradient entry near 1e-8 turns the
    # rounding of a differently ordered sum into a 5% difference of the step; ε 1e-4 keeps
    # the comparison about the sums themselves.
    algorithm, config, batch, init_key = ring_setup({"optim.eps": 1e-4})
    device = jax.devices()[0]

    def on(fsdp):
        mesh = parallel.make_mesh(fsdp=fsdp)
        sharding_of = parallel.state_sharding(mesh, min_size=256)
        return one_step(algorithm, config, batch, init_key, mesh, sharding_of)

    sharded_initial, sharded = on(4)
    plain_initial, plain = on(1)
    np.savez(
        sys.argv[1],
        max_diff=max_abs_diff(sharded.params, plain.params),
        max_update=max_abs_diff(plain.params, plain_initial.params),
        sharded_bytes=device_bytes(sharded_initial, device),
        sharded_bytes_after_step=device_bytes(sharded, device),
        plain_bytes=device_bytes(plain_initial, device),
        num_params=sum(x.size for x in jax.tree.leaves(plain.params)),
    )


if __name__ == "__main__":
    main()
