"""Sample grids and point-cloud pictures, written as PNG (uint8 only at this boundary)."""

import math
import os

import numpy as np
from PIL import Image


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float → [0, 255] uint8."""
    return np.clip(
        np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255
    ).astype(np.uint8)


def make_grid(
    images: np.ndarray, num_cols: int | None = None, pad: int = 1
) -> np.ndarray:
    """Tiles uint8 images [N, H, W, C] into one [rows·(H+pad)+pad, cols·(W+pad)+pad, C] grid."""
    n, h, w, c = images.shape
    cols = num_cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        grid[y : y + h, x : x + w] = images[i]
    return grid


def scatter_image(
    points: np.ndarray, size: int = 256, extent: float = 4.0
) -> np.ndarray:
    """A [size, size, 1] uint8 density picture of 2-D points in [-extent, extent]² (dark = dense)."""
    hist, _, _ = np.histogram2d(
        points[:, 1],
        points[:, 0],
        bins=size,
        range=[[-extent, extent], [-extent, extent]],
    )
    hist = hist[::-1]  # y up
    density = np.clip(
        hist / max(1.0, np.percentile(hist[hist > 0], 95) if hist.any() else 1.0), 0, 1
    )
    return (255 - 255 * density).astype(np.uint8)[..., None]


def samples_to_picture(samples: np.ndarray, upscale: int = 1) -> np.ndarray:
    """A uint8 picture of samples: a grid for images [N, H, W, C], a density plot for [N, 2]."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        return scatter_image(samples)
    picture = make_grid(to_uint8(samples))
    if upscale > 1:
        picture = picture.repeat(upscale, axis=0).repeat(upscale, axis=1)
    return picture


def save_png(path: str, picture: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if picture.shape[-1] == 1:
        picture = picture[..., 0]
    Image.fromarray(picture).save(path)
