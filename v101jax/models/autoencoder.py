"""Convolutional encoders/decoders for small images, and the vector quantiser of VQ-VAE.

The pieces are reusable: `Autoencoder.encode` / `Autoencoder.decode` (and `VQVAE.encode`,
`quantize`, `decode`) are what latent diffusion builds on. Every stride-2 stage halves the
spatial size with ceil division (28 → 14 → 7); the decoder mirrors the encoder and crops back to
the input size, so odd sizes round-trip. Widths should be powers of two on CPU: XLA's CPU
convolutions are several times slower otherwise.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class ConvEncoder(nn.Module):
    """Image [B, H, W, C] → latent: a vector [B, out_features] or a map [B, h, w, out_features].

    Per entry of `channels` a stride-2 3×3 conv and a residual 3×3 conv (SiLU activations);
    then a Dense layer on the flattened map (`flatten=True`) or a 1×1 conv (a spatial latent).
    No convolution runs at full resolution: on CPU those dominate the cost.
    """

    channels: Sequence[int] = (32, 64)  # width of each stride-2 stage
    out_features: int = 16  # latent size (vector) or latent channels (map)
    flatten: bool = True  # True: vector latent; False: spatial latent map
    dtype: jnp.dtype = jnp.float32  # compute dtype

    @nn.compact
    def __call__(self, x):
        h = x
        for width in self.channels:
            h = nn.silu(nn.Conv(width, (3, 3), strides=(2, 2), dtype=self.dtype)(h))
            h = h + nn.silu(nn.Conv(width, (3, 3), dtype=self.dtype)(h))
        if self.flatten:
            h = h.reshape(h.shape[0], -1)
            return nn.Dense(self.out_features, dtype=self.dtype)(h).astype(jnp.float32)
        out = nn.Conv(self.out_features, (1, 1), dtype=self.dtype)(h)
        return out.astype(jnp.float32)


class ConvDecoder(nn.Module):
    """Latent (vector [B, d] or map [B, h, w, d]) → image-shaped output [B, H, W, C].

    The mirror of ConvEncoder: a Dense layer to the smallest feature map (vector latents) or a
    1×1 conv (maps), then per stage (widest first) a residual 3×3 conv, a nearest ×2
    upsampling cropped to the target size and a 3×3 conv to the next stage's width; the last
    of these convs gives the C output channels (logits or means, no activation).
    """

    image_shape: tuple[int, int, int] = (28, 28, 1)  # output (H, W, C)
    channels: Sequence[int] = (32, 64)  # the encoder's stage widths (same order)
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, z):
        sizes = stage_sizes(self.image_shape[:2], len(self.channels))
        widths = list(self.channels)[::-1]
        if z.ndim == 2:
            h0, w0 = sizes[-1]
            h = nn.Dense(h0 * w0 * widths[0], dtype=self.dtype)(z)
            h = nn.silu(h).reshape(z.shape[0], h0, w0, widths[0])
        else:
            h = nn.silu(nn.Conv(widths[0], (1, 1), dtype=self.dtype)(z))
        for i, width in enumerate(widths):
            h = h + nn.silu(nn.Conv(width, (3, 3), dtype=self.dtype)(h))
            target = sizes[-2 - i]
            h = jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)
            h = h[:, : target[0], : target[1]]
            if i + 1 < len(widths):
                h = nn.silu(nn.Conv(widths[i + 1], (3, 3), dtype=self.dtype)(h))
            else:
                h = nn.Conv(self.image_shape[2], (3, 3), dtype=self.dtype)(h)
        return h.astype(jnp.float32)


def stage_sizes(size: tuple[int, int], num_stages: int) -> list[tuple[int, int]]:
    """Spatial sizes after 0 … num_stages stride-2 stages (ceil division): 28 → 14 → 7."""
    sizes = [tuple(size)]
    for _ in range(num_stages):
        sizes.append(tuple(-(-s // 2) for s in sizes[-1]))
    return sizes


class Autoencoder(nn.Module):
    """Encoder + decoder with separate `encode` / `decode` methods.

    The encoder emits `latent_dim` numbers per latent position, or 2·latent_dim when
    `gaussian_encoder` (the mean μ and log σ² of q(z|x), split by `encode`).
    """

    image_shape: tuple[int, int, int] = (28, 28, 1)
    channels: Sequence[int] = (32, 64)
    latent_dim: int = 16  # vector size, or channels of the latent map when not flatten
    flatten: bool = True  # vector latents (True) or spatial latent maps
    gaussian_encoder: bool = False  # True: encode returns (μ, log σ²)
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        factor = 2 if self.gaussian_encoder else 1
        self.encoder = ConvEncoder(
            channels=self.channels,
            out_features=factor * self.latent_dim,
            flatten=self.flatten,
            dtype=self.dtype,
        )
        self.decoder = ConvDecoder(
            image_shape=self.image_shape, channels=self.channels, dtype=self.dtype
        )

    def encode(self, x):
        """x [B, H, W, C] in [-1, 1] → z, or (μ, log σ²) for a Gaussian encoder."""
        out = self.encoder(x)
        if self.gaussian_encoder:
            mean, log_var = jnp.split(out, 2, axis=-1)
            return mean, log_var
        return out

    def decode(self, z):
        """z → decoder output [B, H, W, C] (logits or means, see the algorithm)."""
        return self.decoder(z)

    def __call__(self, x):
        out = self.encode(x)
        return self.decode(out[0] if self.gaussian_encoder else out)


class VectorQuantizer(nn.Module):
    """A codebook of `num_codes` vectors of size `code_dim` (van den Oord et al. 2017).

    Holds only the codebook parameter; the quantisation maths are the module-level functions
    below, so that they can be tested against NumPy and reused by the EMA update.
    """

    num_codes: int = 128
    code_dim: int = 16

    @nn.compact
    def __call__(self):
        k = self.num_codes
        # Uniform(-1/K, 1/K) as in the reference implementation.
        init = lambda key, shape: jax.random.uniform(
            key, shape, minval=-1 / k, maxval=1 / k
        )
        return self.param("codebook", init, (k, self.code_dim))


class VQVAE(nn.Module):
    """Encoder to a spatial latent map, the codebook, and the decoder.

    encode: x → z_e [B, h, w, D] (continuous); quantize: z_e → (z_q straight-through, codes);
    decode: z_q → image means; decode_codes: codes [B, h, w] → image means.
    """

    image_shape: tuple[int, int, int] = (28, 28, 1)
    channels: Sequence[int] = (32, 64)
    num_codes: int = 128
    code_dim: int = 16
    dtype: jnp.dtype = jnp.float32

    def setup(self):
        self.encoder = ConvEncoder(
            channels=self.channels,
            out_features=self.code_dim,
            flatten=False,
            dtype=self.dtype,
        )
        self.decoder = ConvDecoder(
            image_shape=self.image_shape, channels=self.channels, dtype=self.dtype
        )
        self.quantizer = VectorQuantizer(
            num_codes=self.num_codes, code_dim=self.code_dim
        )

    def encode(self, x):
        return self.encoder(x)

    def codebook(self):
        return self.quantizer()

    def quantize(self, z_e):
        """(z_q with straight-through gradients, codes [B, h, w], z_q without them)."""
        codebook = self.quantizer()
        codes = nearest_code(z_e, codebook)
        z_q = codebook[codes]
        return straight_through(z_e, z_q), codes, z_q

    def decode(self, z_q):
        return self.decoder(z_q)

    def decode_codes(self, codes):
        return self.decoder(self.quantizer()[codes])

    def __call__(self, x):
        z_q, _, _ = self.quantize(self.encode(x))
        return self.decode(z_q)


def nearest_code(z, codebook):
    """Index of the nearest codebook row (squared Euclidean distance) for every vector of z.

    z [..., D], codebook [K, D] → int32 [...]. ‖z − e‖² = ‖z‖² − 2 z·e + ‖e‖²; the ‖z‖² term is
    the same for every code, so it is left out of the argmin.
    """
    scores = jnp.sum(codebook**2, axis=-1) - 2.0 * jnp.einsum(
        "...d,kd->...k", z, codebook
    )
    return jnp.argmin(scores, axis=-1).astype(jnp.int32)


def straight_through(z_e, z_q):
    """z_q in the forward pass; the identity's gradient (dL/dz_q passed to z_e) backward."""
    return z_e + jax.lax.stop_gradient(z_q - z_e)


