"""Inference speed of the super-resolution networks: images per second at one output size.

    python -m benchmarks.superres_speed [--size=256] [--batch=1,16] [--repeats=10]

Each config's network (configs/srcnn.py, configs/espcn.py, configs/srgan.py:srresnet, at
their ×3 demo sizes; weights random, which leaves the time unchanged) upscales a batch of
--size/3-pixel inputs to --size × --size, compiled once, timed over --repeats calls after a
warm-up. SRCNN convolves at the output's resolution, ESPCN at the input's (9× fewer pixels at
×3), which is ESPCN's claim; the ratio is printed.
"""

import argparse
import time

import jax
import jax.numpy as jnp

from benchmarks.common import device_name, load_config
from v101jax.algorithms import get_algorithm

CONFIGS = ("configs/srcnn.py", "configs/espcn.py", "configs/srgan.py:srresnet")


def images_per_second(spec: str, size: int, batch: int, repeats: int) -> float:
    config = load_config(spec)
    algorithm = get_algorithm(config.algorithm)
    scale, channels = config.data.downscale, config.data.channels
    low = jnp.zeros((batch, size // scale, size // scale, channels), jnp.float32)
    example = {
        "source": low[:1],
        "target": jnp.zeros((1, size, size, channels)),
        "label": jnp.zeros((1,), jnp.int32),
    }
    state = algorithm.init(config, jax.random.PRNGKey(0), example)
    run = jax.jit(
        lambda state, x: algorithm.sample(
            config, state, jax.random.PRNGKey(0), batch, inputs={"source": x}
        )
    )
    run(state, low).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeats):
        run(state, low).block_until_ready()
    return batch * repeats / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=255)
    parser.add_argument("--batch", default="1,16")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    print(f"device {device_name()}; outputs {args.size}×{args.size}, ×3")
    for batch in (int(b) for b in args.batch.split(",")):
        speeds = {
            spec: images_per_second(spec, args.size, batch, args.repeats)
            for spec in CONFIGS
        }
        for spec, speed in speeds.items():
            print(f"batch {batch:3d}  {spec:28s} {speed:9.1f} images/s")
        ratio = speeds["configs/espcn.py"] / speeds["configs/srcnn.py"]
        print(f"batch {batch:3d}  ESPCN / SRCNN: {ratio:.1f}×")


if __name__ == "__main__":
    main()
