"""CycleGAN's generator (Zhu et al. 2017; Johnson et al. 2016's ResNet transformer).

Reference (junyanz/pytorch-CycleGAN-and-pix2pix, `resnet_9blocks`): c7s1-64 (7×7 convolution
after a 3-pixel reflection pad), d128, d256 (3×3 stride-2 convolutions), nine residual blocks
of two reflection-padded 3×3 convolutions at 256 channels, u128, u64 (3×3 stride-2 transposed
convolutions), c7s1-3 and tanh; instance norm without affine parameters and ReLU after every
layer but the last; kernels N(0, 0.02). The discriminators are the unconditional 70×70
PatchGAN, v101jax.models.pix2pix.PatchDiscriminator with source None.

Deviation: the up-sampling layers are 4×4 stride-2 transposed convolutions
(v101jax.nn.conv_transpose.ConvTranspose4x4s2, fast on CPU) instead of 3×3 ones with output
padding; a 4×4 kernel at stride 2 covers every output pixel equally often, so it is also the
form less prone to the checkerboard artefacts users report with 3×3.
"""

import flax.linen as nn
import jax.numpy as jnp

from v101jax.nn.conv_transpose import ConvTranspose4x4s2

init = nn.initializers.normal(0.02)


def reflect_pad(x, width: int):
    """Reflection padding of the two spatial axes of x [B, H, W, C]."""
    return jnp.pad(x, ((0, 0), (width, width), (width, width), (0, 0)), mode="reflect")


def _norm(dtype):
    # No affine parameters, as in the reference's `--norm instance`.
    return nn.InstanceNorm(use_scale=False, use_bias=False, dtype=dtype)


class ResidualBlock(nn.Module):
    """x + IN(conv3(pad(ReLU(IN(conv3(pad(x)))))))."""

    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        c = x.shape[-1]
        conv = lambda: nn.Conv(
            c, (3, 3), padding="VALID", kernel_init=init, dtype=self.dtype
        )
        h = nn.relu(_norm(self.dtype)(conv()(reflect_pad(x, 1))))
        h = _norm(self.dtype)(conv()(reflect_pad(h, 1)))
        return x + h


class ResNetGenerator(nn.Module):
    """images [B, H, W, C] → images [B, H, W, out_channels] in [-1, 1]; H, W multiples of 4."""

    out_channels: int = 1
    channels: int = 64
    num_blocks: int = 9
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        _, h, w, _ = x.shape
        if h % 4 or w % 4:
            raise ValueError(
                f"the ResNet generator needs sizes divisible by 4, got {h}×{w}"
            )
        c, dt = self.channels, self.dtype
        x = x.astype(dt)
        x = nn.Conv(c, (7, 7), padding="VALID", kernel_init=init, dtype=dt)(
            reflect_pad(x, 3)
        )
        x = nn.relu(_norm(dt)(x))
        for mult in (2, 4):
            x = nn.Conv(
                mult * c,
                (3, 3),
                (2, 2),
                padding=((1, 1), (1, 1)),
                kernel_init=init,
                dtype=dt,
            )(x)
            x = nn.relu(_norm(dt)(x))
        for _ in range(self.num_blocks):
            x = ResidualBlock(dtype=dt)(x)
        for mult in (2, 1):
            x = nn.relu(
                _norm(dt)(ConvTranspose4x4s2(mult * c, kernel_init=init, dtype=dt)(x))
            )
        x = nn.Conv(
            self.out_channels, (7, 7), padding="VALID", kernel_init=init, dtype=dt
        )(reflect_pad(x, 3))
        return jnp.tanh(x.astype(jnp.float32))
