"""Fashion-MNIST read directly from gzipped IDX files (Debian's `dataset-fashion-mnist`).

TFDS's manual-download path rejects those files (they are re-gzipped, so checksums differ),
so the IDX format is parsed here: a big-endian header of magic, dimension sizes, then uint8.
"""

import gzip
import os
import struct
import zlib

import numpy as np

from v101jax.core.errors import DataError

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
INSTALL_HINT = "install it with: sudo apt-get install dataset-fashion-mnist"


def read_idx(path: str) -> np.ndarray:
    """Parses one (optionally gzipped) IDX file into a uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read IDX file {path}: {e}") from e
    if len(data) < 4:
        raise DataError(f"{path} is not an IDX file (too short)")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DataError(f"{path} is not a uint8 IDX file (magic {data[:4].hex()})")
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path} is not an IDX file (header cut short)")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DataError(
            f"{path}: header says {dims} but holds {body.size} values (truncated?)"
        )
    return body.reshape(dims)


def load(directory: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Returns (images uint8 [N, 28, 28, 1], labels int32 [N]) of `split` (train | test)."""
    if split not in _FILES:
        raise DataError(
            f"data.split={split!r}: Fashion-MNIST has splits {sorted(_FILES)}"
        )
    image_file, label_file = (os.path.join(directory, f) for f in _FILES[split])
    for path in (image_file, label_file):
        if not os.path.exists(path):
            raise DataError(
                f"Fashion-MNIST file {path} not found (data.fashion_mnist_dir={directory!r}); "
                + INSTALL_HINT
            )
    images = read_idx(image_file)
    labels = read_idx(label_file).astype(np.int32)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{image_file} and {label_file} hold different numbers of examples"
        )
    return images[..., None], labels
