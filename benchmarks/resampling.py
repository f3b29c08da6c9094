"""Up- and down-sampling of feature maps as ProGAN and StyleGAN use them, forward and backward:
the nearest-neighbour ×2 and 2×2 average pool of v101jax.models.progan against
jax.image.resize (bilinear), a [1, 2, 1] blur after the nearest ×2 (the papers' filter, as a
depthwise convolution), and the stride-2 (transposed) 3×3 convolution that would fuse the
resampling into the next layer.

    python -m benchmarks.resampling [--batch_size=32] [--size=16] [--channels=64]

Each variant is timed as value-and-gradient of sum(f(x)²), so the backward pass counts too.
"""

import argparse
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--size", type=int, default=16, help="input H = W")
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp

    from benchmarks.common import device_name
    from v101jax.models.progan import downsample, upsample

    b, s, c = args.batch_size, args.size, args.channels
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (b, s, s, c))
    kernel = jax.random.normal(key, (3, 3, c, c)) / (3 * c**0.5)
    blur = jnp.outer(jnp.array([1.0, 2.0, 1.0]), jnp.array([1.0, 2.0, 1.0])) / 16
    blur = jnp.tile(blur[:, :, None, None], (1, 1, 1, c))
    dims = ("NHWC", "HWIO", "NHWC")

    def blurred_up(v):
        return jax.lax.conv_general_dilated(
            upsample(v),
            blur,
            (1, 1),
            "SAME",
            dimension_numbers=dims,
            feature_group_count=c,
        )

    def conv(v, strides):
        return jax.lax.conv_general_dilated(
            v, kernel, strides, "SAME", dimension_numbers=dims
        )

    variants = {
        "up   nearest ×2 (repeat)": upsample,
        "up   jax.image.resize bilinear": lambda v: jax.image.resize(
            v, (b, 2 * s, 2 * s, c), "bilinear"
        ),
        "up   nearest ×2 + [1,2,1] blur": blurred_up,
        "up   nearest ×2 + 3×3 conv": lambda v: conv(upsample(v), (1, 1)),
        "up   transposed 3×3 conv, stride 2": lambda v: jax.lax.conv_transpose(
            v, kernel, (2, 2), "SAME", dimension_numbers=dims
        ),
        "down 2×2 mean (reshape)": downsample,
        "down jax.image.resize linear": lambda v: jax.image.resize(
            v, (b, s // 2, s // 2, c), "linear", antialias=True
        ),
        "down 3×3 conv + 2×2 mean": lambda v: downsample(conv(v, (1, 1))),
        "down 3×3 conv, stride 2": lambda v: conv(v, (2, 2)),
    }
    print(f"device {device_name()}, input [{b}, {s}, {s}, {c}], forward + backward")
    for name, fn in variants.items():
        step = jax.jit(jax.value_and_grad(lambda v, f=fn: jnp.sum(f(v) ** 2)))
        jax.block_until_ready(step(x))
        t0 = time.perf_counter()
        for _ in range(args.repeats):
            jax.block_until_ready(step(x))
        ms = (time.perf_counter() - t0) / args.repeats * 1e3
        print(f"{name:38s} {ms:8.2f} ms")


if __name__ == "__main__":
    main()
