"""Full-reference image quality: PSNR and SSIM (for super-resolution and autoencoders).

SSIM follows Wang et al. (2004) with the settings of scikit-image's
`structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`:
an 11×11 Gaussian window (σ = 1.5, truncated at 3.5σ), K₁ = 0.01, K₂ = 0.03, the map averaged
over the positions where the window lies inside the image, and channels averaged.
"""

import jax
import jax.numpy as jnp
import numpy as np

_SIGMA = 1.5
_TRUNCATE = 3.5


def psnr(a, b, data_range: float = 2.0):
    """Peak signal-to-noise ratio in dB of each image pair; images [..., H, W, C].

    `data_range` is max − min of the pixel scale: 2 for the library's [-1, 1], 255 for uint8.
    """
    a = jnp.asarray(a, jnp.float32)
    b = jnp.asarray(b, jnp.float32)
    mse = jnp.mean((a - b) ** 2, axis=(-3, -2, -1))
    return 10.0 * jnp.log10(data_range**2 / mse)


def _gaussian_window() -> np.ndarray:
    radius = int(_TRUNCATE * _SIGMA + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * (x / _SIGMA) ** 2)
    return (w / w.sum()).astype(np.float32)


def _filter_valid(x):
    """Separable Gaussian filter over H and W of [N, H, W, C], 'valid' positions only."""
    w = jnp.asarray(_gaussian_window())
    n, h, width, c = x.shape
    planes = jnp.transpose(x, (0, 3, 1, 2)).reshape(n * c, h, width, 1)
    dn = ("NHWC", "HWIO", "NHWC")
    planes = jax.lax.conv_general_dilated(
        planes, w.reshape(-1, 1, 1, 1), (1, 1), "VALID", dimension_numbers=dn
    )
    planes = jax.lax.conv_general_dilated(
        planes, w.reshape(1, -1, 1, 1), (1, 1), "VALID", dimension_numbers=dn
    )
    _, h2, w2, _ = planes.shape
    return jnp.transpose(planes.reshape(n, c, h2, w2), (0, 2, 3, 1))


def ssim(a, b, data_range: float = 2.0):
    """Mean structural similarity of each image pair; images [N, H, W, C], H and W ≥ 11."""
    a = jnp.asarray(a, jnp.float32)
    b = jnp.asarray(b, jnp.float32)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(
            f"ssim needs two [N, H, W, C] arrays, got {a.shape} and {b.shape}"
        )
    size = 2 * int(_TRUNCATE * _SIGMA + 0.5) + 1
    if min(a.shape[1:3]) < size:
        raise ValueError(f"ssim needs images of at least {size}×{size}, got {a.shape}")
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a), _filter_valid(b)
    var_a = _filter_valid(a * a) - mu_a**2
    var_b = _filter_valid(b * b) - mu_b**2
    cov = _filter_valid(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return jnp.mean(ssim_map, axis=(1, 2, 3))


def luma(images):
    """Images in [-1, 1] [N, H, W, C] → the luminance Y [N, H, W, 1] on the 0–255 scale the
    SR papers score: each pixel first quantised to 8 bits (the image as written), then, for
    RGB, Y of ITU-R BT.601 (MATLAB's rgb2ycbcr, in [16, 235]); one channel is Y already."""
    levels = jnp.clip(
        jnp.round((jnp.asarray(images, jnp.float32) + 1.0) * 127.5), 0, 255
    )
    if levels.shape[-1] == 1:
        return levels
    weights = jnp.asarray([65.481, 128.553, 24.966], jnp.float32) / 255.0
    return 16.0 + jnp.einsum("nhwc,c->nhw", levels, weights)[..., None]


def luma_scores(images, targets, border: int) -> dict:
    """{"psnr": dB, "ssim", "mse"} per image [N] on Y (`luma`, 0–255) with `border` pixels
    cropped on every side (the scale factor, by convention); SSIM where the crop is at least
    11×11."""
    if images.shape != targets.shape:
        raise ValueError(f"images {images.shape} and targets {targets.shape} differ")
    a, b = luma(images), luma(targets)
    if border:
        a, b = (
            a[:, border:-border, border:-border],
            b[:, border:-border, border:-border],
        )
    scores = {
        "psnr": psnr(a, b, data_range=255.0),
        "mse": jnp.mean((a - b) ** 2, axis=(1, 2, 3)),
    }
    if min(a.shape[1:3]) >= 2 * int(_TRUNCATE * _SIGMA + 0.5) + 1:
        scores["ssim"] = ssim(a, b, data_range=255.0)
    return scores
