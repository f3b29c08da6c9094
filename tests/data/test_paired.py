"""The paired `fashion_edges` and unpaired `fashion_domains` sources: Sobel edge maps against
SciPy, the declared keys, load from (hand-written) IDX files, flips that keep pairs aligned,
independent shuffles of unpaired domains, and pair-aware grids."""

import gzip
import struct

import ml_collections
import numpy as np
import pytest
from scipy import ndimage

from v101jax.core.errors import ConfigError, DataError
from v101jax.data import (
    BatchIterator,
    batch_spec,
    edges,
    example_batch,
    is_paired,
    is_unpaired,
    load_dataset,
    real_images,
)
from v101jax.training import images


def _data_cfg(source="fashion_edges", directory="", split="train", domains=(7, 9)):
    return ml_collections.ConfigDict(
        {
            "source": source,
            "fashion_mnist_dir": directory,
            "split": split,
            "domain_classes": domains,
            "pad": 0,
        }
    )


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 8, array.ndim)
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_sobel_magnitude_matches_scipy_per_image():
    rng = np.random.default_rng(0)
    stack = rng.integers(0, 256, (3, 12, 10, 1)).astype(np.uint8)
    got = edges.sobel_magnitude(stack)
    assert got.shape == stack.shape and got.dtype == np.float32
    for image, magnitude in zip(stack[..., 0] / 255.0, got[..., 0], strict=True):
        # One image at a time (ndimage.sobel smooths over every other axis of its input).
        want = np.hypot(
            ndimage.sobel(image, axis=1, mode="nearest"),
            ndimage.sobel(image, axis=0, mode="nearest"),
        )
        np.testing.assert_allclose(magnitude, want, atol=1e-5)


def test_edge_map_of_a_step_marks_the_two_columns_beside_it():
    step = np.zeros((1, 6, 6, 1), np.uint8)
    step[:, :, 3:] = 255  # dark | bright: Sobel gives 4 on columns 2 and 3, 0 elsewhere
    edge = edges.edge_maps(step)[0, :, :, 0]
    want = np.full((6, 6), -1.0, np.float32)
    want[:, 2:4] = 1.0
    np.testing.assert_array_equal(edge, want)


def test_paired_source_declares_source_target_and_label():
    cfg = _data_cfg()
    assert is_paired(cfg) and not is_paired(_data_cfg("fashion_mnist"))
    spec = batch_spec(cfg)
    assert sorted(spec) == ["label", "source", "target"]
    assert spec["source"][0] == spec["target"][0] == (28, 28, 1)
    data = {"source": np.zeros(2), "target": np.ones(2), "x": np.full(2, 2.0)}
    np.testing.assert_array_equal(real_images(cfg, data), np.ones(2))
    np.testing.assert_array_equal(
        real_images(_data_cfg("fashion_mnist"), data), data["x"]
    )
    assert example_batch(cfg, 3)["source"].shape == (3, 28, 28, 1)


