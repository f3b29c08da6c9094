"""Super-resolution networks: SRCNN, ESPCN, SRResNet, and SRGAN's discriminator.

  SRCNN (Dong et al. 2016)     convolutions 9-5-5 with 64/32 filters and ReLU on the bicubic-
                               upsampled image (the upsampling happens in `__call__`)
  ESPCN (Shi et al. 2016)      5-3-3 with 64/32 filters and tanh in low-resolution space, then
                               a 3×3 convolution to C·r² channels and the pixel shuffle
  SRResNet (Ledig et al. 2017) 9×9/64 + PReLU, 16 residual blocks (3×3, batch norm, PReLU), a
                               long skip, ×2 sub-pixel stages (one ×3 stage for scale 3), 9×9
  SRGAN's D                    eight 3×3 convolutions 64 … 512 (stride 2 every second),
                               batch norm, leaky ReLU 0.2, dense 1024, dense 1

All take and return images in [-1, 1] (NHWC; outputs are not squashed, so the pixel loss
sees no saturation) and use "same" padding, so every output pixel is predicted (SRCNN's paper
used "valid" convolutions and scored the centre only).
"""

import jax
import jax.numpy as jnp
from flax import linen as nn

from v101jax.nn.pixel_shuffle import pixel_shuffle


def bicubic_upscale(images, scale: int):
    """[N, h, w, C] → [N, h·scale, w·scale, C] by Keys' bicubic (a = −0.5, as PIL's and
    MATLAB's): the baseline row of every table and SRCNN's input."""
    n, h, w, c = images.shape
    return jax.image.resize(images, (n, h * scale, w * scale, c), method="cubic")


class ConvSR(nn.Module):
    """SRCNN (`subpixel` False: on the bicubic-upsampled input) or ESPCN (`subpixel` True:
    in low-resolution space, ending in C·scale² channels and the pixel shuffle)."""

    out_channels: int
    scale: int
    widths: tuple[int, ...] = (64, 32)
    kernels: tuple[int, ...] = (9, 5, 5)
    activation: str = "relu"  # relu (SRCNN) | tanh (ESPCN)
    subpixel: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        del train
        act = {"relu": nn.relu, "tanh": jnp.tanh}[self.activation]
        if not self.subpixel:
            x = bicubic_upscale(x, self.scale)
        for width, k in zip(self.widths, self.kernels[:-1], strict=True):
            x = act(nn.Conv(width, (k, k), dtype=self.dtype)(x))
        k = self.kernels[-1]
        if not self.subpixel:
            return nn.Conv(self.out_channels, (k, k), dtype=self.dtype)(x)
        x = nn.Conv(self.out_channels * self.scale**2, (k, k), dtype=self.dtype)(x)
        return pixel_shuffle(x, self.scale)


def _prelu():
    return nn.PReLU(negative_slope_init=0.25)  # PyTorch's nn.PReLU default


def upsampling_factors(scale: int) -> tuple[int, ...]:
    """SRResNet's sub-pixel stages: ×2 stages for powers of two, one ×3 stage for 3."""
    if scale == 3:
        return (3,)
    if scale >= 2 and scale & (scale - 1) == 0:
        return (2,) * (scale.bit_length() - 1)
    raise ValueError(f"SRResNet upsamples by 2, 4, 8, … or 3, not {scale}")


class SRResNet(nn.Module):
    """SRGAN's generator; `batch_norm` False gives EDSR's finding (no batch norm)."""

    out_channels: int
    scale: int
    channels: int = 64
    num_blocks: int = 16
    batch_norm: bool = True
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        def conv(features, k):
            return nn.Conv(features, (k, k), dtype=self.dtype)

        def norm(h):
            if not self.batch_norm:
                return h
            return nn.BatchNorm(
                use_running_average=not train, momentum=0.9, dtype=self.dtype
            )(h)

        h = _prelu()(conv(self.channels, 9)(x))
        skip = h
        for _ in range(self.num_blocks):
            r = _prelu()(norm(conv(self.channels, 3)(h)))
            h = h + norm(conv(self.channels, 3)(r))
        h = skip + norm(conv(self.channels, 3)(h))
        for factor in upsampling_factors(self.scale):
            h = conv(self.channels * factor**2, 3)(h)
            h = _prelu()(pixel_shuffle(h, factor))
        return conv(self.out_channels, 9)(h)


class SRGANDiscriminator(nn.Module):
    """Real-vs-super-resolved logits [N] of HR images (a fixed size: the dense layer sees
    the flattened last feature map, as the paper's)."""

    channels: int = 64
    dense: int = 1024
    batch_norm: bool = True
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        def lrelu(h):
            return nn.leaky_relu(h, 0.2)

        h = lrelu(nn.Conv(self.channels, (3, 3), dtype=self.dtype)(x))
        widths = [self.channels * 2**i for i in range(4)]
        layers = [(w, s) for w in widths for s in (1, 2)][
            1:
        ]  # 64 s2, 128 s1, …, 512 s2
        for width, stride in layers:
            h = nn.Conv(width, (3, 3), strides=stride, dtype=self.dtype)(h)
            if self.batch_norm:
                h = nn.BatchNorm(
                    use_running_average=not train, momentum=0.9, dtype=self.dtype
                )(h)
            h = lrelu(h)
        h = lrelu(nn.Dense(self.dense, dtype=self.dtype)(h.reshape(h.shape[0], -1)))
        return nn.Dense(1, dtype=self.dtype)(h)[:, 0].astype(jnp.float32)
