"""Fashion-MNIST IDX parsing: the Debian package's files and hand-written IDX files."""

import gzip
import os
import struct

import numpy as np
import pytest

from v101jax.core.errors import DataError
from v101jax.data import fashion_mnist

REAL_DIR = "/usr/share/datasets/fashion-mnist"
needs_real_files = pytest.mark.skipif(
    not os.path.exists(os.path.join(REAL_DIR, "train-labels-idx1-ubyte.gz")),
    reason="dataset-fashion-mnist is not installed",
)


def _idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file written by hand: magic (0, 0x08 = uint8, ndim), big-endian dims, then data."""
    header = struct.pack(">HBB", 0, 8, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write(path, payload: bytes, gz: bool) -> str:
    path = str(path) + (".gz" if gz else "")
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(payload)
    return path


@needs_real_files
def test_real_train_split_shapes_and_class_balance():
    images, labels = fashion_mnist.load(REAL_DIR, "train")
    assert images.shape == (60000, 28, 28, 1)
    assert images.dtype == np.uint8
    assert labels.shape == (60000,)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 6000))
    assert labels.min() == 0 and labels.max() == 9
    # Real pixel data, not zeros: both ends of the uint8 range occur.
    assert images.min() == 0 and images.max() == 255


@needs_real_files
def test_real_test_split_has_10000_examples():
    images, labels = fashion_mnist.load(REAL_DIR, "test")
    assert images.shape == (10000, 28, 28, 1)
    assert labels.shape == (10000,)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), np.full(10, 1000))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 1, 3, 2)])
def test_read_idx_returns_exactly_the_written_array(tmp_path, gz, shape):
    rng = np.random.default_rng(len(shape))
    array = rng.integers(0, 256, size=shape, dtype=np.uint8)
    path = _write(tmp_path / "a.idx", _idx_bytes(array), gz)
    got = fashion_mnist.read_idx(path)
    assert got.dtype == np.uint8
    assert got.shape == shape
    np.testing.assert_array_equal(got, array)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_read_idx_truncated_body_raises_data_error(tmp_path, gz):
    payload = _idx_bytes(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
    path = _write(tmp_path / "a.idx", payload[:-7], gz)
    with pytest.raises(DataError, match="truncated"):
        fashion_mnist.read_idx(path)


def test_read_idx_cut_gzip_stream_raises_data_error(tmp_path):
    compressed = gzip.compress(_idx_bytes(np.arange(200, dtype=np.uint8)))
    path = tmp_path / "a.idx.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataError):
        fashion_mnist.read_idx(str(path))


def test_read_idx_wrong_magic_raises_data_error(tmp_path):
    payload = bytearray(_idx_bytes(np.zeros((2, 2), np.uint8)))
    payload[2] = 0x0D  # float32 type code
    path = _write(tmp_path / "a.idx", bytes(payload), gz=False)
    with pytest.raises(DataError, match="uint8"):
        fashion_mnist.read_idx(path)


def test_read_idx_truncated_header_raises_data_error(tmp_path):
    # The header declares 3 dims but only one follows.
    path = _write(tmp_path / "a.idx", struct.pack(">HBBI", 0, 8, 3, 5), gz=False)
    with pytest.raises(DataError):
        fashion_mnist.read_idx(path)


def test_read_idx_corrupt_gzip_stream_raises_data_error(tmp_path):
    compressed = bytearray(gzip.compress(_idx_bytes(np.arange(100, dtype=np.uint8))))
    compressed[15] ^= 0xFF  # inside the deflate data, past the 10-byte gzip header
    path = tmp_path / "a.idx.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(DataError):
        fashion_mnist.read_idx(str(path))


def test_missing_directory_raises_data_error_with_install_hint(tmp_path):
    missing = str(tmp_path / "no-such-dir")
    with pytest.raises(DataError) as info:
        fashion_mnist.load(missing, "train")
    assert "apt-get install dataset-fashion-mnist" in str(info.value)
    assert missing in str(info.value)


def test_unknown_split_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="validation"):
        fashion_mnist.load(str(tmp_path), "validation")
