"""StarGAN networks (Choi et al. 2018): one generator for every domain, and a discriminator
with a real/fake head and a domain-classification head.

Reference (yunjey/stargan `model.py`): G is a 7×7 convolution, two 4×4 stride-2
down-sampling convolutions, `repeat_num` = 6 residual blocks (3×3 conv, IN, ReLU, 3×3 conv,
IN, plus the input), two 4×4 stride-2 transposed convolutions and a 7×7 convolution to the
image, tanh; instance norm with affine parameters after every convolution but the last, ReLU,
no biases. The target domain c (a K-vector) is tiled over H × W and concatenated to the
input image's channels. D is `repeat_num` = 6 4×4 stride-2 convolutions from 64 channels,
doubling, LeakyReLU 0.01, no normalisation; then two heads on the last feature map: a 3×3
convolution to one channel (the PatchGAN source score D_src, one score per location) and a
convolution whose kernel is the whole remaining map (2×2 at 128×128) to K logits (D_cls).

Deviations (documented):
  * D has `num_strided` stride-2 layers, not six: 28 × 28 Fashion-MNIST images allow two
    (28 → 14 → 7, source scores 7 × 7, a 7 × 7 kernel for the domain head); image sizes must
    be multiples of 2^num_strided (and of 4 for G's two down-samplings); the algorithm module
    checks that and names the field.
  * Instance norm uses the statistics of each image in training and sampling alike (the
    reference's `track_running_stats=True` keeps running averages that its test mode never
    reads either, as its G stays in training mode). Flax's epsilon is 1e-6 (PyTorch 1e-5).
  * The transposed convolutions are `ConvTranspose4x4s2` (same parameters and outputs as a
    4×4 stride-2 SAME transposed convolution, computed in a form fast on CPU; PyTorch's
    padding-1 layer is the same map with the kernel flipped).
  * Kernels use Flax's default (LeCun normal) initialisation, not PyTorch's default.
"""

import flax.linen as nn
import jax.numpy as jnp

from v101jax.nn.conv_transpose import ConvTranspose4x4s2


def _leaky_relu(x):
    return nn.leaky_relu(x, negative_slope=0.01)


def tile_domain(images, c):
    """[B, H, W, C] images and domain vectors c [B, K] → [B, H, W, C + K] (c at every pixel)."""
    b, h, w, _ = images.shape
    maps = jnp.broadcast_to(c[:, None, None, :], (b, h, w, c.shape[-1]))
    return jnp.concatenate([images, maps.astype(images.dtype)], axis=-1)


class ResidualBlock(nn.Module):
    """x + IN(conv3×3(ReLU(IN(conv3×3(x))))) at constant width (the reference's block)."""

    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        width = x.shape[-1]
        h = nn.Conv(width, (3, 3), use_bias=False, dtype=self.dtype)(x)
        h = nn.relu(nn.InstanceNorm(dtype=self.dtype)(h))
        h = nn.Conv(width, (3, 3), use_bias=False, dtype=self.dtype)(h)
        return x + nn.InstanceNorm(dtype=self.dtype)(h)


class Generator(nn.Module):
    """(images [B, H, W, C], target domains c [B, K]) → images [B, H, W, out_channels] in [-1, 1].

    h  = ReLU(IN(conv7×7([x, tile(c)])))      [H,   W,   channels]
    h  = ReLU(IN(conv4×4↓(h))), twice         [H/4, W/4, 4·channels]
    h  = ResidualBlock(h), num_res_blocks times
    h  = ReLU(IN(convT4×4↑(h))), twice        [H,   W,   channels]
    y  = tanh(conv7×7(h))                     [H,   W,   out_channels]
    """

    out_channels: int = 1
    channels: int = 64  # width of the first and last feature maps (reference: 64)
    num_res_blocks: int = 6  # residual blocks at H/4 (reference: 6)
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, c, *, train: bool):
        del train  # no dropout or batch statistics: an image's output is its own
        _, h, w, _ = x.shape
        if h % 4 or w % 4:
            raise ValueError(f"the generator needs sizes divisible by 4, got {h}×{w}")

        def norm_relu(y):
            return nn.relu(nn.InstanceNorm(dtype=self.dtype)(y))

        y = tile_domain(x.astype(self.dtype), c)
        width = self.channels
        y = norm_relu(nn.Conv(width, (7, 7), use_bias=False, dtype=self.dtype)(y))
        for _ in range(2):
            width *= 2
            y = nn.Conv(
                width, (4, 4), (2, 2), "SAME", use_bias=False, dtype=self.dtype
            )(y)
            y = norm_relu(y)
        for _ in range(self.num_res_blocks):
            y = ResidualBlock(dtype=self.dtype)(y)
        for _ in range(2):
            width //= 2
            y = norm_relu(
                ConvTranspose4x4s2(width, use_bias=False, dtype=self.dtype)(y)
            )
        y = nn.Conv(self.out_channels, (7, 7), use_bias=False, dtype=self.dtype)(y)
        return jnp.tanh(y.astype(jnp.float32))


class Discriminator(nn.Module):
    """images [B, H, W, C] → (source scores D_src [B, H', W'], domain logits D_cls [B, K]).

    `num_strided` 4×4 stride-2 SAME convolutions from `channels`, doubling, each followed by
    LeakyReLU(0.01), give a [H', W'] = [H, W] / 2^num_strided map; D_src is a 3×3 convolution
    of it to one channel, D_cls a VALID convolution with an H' × W' kernel to K logits (a
    linear map of the whole map). Both heads have no bias, as in the reference.
    """

    num_domains: int  # K, the number of domain logits
    channels: int = 64  # width of the first layer (reference: 64)
    num_strided: int = 2  # stride-2 layers (reference: 6 at 128 × 128)
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, *, train: bool):
        del train
        _, h, w, _ = x.shape
        if h % 2**self.num_strided or w % 2**self.num_strided:
            raise ValueError(
                f"the discriminator needs sizes divisible by 2^{self.num_strided}, "
                f"got {h}×{w}"
            )
        y = x.astype(self.dtype)
        width = self.channels
        for _ in range(self.num_strided):
            y = _leaky_relu(nn.Conv(width, (4, 4), (2, 2), "SAME", dtype=self.dtype)(y))
            width *= 2
        src = nn.Conv(1, (3, 3), use_bias=False, dtype=self.dtype, name="src")(y)
        kernel = y.shape[1:3]
        cls = nn.Conv(
            self.num_domains,
            kernel,
            padding="VALID",
            use_bias=False,
            dtype=self.dtype,
            name="cls",
        )(y)
        return src[..., 0].astype(jnp.float32), cls[:, 0, 0].astype(jnp.float32)
