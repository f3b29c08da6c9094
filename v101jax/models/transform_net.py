"""Johnson, Alahi & Fei-Fei (2016)'s image transformation network for fast style transfer.

The paper's architecture (its supplementary material; jcjohnson/fast-neural-style's
`c9s1-32,d64,d128,R128×5,u64,u32,c9s1-3`):

    c9s1-32   9×9 convolution, stride 1, 32 filters, instance norm, ReLU
    d64 d128  3×3 convolutions, stride 2 (the image shrinks 4×), instance norm, ReLU
    R128 ×5   residual blocks: x + IN(conv3(ReLU(IN(conv3(x))))), no ReLU after the sum
    u64 u32   2× up-sampling, each followed by instance norm and ReLU
    c9s1-3    9×9 convolution to RGB, then tanh: images in [-1, 1]

with instance normalisation (Ulyanov et al. 2016: per image and channel, with a learned
scale and shift) and reflection padding before every convolution, as the reference code's
`-use_instance_norm 1 -padding_type reflect`; `channels` (32) sets the first width, the
others double from it, so a reduced network keeps the shape of the paper's.

Up-sampling (`upsample`): "resize_conv" (default) is a nearest-neighbour 2× resize then a
reflection-padded 3×3 convolution, which Odena, Dumoulin & Olah (2016, "Deconvolution and
checkerboard artifacts") recommend because every output pixel sees the same number of
kernel taps, so it cannot draw the checkerboard that strided transposed convolutions leave
in stylised images; "transpose" is the paper's 3×3 stride-2 transposed convolution.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

UPSAMPLING = ("resize_conv", "transpose")
DOWNSAMPLING = 4  # the two stride-2 layers: H and W must be multiples of this


def reflect_pad(x, width: int):
    """Reflection padding of the two spatial axes of x [B, H, W, C] (needs H, W > width)."""
    return jnp.pad(x, ((0, 0), (width, width), (width, width), (0, 0)), mode="reflect")


class ConvLayer(nn.Module):
    """Reflection pad of k // 2, then a k×k convolution (stride 1 or 2): the padded
    convolution of every layer of the network."""

    features: int
    kernel: int = 3
    stride: int = 1
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        x = reflect_pad(x, self.kernel // 2)
        return nn.Conv(
            self.features,
            (self.kernel, self.kernel),
            (self.stride, self.stride),
            padding="VALID",
            dtype=self.dtype,
        )(x)


class ResidualBlock(nn.Module):
    """x + IN(conv3(ReLU(IN(conv3(x))))) at x's width (the paper's R128)."""

    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        c = x.shape[-1]
        h = nn.relu(
            nn.InstanceNorm(dtype=self.dtype)(ConvLayer(c, dtype=self.dtype)(x))
        )
        h = nn.InstanceNorm(dtype=self.dtype)(ConvLayer(c, dtype=self.dtype)(h))
        return x + h


class Upsample(nn.Module):
    """x [B, H, W, C] → [B, 2H, 2W, features] by `mode` (UPSAMPLING)."""

    features: int
    mode: str = "resize_conv"  # resize_conv | transpose
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        if self.mode == "resize_conv":
            b, h, w, c = x.shape
            x = jax.image.resize(x, (b, 2 * h, 2 * w, c), method="nearest")
            return ConvLayer(self.features, dtype=self.dtype)(x)
        if self.mode == "transpose":
            # SAME padding at stride 2 gives exactly 2H × 2W, the reference's
            # SpatialFullConvolution(3, 3, 2, 2, pad 1, output padding 1).
            return nn.ConvTranspose(
                self.features, (3, 3), (2, 2), padding="SAME", dtype=self.dtype
            )(x)
        raise ValueError(
            f"upsample={self.mode!r} is not one of: {', '.join(UPSAMPLING)}"
        )


class TransformNet(nn.Module):
    """images [B, H, W, C] in [-1, 1] → stylised images [B, H, W, out_channels] in [-1, 1];
    H and W multiples of 4 (the two stride-2 layers)."""

    channels: int = (
        32  # width of c9s1; the d layers double it twice (paper: 32, 64, 128)
    )
    num_blocks: int = 5  # residual blocks at 4·channels (paper: 5)
    upsample: str = "resize_conv"  # resize_conv (checkerboard-free) | transpose (paper)
    out_channels: int = 3
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        _, h, w, _ = x.shape
        if h % DOWNSAMPLING or w % DOWNSAMPLING:
            raise ValueError(
                f"the transformation network needs sizes divisible by {DOWNSAMPLING}, "
                f"got {h}×{w}"
            )
        c, dt = self.channels, self.dtype

        def norm_relu(y):
            return nn.relu(nn.InstanceNorm(dtype=dt)(y))

        x = norm_relu(ConvLayer(c, kernel=9, dtype=dt)(x.astype(dt)))  # c9s1-32
        x = norm_relu(ConvLayer(2 * c, stride=2, dtype=dt)(x))  # d64
        x = norm_relu(ConvLayer(4 * c, stride=2, dtype=dt)(x))  # d128
        for _ in range(self.num_blocks):
            x = ResidualBlock(dtype=dt)(x)  # R128
        x = norm_relu(Upsample(2 * c, self.upsample, dtype=dt)(x))  # u64
        x = norm_relu(Upsample(c, self.upsample, dtype=dt)(x))  # u32
        x = ConvLayer(self.out_channels, kernel=9, dtype=dt)(x)  # c9s1-3
        return jnp.tanh(x.astype(jnp.float32))
