"""Layers of the progressive and style-based GANs (Karras et al. 2018, 2019, 2020).

  EqualizedDense, EqualizedConv   equalized learning rate: weights stored N(0, 1/λ²) and
                                  multiplied at run time by the He constant gain/√fan_in (and
                                  the learning-rate multiplier λ of StyleGAN's mapping network),
                                  so Adam's per-parameter step is the same for every layer
  pixel_norm                      x / √(mean_c x² + ε), ProGAN's generator normalisation
  LearnedConstant                 StyleGAN's synthesis input, one learned 4×4×C tensor
  NoiseInjection                  x + s_c · noise, a per-channel learned scale (zero at start)
  adain                           AdaIN(x, y) = y_s · (x − μ(x)) / σ(x) + y_b per channel
  ModulatedConv                   StyleGAN2's convolution with weights scaled by the style per
                                  input channel and (optionally) demodulated per output channel
  truncate, mix_styles            truncation ψ around the mean w, and style mixing by layer

Written here rather than taken from a library: flax has none of them, and the equalized
scaling must wrap the parameters themselves (an initialiser alone would not keep Adam's steps
equal across layers).
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp


def he_constant(fan_in: int, gain: float = math.sqrt(2.0)) -> float:
    """The He et al. scale gain / √fan_in that equalized layers apply at run time."""
    return gain / math.sqrt(fan_in)


class EqualizedDense(nn.Module):
    """A Dense layer with the equalized learning rate: y = x (W·c·λ) + b·λ, W ~ N(0, 1/λ²),
    c = gain / √fan_in, λ = `lr_multiplier` (StyleGAN's mapping network: 0.01)."""

    features: int
    gain: float = math.sqrt(2.0)
    lr_multiplier: float = 1.0
    bias_init: float = 0.0
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        fan_in = x.shape[-1]
        kernel = self.param(
            "kernel",
            nn.initializers.normal(1.0 / self.lr_multiplier),
            (fan_in, self.features),
        )
        bias = self.param(
            "bias",
            nn.initializers.constant(self.bias_init / self.lr_multiplier),
            (self.features,),
        )
        scale = he_constant(fan_in, self.gain) * self.lr_multiplier
        y = jnp.dot(x.astype(self.dtype), (kernel * scale).astype(self.dtype))
        return y + (bias * self.lr_multiplier).astype(self.dtype)


class EqualizedConv(nn.Module):
    """A k×k convolution (stride 1, SAME) with the equalized learning rate:
    weights W ~ N(0, 1) times gain / √(k·k·C_in) at run time."""

    features: int
    kernel_size: int = 3
    gain: float = math.sqrt(2.0)
    use_bias: bool = True
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        k, c_in = self.kernel_size, x.shape[-1]
        kernel = self.param(
            "kernel", nn.initializers.normal(1.0), (k, k, c_in, self.features)
        )
        scale = he_constant(k * k * c_in, self.gain)
        y = jax.lax.conv_general_dilated(
            x.astype(self.dtype),
            (kernel * scale).astype(self.dtype),
            (1, 1),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,))
        return y


def pixel_norm(x, eps: float = 1e-8):
    """x / √(mean over channels of x² + ε): every feature vector to unit RMS (ProGAN §4.2)."""
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + eps)


class LearnedConstant(nn.Module):
    """The synthesis network's input: one learned [H, W, C] tensor (N(0, 1) at start),
    repeated over the batch."""

    shape: tuple[int, int, int] = (4, 4, 512)

    @nn.compact
    def __call__(self, batch_size: int):
        const = self.param("const", nn.initializers.normal(1.0), self.shape)
        return jnp.broadcast_to(const, (batch_size, *self.shape))


class NoiseInjection(nn.Module):
    """x + s_c · n with n ~ N(0, 1) [B, H, W, 1] (one value per pixel, shared by the
    channels) and a learned per-channel scale s (zero at start, as StyleGAN's). The noise
    comes from the "noise" RNG stream unless given."""

    @nn.compact
    def __call__(self, x, noise=None):
        scale = self.param("scale", nn.initializers.zeros, (x.shape[-1],))
        if noise is None:
            noise = jax.random.normal(
                self.make_rng("noise"), x.shape[:-1] + (1,), x.dtype
            )
        return x + scale.astype(x.dtype) * noise


def adain(x, style_scale, style_bias, eps: float = 1e-8):
    """Adaptive instance normalisation: each channel of each image normalised over its H×W
    positions, then y_s · x̂ + y_b with the style's [B, C] scale and bias (StyleGAN eq. 1)."""
    mean = jnp.mean(x, axis=(1, 2), keepdims=True)
    var = jnp.var(x, axis=(1, 2), keepdims=True)
    normalised = (x - mean) * jax.lax.rsqrt(var + eps)
    return style_scale[:, None, None, :] * normalised + style_bias[:, None, None, :]


class ModulatedConv(nn.Module):
    """StyleGAN2's modulated convolution (Karras et al. 2020, §2.2), k×k, stride 1, SAME.

    The style s = A(w) (an equalized Dense layer whose bias starts at 1) scales the weights per
    input channel, w'_{ijk} = s_i · w_{ijk}; with `demodulate` each output channel is then
    divided by σ_j = √(Σ_{i,k} w'_{ijk}² + ε), so unit-variance inputs give unit-variance
    outputs. Computed as conv(x · s, W) · (1/σ): the same numbers as the paper's grouped
    convolution with per-example weights, without the grouped convolution that the CPU runs
    slowly (the paper's own non-fused option).
    """

    features: int
    kernel_size: int = 3
    demodulate: bool = True
    eps: float = 1e-8
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, w):
        k, c_in = self.kernel_size, x.shape[-1]
        style = EqualizedDense(c_in, gain=1.0, bias_init=1.0, name="affine")(
            w
        )  # [B, C_in]
        kernel = self.param(
            "kernel", nn.initializers.normal(1.0), (k, k, c_in, self.features)
        )
        kernel = kernel * he_constant(k * k * c_in, gain=1.0)
        y = jax.lax.conv_general_dilated(
            (x * style[:, None, None, :]).astype(self.dtype),
            kernel.astype(self.dtype),
            (1, 1),
            "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )
        if self.demodulate:
            # σ_bj² = Σ_{i,k} (s_bi w_ikj)² = Σ_i s_bi² Σ_k w_ikj²
            sigma_sq = jnp.square(style) @ jnp.sum(jnp.square(kernel), axis=(0, 1))
            y = y * jax.lax.rsqrt(sigma_sq + self.eps)[:, None, None, :].astype(y.dtype)
        return y


def truncate(w, w_mean, psi: float):
    """Truncation trick: w_mean + ψ (w − w_mean); ψ = 1 leaves w, ψ = 0 gives the mean."""
    return w_mean + psi * (w - w_mean)


def mix_styles(w1, w2, crossover, num_layers: int):
    """Per-layer styles [B, num_layers, D]: layers < crossover [B] take w1 [B, D], the rest
    w2 (style mixing; crossover = num_layers keeps w1 throughout)."""
    layers = jnp.arange(num_layers)[None, :, None]
    return jnp.where(layers < crossover[:, None, None], w1[:, None], w2[:, None])
