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


def image_inputs(inputs, samples_shape) -> list[np.ndarray]:
    """The image arrays of a sampler's `inputs` dict that can be shown beside its samples:
    [N, H, W, C'] arrays with the samples' N, H and W, or smaller by one integer factor
    (super-resolution's low-resolution inputs, shown enlarged pixel by pixel); sorted by
    key, grey ones repeated to the samples' C channels. Labels and other inputs are
    skipped."""
    n, h, w, c = samples_shape
    shown = []
    for key in sorted(inputs or {}):
        value = np.asarray(inputs[key])
        if value.ndim != 4 or value.shape[0] != n:
            continue
        factor = h // value.shape[1] if 0 < value.shape[1] <= h else 0
        if not factor or h % factor or value.shape[1:3] != (h // factor, w // factor):
            continue
        if factor > 1:  # nearest neighbour: the input's pixels as they are
            value = value.repeat(factor, axis=1).repeat(factor, axis=2)
        if value.shape[-1] == 1 and c > 1:
            value = np.repeat(value, c, axis=-1)
        if value.shape[-1] == c:
            shown.append(value.astype(np.float32))
    return shown


def samples_to_picture(
    samples: np.ndarray, upscale: int = 1, inputs: dict | None = None
) -> np.ndarray:
    """A uint8 picture of samples: a grid for images [N, H, W, C], a density plot for [N, 2].

    When `inputs` (what the samples were conditioned on) holds images of the samples' size,
    such as the source images of image-to-image translation, each sample is shown after its
    input images in the same row (input | output pairs); other inputs change nothing.
    """
    samples = np.asarray(samples)
    if samples.ndim == 2:
        return scatter_image(samples)
    shown = image_inputs(inputs, samples.shape)
    if shown:
        group = len(shown) + 1
        tiles = np.stack([*shown, samples.astype(np.float32)], axis=1)
        tiles = tiles.reshape((-1,) + samples.shape[1:])
        picture = make_grid(
            to_uint8(tiles), num_cols=group * math.ceil(math.sqrt(len(samples)))
        )
    else:
        picture = make_grid(to_uint8(samples))
    if upscale > 1:
        picture = picture.repeat(upscale, axis=0).repeat(upscale, axis=1)
    return picture


def save_png(path: str, picture: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    if picture.shape[-1] == 1:
        picture = picture[..., 0]
    Image.fromarray(picture).save(path)
