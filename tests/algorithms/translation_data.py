"""Shared by the translation tests: a tiny Fashion-MNIST in IDX format, small eval settings
and the fast-compiling threefry."""

import gzip
import struct

import numpy as np

from tests.keys import (  # noqa: F401 - re-exported; the fixture is autouse
    fast_compiling_keys,
    fast_compiling_keys_fixture,
)

SMALL_EVAL = {
    "eval.every_steps": 2,
    "eval.num_samples": 8,
    "eval.batch_size": 4,
    "eval.kid_subsets": 2,
    "eval.kid_subset_size": 4,
    "eval.is_splits": 2,
}


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def tiny_fashion_mnist(directory, num_classes: int = 10):
    """Fashion-MNIST-format IDX files of 48 training and 16 test images (random garments)
    labelled 0, 1, …, num_classes − 1 in turn: the loop's data path without loading and
    scoring the real 70,000 images."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 48), ("t10k", 16)):
        pixels = np.zeros((n, 28, 28), np.uint8)
        pixels[:, 6:22, 8:20] = rng.integers(80, 256, (n, 16, 12))  # a bright block
        write_idx(directory / f"{split}-images-idx3-ubyte.gz", pixels)
        write_idx(
            directory / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % num_classes
        )
