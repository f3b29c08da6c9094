"""The DCGAN up-sampling layer: a 4×4, stride-2 transposed convolution computed fast on CPU.

`ConvTranspose4x4s2` has the parameters and the outputs of
`nn.ConvTranspose(features, (4, 4), (2, 2), "SAME")` but computes them as one 3×3 convolution
with 4·features outputs followed by a depth-to-space shuffle (the sub-pixel form of Shi et al.
2016). XLA's CPU backend runs the input-dilated convolution behind nn.ConvTranspose several
times slower (measured in benchmarks/RESULTS.md); the sub-pixel form has no dilation.

Derivation (one axis; lax.conv_transpose with SAME padding pads the 2×-dilated input by 2):
  y[2p]     = x[p−1]·W[0] + x[p]·W[2]
  y[2p + 1] = x[p]·W[1]   + x[p+1]·W[3]
so output phase a ∈ {0, 1} is a 3-tap correlation over x[p−1], x[p], x[p+1] whose taps
are (W[0], W[2], 0) for a = 0 and (0, W[1], W[3]) for a = 1; in 2-D the two axes combine.
"""

from collections.abc import Callable

import einops
import flax.linen as nn
import jax.numpy as jnp
import numpy as np

# _PHASE_TAPS[a, t, k] = 1 where tap t (offset t − 1) of output phase a reads kernel index k.
_PHASE_TAPS = np.zeros((2, 3, 4), np.float32)
_PHASE_TAPS[0, 0, 0] = _PHASE_TAPS[0, 1, 2] = 1.0
_PHASE_TAPS[1, 1, 1] = _PHASE_TAPS[1, 2, 3] = 1.0


class ConvTranspose4x4s2(nn.Module):
    """x [B, H, W, C] → [B, 2H, 2W, features]; a drop-in for the 4×4 stride-2 SAME ConvTranspose."""

    features: int
    use_bias: bool = True
    kernel_init: Callable = nn.initializers.lecun_normal()
    bias_init: Callable = nn.initializers.zeros_init()
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        in_features = x.shape[-1]
        # [4, 4, in, out]: the layout and meaning of nn.ConvTranspose's kernel.
        kernel = self.param(
            "kernel", self.kernel_init, (4, 4, in_features, self.features)
        )
        taps = jnp.asarray(_PHASE_TAPS)
        # [3, 3, in, 2, 2, out] → [3, 3, in, 4·out], output channels ordered (a, b, out).
        sub_pixel = jnp.einsum("atk,bsl,klio->tsiabo", taps, taps, kernel)
        sub_pixel = sub_pixel.reshape(3, 3, in_features, 4 * self.features)
        y = nn.Conv(4 * self.features, (3, 3), padding="SAME", use_bias=False)
        y = y.apply(
            {"params": {"kernel": sub_pixel.astype(self.dtype)}}, x.astype(self.dtype)
        )
        y = einops.rearrange(y, "n h w (a b o) -> n (h a) (w b) o", a=2, b=2)
        if self.use_bias:
            bias = self.param("bias", self.bias_init, (self.features,))
            y = y + bias.astype(self.dtype)
        return y
