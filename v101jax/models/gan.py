"""GAN networks: MLP generator/discriminator (2-D data) and DCGAN (28×28, 32×32, 64×64 images).

Discriminators return (scores [B], aux) where aux holds the named intermediates losses need:
  "features":     [B, F] the last hidden features (feature matching),
  "class_logits": [B, K] the auxiliary classifier head (ACGAN), only when `aux_classes` > 0.
Conditioning on integer labels [B] (`conditioning`):
  "none":        unconditional,
  "concat":      a label embedding concatenated to the input (Mirza & Osindero 2014),
  "projection":  D adds ⟨embed(y), φ(x)⟩ to its score (Miyato & Koyama 2018, eq. 3);
                 generators treat it as "concat".
  "vector":      the `labels` argument is a float code [B, E] (a projected text embedding):
                 concatenated to z in G and to the MLP D's input; the DCGAN D tiles it over
                 its last feature map and mixes it in with a 1×1 convolution (GAN-CLS, Reed
                 et al. 2016, §4.1).
DCGAN choices (Radford et al. 2016): strided 4×4 (transposed) convolutions, batch norm in G,
LeakyReLU 0.2 in D, every kernel initialised N(0, 0.02). G's transposed convolutions are
computed in sub-pixel form (v101jax.nn.conv_transpose: same parameters and outputs). D has no batch norm, so an example's
score never depends on the rest of the batch (needed for the per-example gradient penalties and
for scoring real and generated examples in one call); `spectral_norm` wraps every D layer in
flax's `nn.SpectralNorm`, whose power-iteration state lives in the "batch_stats" collection.
"""

from collections.abc import Callable

import flax.linen as nn
import jax.numpy as jnp

from v101jax.nn.conv_transpose import ConvTranspose4x4s2
from v101jax.nn.minibatch import MinibatchDiscrimination, minibatch_stddev

CONDITIONINGS = ("none", "concat", "projection", "vector")
dcgan_init = nn.initializers.normal(0.02)


def _leaky_relu(x):
    return nn.leaky_relu(x, negative_slope=0.2)


def num_upsamplings(image_size: int) -> int:
    """Stride-2 stages between the first feature map and `image_size`: 28 → 2, 32 → 3, 64 → 4.

    Halves the size while it stays even and above 4 (28 → 14 → 7, 32 → … → 4).
    """
    n, s = 0, image_size
    while s % 2 == 0 and s > 4:
        n, s = n + 1, s // 2
    if n == 0:
        raise ValueError(
            f"image size {image_size} cannot be reached by stride-2 stages"
        )
    return n


class _Layers(nn.Module):
    """Base for discriminators: applies a layer, spectrally normalised when asked."""

    def layer(self, module: nn.Module, x, train: bool):
        if self.spectral_norm:
            return nn.SpectralNorm(module)(x, update_stats=train)
        return module(x)

    def head(self, h, labels, train: bool):
        """Score (+ projection term) and auxiliary class logits from features h [B, F]."""
        features = h
        if self.minibatch_discrimination:
            # [f(x_i), o(x_i)] into the score layer, as in Salimans et al.'s D.
            h = MinibatchDiscrimination(
                num_kernels=self.minibatch_kernels,
                kernel_dim=self.minibatch_kernel_dim,
                group_size=self.minibatch_discrimination,
                dtype=self.dtype,
            )(h)
        if self.minibatch_std:
            # One extra input to the score layer (ProGAN appends it as a channel of D's last
            # feature map, which feeds the score the same way after flattening).
            h = minibatch_stddev(h, self.minibatch_std)
        score = self.layer(nn.Dense(1, kernel_init=self.kernel_init), h, train)[:, 0]
        if self.conditioning == "projection":
            embed = nn.Embed(self.num_classes, features.shape[-1], dtype=self.dtype)
            score = score + jnp.sum(embed(labels) * features, axis=-1)
        aux = {"features": features.astype(jnp.float32)}
        if self.aux_classes:
            aux["class_logits"] = self.layer(
                nn.Dense(self.aux_classes, kernel_init=self.kernel_init), h, train
            ).astype(jnp.float32)
        return score.astype(jnp.float32), aux


class MLPGenerator(nn.Module):
    """z [B, latent] (+ labels [B]) → points [B, out_dim]; ReLU hidden layers, linear output."""

    out_dim: int = 2
    hidden: int = 128
    num_layers: int = 3  # hidden layers
    num_classes: int = 0  # > 0 with conditioning != "none": label-conditional
    conditioning: str = (
        "none"  # none | concat | projection (both concatenate an embedding)
    )
    embed_dim: int = 16
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, z, labels=None, *, train: bool):
        del train
        h = _condition_input(self, z, labels)
        for _ in range(self.num_layers):
            h = nn.relu(nn.Dense(self.hidden, dtype=self.dtype)(h))
        return nn.Dense(self.out_dim, dtype=self.dtype)(h).astype(jnp.float32)


