"""The DDPM U-Net (Ho et al. 2020, appendix B) with optional class conditioning.

Resolution levels follow `channel_mult`; each level has `num_res_blocks` residual blocks,
with self-attention where the feature map's size is in `attention_resolutions`. The time
embedding (and, for conditional models, a learned class embedding) is added in every block.

With `cross_attention`, every self-attention block (and the middle block) is followed by
cross-attention to a conditioning sequence (latent diffusion's conditioning path, Rombach et
al. 2022): `context` [B, L, D] with `context_mask` [B, L], or with `label_tokens` the class
label's embedding as a one-token sequence instead of an addition to the time embedding.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from v101jax.nn.attention import CrossAttention2D, SelfAttention2D
from v101jax.nn.blocks import Downsample, ResBlock, Upsample
from v101jax.nn.embeddings import sinusoidal_embedding


class UNet(nn.Module):
    """ε/x₀/v-prediction network: (x [B,H,W,C], t [B], labels [B] | None) → [B,H,W,C]."""

    channels: int = 64  # base width C
    channel_mult: Sequence[int] = (1, 2, 2)  # width of level i is C·channel_mult[i]
    num_res_blocks: int = 2  # per level
    attention_resolutions: Sequence[int] = (7,)  # feature-map sizes with self-attention
    num_heads: int = 1
    num_groups: int = 32  # GroupNorm groups (capped at the channel count)
    dropout: float = 0.0
    num_classes: int = (
        0  # > 0: class-conditional; label == num_classes means "no label"
    )
    out_channels: int | None = None  # default: input channels
    dtype: jnp.dtype = jnp.float32  # compute dtype; params are float32
    remat: bool = False  # rematerialise residual blocks to save activation memory
    cross_attention: bool = (
        False  # cross-attention to `context` after each self-attention
    )
    label_tokens: bool = (
        False  # labels enter as a one-token context (needs cross_attention)
    )

    @nn.compact
    def __call__(
        self, x, t, labels=None, *, train: bool, context=None, context_mask=None
    ):
        out_channels = self.out_channels or x.shape[-1]
        block_cls = nn.remat(ResBlock, static_argnums=(3,)) if self.remat else ResBlock

        num_blocks = [0]

        def res_block(h, width):
            # Explicit names keep parameter paths the same with and without remat, so a
            # checkpoint loads either way.
            block = block_cls(
                width,
                dropout=self.dropout,
                num_groups=self.num_groups,
                dtype=self.dtype,
                name=f"ResBlock_{num_blocks[0]}",
            )
            num_blocks[0] += 1
            return block(h, emb, train)

        def attend(h):
            h = SelfAttention2D(self.num_heads, self.num_groups, dtype=self.dtype)(h)
            if self.cross_attention:
                h = CrossAttention2D(self.num_heads, self.num_groups, dtype=self.dtype)(
                    h, context, context_mask
                )
            return h

        def maybe_attend(h):
            if h.shape[1] in self.attention_resolutions:
                h = attend(h)
            return h

        emb_dim = 4 * self.channels
        emb = sinusoidal_embedding(t, self.channels)
        emb = nn.Dense(emb_dim, dtype=self.dtype)(emb)
        emb = nn.Dense(emb_dim, dtype=self.dtype)(nn.silu(emb))
        if self.num_classes > 0:
            if labels is None:
                raise ValueError("this U-Net is class-conditional: pass labels")
            # One extra row for the null label used by classifier-free guidance.
            label_emb = nn.Embed(self.num_classes + 1, emb_dim, dtype=self.dtype)(
                labels
            )
            if self.label_tokens:
                context, context_mask = label_emb[:, None, :], None
            else:
                emb = emb + label_emb
        if self.cross_attention and context is None:
            raise ValueError("a cross-attention U-Net needs context (or label_tokens)")

        h = nn.Conv(self.channels, (3, 3), dtype=self.dtype)(x.astype(self.dtype))
        skips = [h]
        for level, mult in enumerate(self.channel_mult):
            for _ in range(self.num_res_blocks):
                h = maybe_attend(res_block(h, self.channels * mult))
                skips.append(h)
            if level != len(self.channel_mult) - 1:
                h = Downsample(h.shape[-1], dtype=self.dtype)(h)
                skips.append(h)

        h = res_block(h, h.shape[-1])
        h = attend(h)
        h = res_block(h, h.shape[-1])

        for level, mult in reversed(list(enumerate(self.channel_mult))):
            for _ in range(self.num_res_blocks + 1):
                h = jnp.concatenate([h, skips.pop()], axis=-1)
                h = maybe_attend(res_block(h, self.channels * mult))
            if level != 0:
                h = Upsample(h.shape[-1], dtype=self.dtype)(h, skips[-1].shape[1:3])
        assert not skips

        h = nn.silu(
            nn.GroupNorm(
                num_groups=min(self.num_groups, h.shape[-1]), dtype=self.dtype
            )(h)
        )
        h = nn.Conv(
            out_channels, (3, 3), kernel_init=nn.initializers.zeros, dtype=self.dtype
        )(h)
        return h.astype(jnp.float32)
