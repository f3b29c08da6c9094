"""Photos for style transfer and super-resolution: image files, or scikit-image's bundled
photos by name (offline: they ship inside the package).

`load_photo` returns uint8 [H, W, C] with 1 or 3 channels; `fit_longer_side` resizes with a
bicubic filter so the longer side has a given length.
"""

import os

import numpy as np
from PIL import Image

from v101jax.core.errors import DataError

# scikit-image's bundled photos (skimage.data functions that read no network).
BUNDLED = (
    "astronaut",
    "brick",
    "camera",
    "chelsea",
    "coffee",
    "grass",
    "gravel",
    "hubble_deep_field",
    "retina",
    "rocket",
)


def load_photo(spec: str, channels: int = 3) -> np.ndarray:
    """The image file `spec`, or the bundled photo of that name, as uint8 [H, W, channels]."""
    if os.path.exists(spec):
        try:
            with Image.open(spec) as im:
                im = im.convert("L" if channels == 1 else "RGB")
        except OSError as e:
            raise DataError(f"{spec}: not a readable image ({e})") from e
    elif spec in BUNDLED:
        from skimage import data

        array = np.asarray(getattr(data, spec)())
        im = Image.fromarray(array).convert("L" if channels == 1 else "RGB")
    else:
        raise DataError(
            f"{spec!r} is neither an image file nor a bundled photo ({', '.join(BUNDLED)})"
        )
    return np.asarray(im, np.uint8).reshape(im.size[1], im.size[0], channels)


def fit_longer_side(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 [H, W, C] resized (bicubic) so that max(H, W) = size, aspect kept."""
    h, w, c = image.shape
    scale = size / max(h, w)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    im = Image.fromarray(image[..., 0] if c == 1 else image).resize(new, Image.BICUBIC)
    return np.asarray(im, np.uint8).reshape(new[1], new[0], c)


def resize_to(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 [H, W, C] resized (bicubic) to [height, width, C]."""
    c = image.shape[-1]
    im = Image.fromarray(image[..., 0] if c == 1 else image).resize(
        (width, height), Image.BICUBIC
    )
    return np.asarray(im, np.uint8).reshape(height, width, c)