class MLPDiscriminator(_Layers):
    """points [B, D] (+ labels) → (scores [B], aux); LeakyReLU(0.2) hidden layers."""

    hidden: int = 128
    num_layers: int = 3
    num_classes: int = 0
    conditioning: str = "none"  # none | concat | projection
    embed_dim: int = 16
    aux_classes: int = 0  # > 0: ACGAN class head with this many classes
    spectral_norm: bool = False
    minibatch_std: int = 0  # group size of the minibatch std-dev feature; 0 = off
    minibatch_discrimination: int = 0  # group size of minibatch discrimination; 0 = off
    minibatch_kernels: int = 100  # B of minibatch discrimination
    minibatch_kernel_dim: int = 5  # C of minibatch discrimination
    kernel_init: Callable = nn.linear.default_kernel_init
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, labels=None, *, train: bool):
        h = _condition_input(self, x, labels, projection_in_input=False)
        for _ in range(self.num_layers):
            dense = nn.Dense(
                self.hidden, dtype=self.dtype, kernel_init=self.kernel_init
            )
            h = _leaky_relu(self.layer(dense, h, train))
        return self.head(h, labels, train)


class DCGANGenerator(nn.Module):
    """z [B, latent] (+ labels) → images [B, S, S, C] in [-1, 1].

    Dense → s₀×s₀×(channels·2^(n−1)) → n stride-2 4×4 transposed convolutions, halving the width
    each time, with batch norm and ReLU between, tanh at the end (n = num_upsamplings(S)).
    """

    image_size: int = 28
    out_channels: int = 1
    channels: int = 64  # width of the last hidden feature map
    num_classes: int = 0
    conditioning: str = "none"
    embed_dim: int = 16
    batch_stats_at_sampling: bool = True  # see `__call__`'s `use_batch_stats`
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, z, labels=None, *, train: bool):
        # Batch norm normalises with the batch's statistics in training, and with them too at
        # sampling when `batch_stats_at_sampling` (running averages belong to the raw
        # weights, not to their EMA), else with the running averages.
        use_running = not train and not self.batch_stats_at_sampling
        norm = lambda h: nn.relu(
            nn.BatchNorm(
                use_running_average=use_running, momentum=0.9, dtype=self.dtype
            )(h)
        )
        n = num_upsamplings(self.image_size)
        size = self.image_size // 2**n
        width = self.channels * 2 ** (n - 1)
        h = _condition_input(self, z, labels)
        h = nn.Dense(size * size * width, use_bias=False, kernel_init=dcgan_init)(h)
        h = norm(h.reshape(h.shape[0], size, size, width))
        for i in range(n - 1):
            width //= 2
            h = ConvTranspose4x4s2(
                width, use_bias=False, kernel_init=dcgan_init, dtype=self.dtype
            )(h)
            h = norm(h)
        h = ConvTranspose4x4s2(
            self.out_channels, kernel_init=dcgan_init, dtype=self.dtype
        )(h)
        return jnp.tanh(h.astype(jnp.float32))


class DCGANDiscriminator(_Layers):
    """images [B, S, S, C] (+ labels) → (scores [B], aux).

    n stride-2 4×4 convolutions doubling the width from `channels`, LeakyReLU(0.2), then a
    linear score on the flattened map (n = num_upsamplings(S), mirroring the generator).
    """

    channels: int = 64  # width of the first convolution
    num_classes: int = 0
    conditioning: str = "none"  # none | concat (label channels) | projection
    embed_dim: int = 16
    aux_classes: int = 0
    spectral_norm: bool = False
    minibatch_std: int = 0
    minibatch_discrimination: int = 0
    minibatch_kernels: int = 100
    minibatch_kernel_dim: int = 5
    kernel_init: Callable = dcgan_init
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, labels=None, *, train: bool):
        h = _condition_input(
            self, x, labels, projection_in_input=False, vector_in_input=False
        )
        width = self.channels
        for _ in range(num_upsamplings(x.shape[1])):
            conv = nn.Conv(
                width,
                (4, 4),
                (2, 2),
                "SAME",
                kernel_init=self.kernel_init,
                dtype=self.dtype,
            )
            h = _leaky_relu(self.layer(conv, h, train))
            width *= 2
        if self.conditioning == "vector":
            h = _condition_input(self, h, labels)
            conv = nn.Conv(
                width // 2, (1, 1), kernel_init=self.kernel_init, dtype=self.dtype
            )
            h = _leaky_relu(self.layer(conv, h, train))
        h = h.reshape(h.shape[0], -1)
        return self.head(h, labels, train)


def _condition_input(
    module, x, labels, projection_in_input: bool = True, vector_in_input: bool = True
):
    """x with a label embedding (or a "vector" code) appended (channels for images) when
    conditioning asks for it."""
    if module.conditioning not in CONDITIONINGS:
        raise ValueError(
            f"conditioning={module.conditioning!r} is not one of: {', '.join(CONDITIONINGS)}"
        )
    if (
        module.conditioning == "none"
        or (module.conditioning == "projection" and not projection_in_input)
        or (module.conditioning == "vector" and not vector_in_input)
    ):
        return x
    if labels is None:
        raise ValueError("this network is conditional: pass labels (or a code)")
    if module.conditioning == "vector":
        emb = labels.astype(module.dtype)
    else:
        emb = nn.Embed(module.num_classes, module.embed_dim, dtype=module.dtype)(labels)
    if x.ndim == 4:  # [B, H, W, C]: the embedding as constant extra channels
        emb = jnp.broadcast_to(emb[:, None, None, :], x.shape[:3] + emb.shape[-1:])
    return jnp.concatenate([x.astype(emb.dtype), emb], axis=-1)
