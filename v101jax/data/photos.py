"""Photos for style transfer and super-resolution: image files, or scikit-image's bundled
photos by name (offline: they ship inside the package), and the crops both families train on.

`load_photo` returns uint8 [H, W, C] with 1 or 3 channels; `fit_longer_side` resizes with a
bicubic filter so the longer side has a given length.

Photo sets (`data.photo_set`, for data.source = photos | photo_pairs):
  bundled   scikit-image's photos, split once: TRAIN_PHOTOS, and the held-out TEST_PHOTOS
            (five, in Set5's role) for split "test"
  folder    every image of data.folder/{split}/, at its own size (Set5, Set14, DIV2K's PNGs)
  tfds      the TFDS set data.tfds_name (its "hr" images where it has them, as div2k/*,
            else "image"), at their own sizes

Degradation (one kernel, documented): the photo is cropped to a multiple of the scale and
downscaled with PIL's bicubic filter (Keys' cubic, a = −0.5, widened by the scale factor to
antialias, as MATLAB's `imresize` that the SR papers use), then stored as 8-bit, as a low-
resolution image file would be. data.channels = 1 takes the luminance Y of ITU-R BT.601
(MATLAB's `rgb2ycbcr`, Y in [16, 235]) before downscaling, as SRCNN and ESPCN train on it.
"""

import os

import numpy as np
from PIL import Image

from v101jax.core.errors import ConfigError, DataError
from v101jax.data import tfds_records

# scikit-image's bundled photos (skimage.data functions that read no network).
BUNDLED = (
    "astronaut",
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "motorcycle",
    "page",
    "retina",
    "rocket",
)
# The fixed split of the bundled photos: two colour and three grey held-out photos.
TEST_PHOTOS = ("chelsea", "coffee", "camera", "coins", "moon")
TRAIN_PHOTOS = tuple(n for n in BUNDLED if n not in TEST_PHOTOS)
PHOTO_SETS = ("bundled", "folder", "tfds")


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

        if spec == "motorcycle":  # the left view of the stereo pair
            array = np.asarray(data.stereo_motorcycle()[0])
        else:
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


def luma(rgb: np.ndarray) -> np.ndarray:
    """uint8 [..., 3] RGB → uint8 [..., 1] luminance Y of ITU-R BT.601 in [16, 235]
    (MATLAB's rgb2ycbcr, the SR papers' evaluation channel)."""
    rgb = np.asarray(rgb, np.float64)
    y = 16.0 + rgb @ np.array([65.481, 128.553, 24.966]) / 255.0
    return np.round(y).astype(np.uint8)[..., None]


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """uint8 [H, W, 1 or 3] as RGB (channels 3; grey repeated) or as Y (channels 1)."""
    rgb = np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image
    if channels == 3:
        return rgb
    if channels == 1:
        return luma(rgb)
    raise ConfigError(f"data.channels={channels}: photos have 1 (Y) or 3 (RGB)")


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """[H, W, C] cropped at the bottom and right to multiples of `scale`."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def bicubic_downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """uint8 [H, W, C] (H and W multiples of `scale`) → uint8 [H/scale, W/scale, C], the
    module's degradation (PIL bicubic, antialiased)."""
    h, w, _ = image.shape
    if h % scale or w % scale:
        raise ValueError(
            f"{image.shape} is not a multiple of scale {scale}: modcrop it"
        )
    return resize_to(image, h // scale, w // scale)


def photo_set(data_cfg, split: str) -> list[np.ndarray]:
    """The photos of `split` in data_cfg.photo_set as uint8 [H_i, W_i, 3] (see module doc)."""
    kind = data_cfg.photo_set
    if kind == "bundled":
        names = {"train": TRAIN_PHOTOS, "test": TEST_PHOTOS}.get(split)
        if names is None:
            raise ConfigError(
                f"data.split={split!r}: the bundled photos have splits train and test"
            )
        return [load_photo(name) for name in names]
    if kind == "folder":
        from v101jax.data import folders

        if not data_cfg.folder:
            raise ConfigError(
                "data.photo_set='folder': set data.folder to the folder holding {split}/"
            )
        path = os.path.join(data_cfg.folder, split)
        return [load_photo(os.path.join(path, n)) for n in folders.image_names(path)]
    if kind == "tfds":
        return _tfds_photos(data_cfg, split)
    raise ConfigError(f"data.photo_set={kind!r} is not one of: {', '.join(PHOTO_SETS)}")


def _tfds_photos(data_cfg, split: str) -> list[np.ndarray]:
    with tfds_records.whole_split(
        data_cfg, split, otherwise="data.photo_set=bundled"
    ) as (tfds, dataset):
        key = "hr" if "hr" in dataset.element_spec else "image"
        photos = [example[key] for example in tfds.as_numpy(dataset)]
    return [p if p.shape[-1] == 3 else np.repeat(p, 3, axis=-1) for p in photos]


def crop_origins(length: int, size: int, stride: int, scale: int) -> list[int]:
    """Top (or left) coordinates of the crops of `size` along an axis of `length`: every
    `stride` pixels, each rounded down to a multiple of `scale` so that it falls on a
    low-resolution pixel."""
    return sorted({(y // scale) * scale for y in range(0, length - size + 1, stride)})


def photo_crops(
    photos, size: int, stride: int, channels: int, scale: int = 1, min_std: float = 0.0
) -> tuple[np.ndarray, np.ndarray | None]:
    """(HR crops uint8 [N, size, size, channels], their degraded LR crops uint8
    [N, size/scale, size/scale, channels] or None when scale = 1) of every photo, at the
    positions of `crop_origins`; photos smaller than `size` give none. The LR crops are cut
    from the whole downscaled photo, so that their borders see the neighbouring pixels.
    Crops whose pixels' standard deviation (0–255 levels) is below `min_std` are dropped:
    a constant crop (the black sky of hubble_deep_field) stays constant through instance
    norm, whose 1/sqrt(ε) gain then compounds layer by layer into an infinite gradient."""
    if size % scale:
        raise ConfigError(
            f"data.image_size={size} must be a multiple of data.downscale={scale}"
        )
    if stride < 1:
        raise ConfigError(f"data.crop_stride={stride} must be ≥ 1")
    high, low = [], []
    small = size // scale
    for photo in photos:
        image = modcrop(to_channels(photo, channels), scale)
        h, w = image.shape[:2]
        reduced = bicubic_downscale(image, scale) if scale > 1 else None
        for y in crop_origins(h, size, stride, scale):
            for x in crop_origins(w, size, stride, scale):
                crop = image[y : y + size, x : x + size]
                if min_std and crop.std() < min_std:
                    continue
                high.append(crop)
                if reduced is not None:
                    ly, lx = y // scale, x // scale
                    low.append(reduced[ly : ly + small, lx : lx + small])
    if not high:
        raise DataError(f"no photo is at least {size}×{size}: lower data.image_size")
    # A fixed shuffle, so that any prefix (a grid's, an evaluation's first N) mixes photos.
    order = np.random.default_rng(0).permutation(len(high))
    high = np.stack(high)[order]
    return high, (np.stack(low)[order] if low else None)
