"""Reading an exported .npz of samples back: anything else is a DataError naming the file."""

import numpy as np
import pytest

from v101jax.core.errors import DataError
from v101jax.training.export import load_samples_file

IMAGES = np.zeros((3, 28, 28, 1), np.uint8)


def test_reads_images_and_labels(tmp_path):
    path = tmp_path / "ok.npz"
    np.savez(path, images=IMAGES, labels=np.array([0, 1, 2], np.int32))
    images, labels = load_samples_file(str(path))
    assert images.shape == (3, 28, 28, 1) and images.dtype == np.uint8
    assert labels.tolist() == [0, 1, 2]
    np.savez(path, images=IMAGES)
    assert load_samples_file(str(path))[1] is None


def _write_text(path):
    path.write_text("not images\n")


def _write_npy(path):
    np.save(path, IMAGES)


def _write_corrupt_zip(path):
    np.savez(path, images=IMAGES)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _write_float_images(path):
    np.savez(path, images=IMAGES.astype(np.float32))


def _write_3d_images(path):
    np.savez(path, images=IMAGES[..., 0])


def _write_points_only(path):
    np.savez(path, points=np.zeros((3, 2), np.float32))


def _write_bad_labels(path):
    np.savez(path, images=IMAGES, labels=np.zeros(2, np.int32))


@pytest.mark.parametrize(
    "write, name, says",
    [
        (_write_text, "a.txt", "not a readable .npz"),
        (_write_npy, "a.npy", ".npy array"),
        (_write_corrupt_zip, "a.npz", "not a readable .npz"),
        (_write_float_images, "a.npz", "`images` is float32[3, 28, 28, 1]"),
        (_write_3d_images, "a.npz", "`images` is uint8[3, 28, 28]"),
        (_write_points_only, "a.npz", "holds points"),
        (_write_bad_labels, "a.npz", "`labels` is int32[2]"),
    ],
)
def test_bad_files_are_one_line_data_errors(tmp_path, write, name, says):
    path = tmp_path / name
    write(path)
    with pytest.raises(DataError) as e:
        load_samples_file(str(path))
    message = str(e.value)
    assert str(path) in message and says in message, message
    assert "\n" not in message
    if "labels" not in says:
        assert "uint8 [N, H, W, C]" in message


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_samples_file(str(tmp_path / "nope.npz"))
