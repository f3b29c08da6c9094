"""StyleGAN generator (Karras et al. 2019), with StyleGAN2's modulated convolution as an option.

Mapping network: z → pixel norm → `mapping_layers` equalized Dense layers of w_dim (LeakyReLU
0.2, learning-rate multiplier 0.01) → w. It tracks the mean w (`w_avg`, in the "stats"
collection, updated as w_avg ← mean_batch(w) + β·(w_avg − mean_batch(w)) when called with
`update_w_avg`) and applies the truncation trick w ← w_avg + ψ·(w − w_avg) to the styles of the
first `truncation_cutoff` layers.

Synthesis network, one level per resolution 4, 8, …, 4·2^(L−1) with widths[l] channels and two
style layers per level (2L styles, `num_ws`):

  level 0      learned constant 4×4×C₀ → layer 0 → 3×3 conv → layer 1
  level l > 0  nearest ×2 → 3×3 conv → layer 2l → 3×3 conv → layer 2l + 1

  style="adain" (StyleGAN): every layer adds per-pixel noise (learned per-channel scale), a
    bias and LeakyReLU, then AdaIN with the style (1 + A_s(w), A_b(w)) of its own w; the image is
    a 1×1 to-RGB convolution of the last level. Level 0's layer 0 has no convolution: the
    constant goes straight into noise and AdaIN, as in the paper's figure 1.
  style="modulated" (StyleGAN2): every layer's convolution is a modulated, demodulated 3×3
    convolution of its w (level 0's layer 0 convolves the constant), then noise, bias and
    LeakyReLU; the image is the sum over levels of each level's modulated 1×1 to-RGB output (no
    demodulation, style of the level's second w), upsampled as it goes ("skip" architecture).

Upsampling is nearest-neighbour, as in ProGAN (benchmarks/RESULTS.md measures it against the
bilinear and transposed-convolution alternatives on the CPU); the papers' [1, 2, 1] blur is
left out.

The discriminator is ProGAN's (v101jax.models.progan.ProDiscriminator) at its full
resolution, as in StyleGAN.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from v101jax.models.progan import upsample
from v101jax.nn.style import (
    EqualizedConv,
    EqualizedDense,
    LearnedConstant,
    ModulatedConv,
    NoiseInjection,
    adain,
    pixel_norm,
    truncate,
)

STYLES = ("adain", "modulated")


def _lrelu(x):
    return nn.leaky_relu(x, 0.2)


class MappingNetwork(nn.Module):
    """z [B, latent_dim] → w [B, w_dim]; tracks w_avg and truncates (see the module doc)."""

    w_dim: int = 512
    num_layers: int = 8
    lr_multiplier: float = 0.01
    w_avg_beta: float = 0.995

    @nn.compact
    def __call__(self, z, *, update_w_avg: bool = False):
        w = pixel_norm(z.astype(jnp.float32))
        for i in range(self.num_layers):
            w = _lrelu(
                EqualizedDense(
                    self.w_dim, lr_multiplier=self.lr_multiplier, name=f"dense_{i}"
                )(w)
            )
        w_avg = self.variable("stats", "w_avg", jnp.zeros, (self.w_dim,))
        if update_w_avg and not self.is_initializing():
            batch_mean = jnp.mean(w, axis=0)
            w_avg.value = batch_mean + self.w_avg_beta * (w_avg.value - batch_mean)
        return w

    def truncated(self, ws, psi: float, cutoff: int):
        """ws [B, L, D] with the first `cutoff` layers' styles truncated towards w_avg by ψ."""
        w_avg = self.get_variable("stats", "w_avg")
        layers = jnp.arange(ws.shape[1])[None, :, None]
        return jnp.where(layers < cutoff, truncate(ws, w_avg, psi), ws)


