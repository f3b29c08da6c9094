"""Losses on feature maps: Gatys et al.'s (2016) style and content terms and total variation.

A layer's Gram matrix is G = Fᵀ F / (C·H·W) for its features F reshaped to [H·W, C], so that
layers of different sizes weigh alike and an image's size does not change the scale.
"""

import jax.numpy as jnp


def gram_matrix(features):
    """[B, H, W, C] → [B, C, C]: Fᵀ F / (C·H·W)."""
    b, h, w, c = features.shape
    f = features.reshape(b, h * w, c).astype(jnp.float32)
    return jnp.einsum("bnc,bnd->bcd", f, f) / (c * h * w)


def style_loss(features: dict, target_grams: dict, weights: dict | None = None):
    """Σ_l w_l · mean over the batch of ‖G(F_l) − A_l‖²_F (A_l: the style's Gram matrix,
    [C, C] or [B, C, C]); w_l = 1 unless given."""
    total = 0.0
    for name, f in features.items():
        diff = gram_matrix(f) - target_grams[name]
        layer = jnp.mean(jnp.sum(diff**2, axis=(-2, -1)))
        total = total + (1.0 if weights is None else weights[name]) * layer
    return total


def content_loss(features, target):
    """Mean squared difference of one layer's features."""
    return jnp.mean((features.astype(jnp.float32) - target) ** 2)


def total_variation(images):
    """Mean absolute difference of vertically and horizontally adjacent pixels."""
    dy = jnp.abs(images[:, 1:] - images[:, :-1])
    dx = jnp.abs(images[:, :, 1:] - images[:, :, :-1])
    return jnp.mean(dy) + jnp.mean(dx)


def style_layer_weights(section) -> dict[str, float]:
    """w_l of each of a style-transfer section's style_layers (its style_layer_weights;
    empty = all 1)."""
    layers = tuple(section.style_layers)
    return dict(
        zip(
            layers,
            tuple(section.style_layer_weights) or (1.0,) * len(layers),
            strict=True,
        )
    )


def style_transfer_loss(section, images, features: dict, content_target, style_grams):
    """(λ_c · content + λ_s · style + λ_tv · TV, {"content", "style", "tv"}) of `images`
    whose feature maps by layer are `features`, for a style-transfer config section (gatys,
    fast_style): its content_layer and style_layers, their weights and the three λ."""
    parts = {
        "content": content_loss(features[section.content_layer], content_target),
        "style": style_loss(
            {name: features[name] for name in section.style_layers},
            style_grams,
            style_layer_weights(section),
        ),
        "tv": total_variation(images),
    }
    total = (
        section.content_weight * parts["content"]
        + section.style_weight * parts["style"]
        + section.tv_weight * parts["tv"]
    )
    return total, parts