def codebook_perplexity(codes, num_codes: int):
    """(perplexity exp(H(p̄)), fraction of codes used) of the batch's code histogram p̄."""
    counts = jnp.bincount(codes.reshape(-1), length=num_codes)
    probs = counts / jnp.maximum(counts.sum(), 1)
    entropy = -jnp.sum(jnp.where(probs > 0, probs * jnp.log(probs), 0.0))
    return jnp.exp(entropy), jnp.mean(counts > 0)


def ema_codebook_update(
    cluster_size, embed_sum, z_flat, codes_flat, *, decay: float, epsilon: float = 1e-5
):
    """One EMA step of the codebook statistics (van den Oord et al. 2017, appendix A.1).

    N_k ← γ N_k + (1 − γ) n_k;  m_k ← γ m_k + (1 − γ) Σ_{i: code i = k} z_i;
    e_k = m_k / Ñ_k with the Laplace-smoothed Ñ_k = (N_k + ε) / (N + K ε) · N.

    Args:
      cluster_size: N [K]; embed_sum: m [K, D]; z_flat: encoder outputs [M, D];
      codes_flat: their codes [M].
    Returns:
      (cluster_size, embed_sum, codebook [K, D]).
    """
    num_codes = cluster_size.shape[0]
    one_hot = jax.nn.one_hot(codes_flat, num_codes, dtype=z_flat.dtype)  # [M, K]
    cluster_size = decay * cluster_size + (1.0 - decay) * one_hot.sum(axis=0)
    embed_sum = decay * embed_sum + (1.0 - decay) * one_hot.T @ z_flat
    total = cluster_size.sum()
    smoothed = (cluster_size + epsilon) / (total + num_codes * epsilon) * total
    return cluster_size, embed_sum, embed_sum / smoothed[:, None]


def restart_dead_codes(rng, codebook, usage, z_flat, threshold: float):
    """Codes whose usage (an EMA of per-batch counts) is below `threshold` are moved onto
    randomly chosen encoder outputs of the batch (Dhariwal et al. 2020, Jukebox).

    Returns:
      (new codebook [K, D], dead mask [K]).
    """
    dead = usage < threshold
    picks = jax.random.randint(rng, (codebook.shape[0],), 0, z_flat.shape[0])
    return jnp.where(dead[:, None], z_flat[picks], codebook), dead


def latent_grid_shape(image_shape, num_stages: int) -> tuple[int, int]:
    """(h, w) of the spatial latent map for `image_shape` (H, W, C)."""
    return stage_sizes(tuple(image_shape[:2]), num_stages)[-1]