class StyleLayer(nn.Module):
    """One style layer: [conv] → noise → bias → LeakyReLU → AdaIN, or a modulated conv →
    noise → bias → LeakyReLU."""

    features: int
    style: str = "adain"
    convolve: bool = True
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, w):
        if self.style == "modulated":
            x = ModulatedConv(self.features, dtype=self.dtype, name="conv")(x, w)
        elif self.convolve:
            x = EqualizedConv(self.features, use_bias=False, dtype=self.dtype)(x)
        x = NoiseInjection(name="noise")(x)
        x = _lrelu(x + self.param("bias", nn.initializers.zeros, (self.features,)))
        if self.style == "adain":
            # StyleGAN's style_mod: scale 1 + A_s(w) so that a zero style is the identity.
            s = EqualizedDense(2 * self.features, gain=1.0, name="affine")(w)
            scale, bias = jnp.split(s, 2, axis=-1)
            x = adain(x.astype(jnp.float32), 1.0 + scale, bias).astype(x.dtype)
        return x


def skip_to_rgb(module, level: int, x, w, image):
    """StyleGAN2's skip output, inside `module`'s compact call (parameters to_rgb{level} and
    to_rgb{level}_bias of module.channels): the level's modulated 1×1 to-RGB of x added to
    the image so far (None at the first level), upsampled ×2."""
    rgb = ModulatedConv(
        module.channels,
        kernel_size=1,
        demodulate=False,
        dtype=module.dtype,
        name=f"to_rgb{level}",
    )(x, w)
    rgb = rgb + module.param(
        f"to_rgb{level}_bias", nn.initializers.zeros, (module.channels,)
    )
    return rgb if image is None else upsample(image) + rgb


class SynthesisNetwork(nn.Module):
    """ws [B, 2L, w_dim] → images [B, 4·2^(L−1), 4·2^(L−1), channels]."""

    widths: Sequence[int] = (256, 256, 128, 64)
    channels: int = 1
    style: str = "adain"
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, ws):
        modulated = self.style == "modulated"
        x = LearnedConstant((4, 4, self.widths[0]), name="const")(ws.shape[0])
        x = x.astype(self.dtype)
        image = None
        for level, width in enumerate(self.widths):
            if level > 0:
                x = upsample(x)
            for j in range(2):
                layer = StyleLayer(
                    width,
                    style=self.style,
                    convolve=(level, j) != (0, 0),
                    dtype=self.dtype,
                    name=f"level{level}_layer{j}",
                )
                x = layer(x, ws[:, 2 * level + j])
            if modulated:
                image = skip_to_rgb(self, level, x, ws[:, 2 * level + 1], image)
        if not modulated:
            image = EqualizedConv(
                self.channels, kernel_size=1, gain=1.0, dtype=self.dtype, name="to_rgb"
            )(x)
        return image.astype(jnp.float32)


class StyleGenerator(nn.Module):
    """The mapping and synthesis networks. `__call__(z)` is G(z) without mixing or truncation
    (used by init); the algorithm calls `mapping`, `truncated` and `synthesis` separately."""

    widths: Sequence[int] = (256, 256, 128, 64)
    channels: int = 1
    w_dim: int = 512
    mapping_layers: int = 8
    mapping_lr: float = 0.01
    w_avg_beta: float = 0.995
    style: str = "adain"
    dtype: jnp.dtype = jnp.float32

    @property
    def num_ws(self) -> int:
        return 2 * len(self.widths)

    def setup(self):
        if self.style not in STYLES:
            raise ValueError(f"style={self.style!r} is not one of {STYLES}")
        self.mapping_network = MappingNetwork(
            self.w_dim, self.mapping_layers, self.mapping_lr, self.w_avg_beta
        )
        self.synthesis_network = SynthesisNetwork(
            self.widths, self.channels, self.style, self.dtype
        )

    def mapping(self, z, *, update_w_avg: bool = False):
        """z [B, latent_dim] → w [B, w_dim]."""
        return self.mapping_network(z, update_w_avg=update_w_avg)

    def truncated(self, ws, psi: float, cutoff: int):
        return self.mapping_network.truncated(ws, psi, cutoff)

    def synthesis(self, ws):
        """ws [B, num_ws, w_dim] → images; noise from the "noise" RNG stream."""
        return self.synthesis_network(ws)

    def __call__(self, z):
        w = self.mapping(z)
        return self.synthesis(jnp.repeat(w[:, None], self.num_ws, axis=1))
