"""Train-state bytes one device holds, with and without the sharded-parameter (fsdp) axis.

    XLA_FLAGS=--xla_force_host_platform_device_count=8 \
        python -m benchmarks.state_memory --config=configs/ddim.py --fsdp=1,2,4,8

Allocates the config's initial state (parameters, EMA, optimiser moments) with the run's
sharding rule (v101jax.core.parallel.state_sharding, distributed.fsdp_min_size) over all
devices, once per fsdp size, and prints the bytes on the first device. On a GPU/TPU the
device's own peak-memory counter is printed too.
"""

import argparse
import functools


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/ddim.py")
    parser.add_argument("--fsdp", default="1,2,4,8", help="fsdp axis sizes to measure")
    parser.add_argument(
        "--set", nargs="*", default=[], help="dotted overrides key=value"
    )
    args = parser.parse_args()

    import jax

    from benchmarks.common import device_name, load_config, parse_overrides
    from v101jax.algorithms import get_algorithm
    from v101jax.core import parallel
    from v101jax.training.loop import example_batch

    config = load_config(args.config, parse_overrides(args.set))
    algorithm = get_algorithm(config.algorithm)
    init = functools.partial(algorithm.init, config)
    key, batch = jax.random.PRNGKey(0), example_batch(config)
    abstract = jax.eval_shape(init, key, batch)
    total = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(abstract))
    params = sum(x.size for x in jax.tree.leaves(abstract.params))
    device = jax.devices()[0]
    print(
        f"config={args.config} device={device_name()} params={params / 1e6:.2f}M "
        f"state={total / 2**20:.1f} MiB fsdp_min_size={config.distributed.fsdp_min_size}"
    )
    for fsdp in (int(f) for f in args.fsdp.split(",")):
        mesh = parallel.make_mesh(fsdp=fsdp)
        sharding_of = parallel.state_sharding(mesh, config.distributed.fsdp_min_size)
        state = jax.jit(init, out_shardings=jax.tree.map(sharding_of, abstract))(
            key, batch
        )
        held = sum(
            s.data.nbytes
            for leaf in jax.tree.leaves(state)
            for s in leaf.addressable_shards
            if s.device == device
        )
        peak = (device.memory_stats() or {}).get("peak_bytes_in_use")
        print(
            f"fsdp={fsdp}  state on device 0: {held / 2**20:.1f} MiB "
            f"({held / total:.3f} of the whole)"
            + ("" if peak is None else f"  peak {peak / 2**20:.1f} MiB")
        )
        del state


if __name__ == "__main__":
    main()