def test_load_pairs_each_image_with_its_edge_map(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", pixels)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(5))
    data = load_dataset(_data_cfg(directory=str(tmp_path), split="test"))
    plain = load_dataset(
        _data_cfg("fashion_mnist", directory=str(tmp_path), split="test")
    )
    np.testing.assert_array_equal(data["target"], plain["x"])
    np.testing.assert_array_equal(data["label"], np.arange(5))
    np.testing.assert_array_equal(data["source"], edges.edge_maps(pixels[..., None]))
    assert set(np.unique(data["source"])) <= {-1.0, 1.0}


def test_unpaired_source_splits_fashion_mnist_by_class(tmp_path):
    rng = np.random.default_rng(2)
    labels = np.array([7, 9, 1, 7, 9, 9, 0, 7, 9])
    pixels = rng.integers(0, 256, (len(labels), 28, 28)).astype(np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", pixels)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    cfg = _data_cfg("fashion_domains", directory=str(tmp_path), split="test")
    assert is_unpaired(cfg) and not is_paired(cfg)
    assert sorted(batch_spec(cfg)) == ["a", "b"]
    data = load_dataset(cfg)
    unit = pixels[..., None].astype(np.float32) / 127.5 - 1.0
    np.testing.assert_array_equal(data["a"], unit[labels == 7])  # 3 sneakers
    np.testing.assert_array_equal(data["b"], unit[labels == 9])  # 4 ankle boots
    np.testing.assert_array_equal(
        real_images(cfg, data), np.concatenate([unit[labels == 7], unit[labels == 9]])
    )
    with pytest.raises(ConfigError, match="domain_classes"):
        load_dataset(_data_cfg("fashion_domains", str(tmp_path), "test", (7, 7)))


def test_unpaired_domains_are_shuffled_independently_and_resume_exactly():
    """Domains of different sizes (12 and 20 images, batch 4): each sees every image once
    per its own epoch, the A–B pairings change between epochs, and the batch of a step is a
    function of (seed, step) only."""
    dataset = {"a": np.arange(12.0), "b": 100.0 + np.arange(20.0)}
    it = BatchIterator(dataset, global_batch_size=4, seed=3, independent=True)
    try:
        batches = [next(it) for _ in range(15)]  # 5 epochs of A, 3 of B
    finally:
        it.close()
    for e in range(5):
        seen = np.concatenate([b["a"] for b in batches[3 * e : 3 * e + 3]])
        np.testing.assert_array_equal(np.sort(seen), dataset["a"])
    for e in range(3):
        seen = np.concatenate([b["b"] for b in batches[5 * e : 5 * e + 5]])
        np.testing.assert_array_equal(np.sort(seen), dataset["b"])
    # Equal sizes: one shared shuffle would keep every b == a + 100 next to its a.
    same = {"a": np.arange(12.0), "b": 100.0 + np.arange(12.0)}
    it = BatchIterator(same, global_batch_size=4, seed=3, independent=True)
    try:
        aligned = [
            np.mean(b["b"] == b["a"] + 100) for b in (next(it) for _ in range(9))
        ]
    finally:
        it.close()
    assert np.mean(aligned) < 0.3
    resumed = BatchIterator(
        dataset, global_batch_size=4, seed=3, independent=True, start_step=7
    )
    try:
        for want in batches[7:10]:
            got = next(resumed)
            for k in want:
                np.testing.assert_array_equal(got[k], want[k])
    finally:
        resumed.close()


def test_random_flip_mirrors_source_and_target_together():
    n = 32
    rng = np.random.default_rng(0)
    source = rng.standard_normal((n, 4, 5, 1)).astype(np.float32)
    dataset = {"source": source, "target": -source, "label": np.arange(n)}
    it = BatchIterator(dataset, global_batch_size=16, seed=0, random_flip=True)
    try:
        batches = [next(it) for _ in range(4)]
    finally:
        it.close()
    flipped = 0
    for batch in batches:
        np.testing.assert_array_equal(batch["target"], -batch["source"])
        for img, label in zip(batch["source"], batch["label"], strict=True):
            if not np.array_equal(img, source[label]):
                np.testing.assert_array_equal(img, source[label][:, ::-1])
                flipped += 1
    assert 0 < flipped < 64


def test_arrays_of_different_lengths_are_a_data_error():
    dataset = {"source": np.zeros((4, 2, 2, 1)), "target": np.zeros((3, 2, 2, 1))}
    with pytest.raises(DataError, match="differ in length"):
        BatchIterator(dataset, global_batch_size=2, seed=0)


def test_grid_shows_image_inputs_beside_their_samples_and_ignores_labels():
    samples = np.full((4, 3, 3, 1), 1.0, np.float32)  # white outputs
    sources = np.full((4, 3, 3, 1), -1.0, np.float32)  # black inputs
    plain = images.samples_to_picture(samples)
    assert plain.shape == (2 * 4 + 1, 2 * 4 + 1, 1)  # 2×2 grid of 3×3 tiles, 1 px pads
    labelled = images.samples_to_picture(samples, inputs={"labels": np.arange(4)})
    np.testing.assert_array_equal(labelled, plain)
    paired = images.samples_to_picture(samples, inputs={"source": sources})
    assert paired.shape == (2 * 4 + 1, 4 * 4 + 1, 1)  # rows of source | output pairs
    tile = lambda r, c: paired[1 + 4 * r : 4 + 4 * r, 1 + 4 * c : 4 + 4 * c, 0]
    for r in range(2):
        assert (tile(r, 0) == 0).all() and (tile(r, 1) == 255).all()
        assert (tile(r, 2) == 0).all() and (tile(r, 3) == 255).all()
