"""Images from local folders: a user's own data, in the layouts of the translation papers' code.

  image folder     every PNG, JPEG, BMP, … file of one folder, in name order; for
                   generation `ROOT/{split}/` (data.source=image_folder), read whole or,
                   with data.streaming, batch by batch
  aligned pairs    pix2pix's format: each file holds A | B side by side (A the left half);
                   `ROOT/{split}/` (train, val, test), e.g. facades or edges2shoes
  two domains      CycleGAN's format: `ROOT/{split}A/` and `ROOT/{split}B/`, unpaired
  captions         beside each image of an image folder, a text file of the same name
                   (`boot_01.png` and `boot_01.txt`) holding its captions, one per line
                   (data.captions=files)

Every image is converted to the requested channels (PIL's "L" or "RGB") and resized to the
requested size with a bicubic filter (the references' choice) when it differs; the result is
uint8 [N, H, W, C].
"""

import os

import numpy as np
from PIL import Image

from v101jax.core.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def image_names(path: str) -> list[str]:
    """The image files of folder `path` in name order; a DataError if there are none."""
    if not os.path.isdir(path):
        raise DataError(f"{path}: no such folder")
    names = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_SUFFIXES))
    if not names:
        raise DataError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)} files)")
    return names


def _open(path: str, channels: int) -> Image.Image:
    try:
        with Image.open(path) as im:
            return im.convert("L" if channels == 1 else "RGB")
    except OSError as e:
        raise DataError(f"{path}: not a readable image ({e})") from e


def to_array(im: Image.Image, shape) -> np.ndarray:
    """A PIL image of the right mode as uint8 [H, W, C] of `shape`, resized if needed."""
    h, w, c = shape
    if im.size != (w, h):
        im = im.resize((w, h), Image.BICUBIC)
    return np.asarray(im, np.uint8).reshape(h, w, c)


def from_array(image: np.ndarray) -> Image.Image:
    """uint8 [H, W, 1 or 3] as a PIL image ("L" or "RGB")."""
    image = np.asarray(image, np.uint8)
    return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def resize_images(images, shape) -> np.ndarray:
    """uint8 images with `shape`'s channels (an array [N, H', W', C], or a list of
    differently sized [H_i, W_i, C]) as one array [N, H, W, C], resized as `to_array`."""
    if isinstance(images, np.ndarray) and images.shape[1:] == tuple(shape):
        return images.astype(np.uint8)
    return np.stack([to_array(from_array(image), shape) for image in images])


class _FolderReader:
    """read(i): the i-th image of a folder as uint8 [H, W, C] of `shape`; a plain object, so
    that worker processes can be sent it."""

    def __init__(self, path: str, names: list[str], shape):
        self.path, self.names, self.shape = path, names, tuple(shape)

    def __call__(self, i: int) -> np.ndarray:
        return to_array(
            _open(os.path.join(self.path, self.names[i]), self.shape[2]), self.shape
        )


def image_reader(path: str, shape):
    """(read, N) for folder `path`: read(i) is its i-th image in name order as uint8
    [H, W, C] of `shape` (data.streaming's source, v101jax.data.streaming)."""
    names = image_names(path)
    return _FolderReader(path, names, shape), len(names)


def read_image_folder(path: str, shape) -> tuple[np.ndarray, list[str]]:
    """(uint8 [N, H, W, C], the file names without suffix) of folder `path`, each image
    converted to `shape` = (H, W, C)."""
    names = image_names(path)
    images = [to_array(_open(os.path.join(path, n), shape[2]), shape) for n in names]
    return np.stack(images), [os.path.splitext(n)[0] for n in names]


def read_aligned_pairs(path: str, shape) -> tuple[np.ndarray, np.ndarray]:
    """(A, B), each uint8 [N, H, W, C], from the side-by-side A | B files of folder `path`
    (A the left half, as pix2pix's aligned datasets); each half is resized to `shape`."""
    a, b = [], []
    for name in image_names(path):
        im = _open(os.path.join(path, name), shape[2])
        width, height = im.size
        if width < 2:
            raise DataError(
                f"{os.path.join(path, name)}: {width}×{height} cannot hold an A | B pair"
            )
        half = width // 2
        a.append(to_array(im.crop((0, 0, half, height)), shape))
        b.append(to_array(im.crop((half, 0, 2 * half, height)), shape))
    return np.stack(a), np.stack(b)


def read_domains(root: str, split: str, shape) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) images, uint8 [N_A or N_B, H, W, C], of `root/{split}A` and `root/{split}B`."""
    return tuple(
        read_image_folder(os.path.join(root, f"{split}{domain}"), shape)[0]
        for domain in "AB"
    )


def read_captions(path: str) -> list[list[str]]:
    """The captions of folder `path`'s images, in the images' name order: the non-blank
    lines of the `.txt` file beside each. A DataError names the images without a caption
    file or with an empty one."""
    names = image_names(path)
    lines, missing, empty = [], [], []
    for name in names:
        txt = os.path.join(path, os.path.splitext(name)[0] + ".txt")
        if not os.path.isfile(txt):
            missing.append(name)
            continue
        with open(txt, encoding="utf-8") as f:
            found = [line.strip() for line in f if line.strip()]
        if not found:
            empty.append(os.path.basename(txt))
        lines.append(found)
    for what, bad in (
        ("images have no caption file (NAME.txt)", missing),
        ("caption files hold no caption", empty),
    ):
        if bad:
            shown = ", ".join(bad[:5]) + (
                f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            )
            raise DataError(
                f"{path}: {len(bad)} of {len(names)} {what}: {shown} "
                "(data.captions=files reads one caption per line)"
            )
    return lines
