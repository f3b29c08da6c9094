"""Sub-pixel convolution's rearrangement (Shi et al. 2016): depth to space.

[N, H, W, C·r²] → [N, H·r, W·r, C] with PyTorch's `nn.PixelShuffle` channel order (channel
c·r² + i·r + j lands at row offset i, column offset j), so that converted ESPCN/SRResNet
weights keep their meaning.
"""

import einops


def pixel_shuffle(x, scale: int):
    """Depth to space by `scale` in PyTorch's channel order; x [N, H, W, C·scale²]."""
    return einops.rearrange(x, "n h w (c i j) -> n (h i) (w j) c", i=scale, j=scale)
