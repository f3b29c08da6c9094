"""The user's own translation data: pix2pix's A | B folders, CycleGAN's trainA/trainB folders,
and TFDS two-domain sets (cycle_gan/*), loaded through `load_dataset`."""

import numpy as np
import pytest
from PIL import Image

from configs import base
from v101jax.core.errors import ConfigError, DataError
from v101jax.data import folders, pipeline
from v101jax.metrics import reference


def _data_cfg(source, **fields):
    cfg = base.get_base_config().data
    cfg.source = source
    for k, v in fields.items():
        cfg[k] = v
    return cfg


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _pair_files(folder, n, size):
    """n side-by-side A | B files of grey size×size halves: A a flat level, B a ramp that
    starts at that level; returns the halves as uint8 arrays."""
    a, b = [], []
    for i in range(n):
        left = np.full((size, size), 20 * i, np.uint8)
        right = (np.add.outer(np.arange(size), np.arange(size)) * 3 + 20 * i).astype(
            np.uint8
        )
        _write(folder / f"{i:03d}.png", np.concatenate([left, right], axis=1))
        a.append(left)
        b.append(right)
    return np.stack(a)[..., None], np.stack(b)[..., None]


def test_aligned_pairs_split_into_halves_and_directions_swap(tmp_path):
    a, b = _pair_files(tmp_path / "train", 3, 16)
    got_a, got_b = folders.read_aligned_pairs(str(tmp_path / "train"), (16, 16, 1))
    np.testing.assert_array_equal(got_a, a)
    np.testing.assert_array_equal(got_b, b)

    cfg = _data_cfg("paired_folder", folder=str(tmp_path), image_size=16)
    data = pipeline.load_dataset(cfg)
    assert set(data) == set(pipeline.batch_spec(cfg))
    np.testing.assert_allclose(data["source"], a / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_allclose(data["target"], b / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(data["label"], np.zeros(3, np.int32))
    cfg.direction = "BtoA"
    swapped = pipeline.load_dataset(cfg)
    np.testing.assert_array_equal(swapped["source"], data["target"])
    np.testing.assert_array_equal(swapped["target"], data["source"])


def test_folder_images_are_resized_and_converted_like_pil(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3), np.uint8)
    _write(tmp_path / "x" / "b.png", rgb)
    _write(tmp_path / "x" / "a.png", rgb[::-1])
    (tmp_path / "x" / "notes.txt").write_text("not an image")
    images, names = folders.read_image_folder(str(tmp_path / "x"), (8, 8, 1))
    assert names == ["a", "b"]  # name order; other files skipped
    want = np.asarray(
        Image.fromarray(rgb).convert("L").resize((8, 8), Image.BICUBIC), np.uint8
    )
    np.testing.assert_array_equal(images[1, ..., 0], want)
    assert images.shape == (2, 8, 8, 1)


def test_unpaired_folder_reads_both_domains_of_the_split(tmp_path):
    for domain, count in (("A", 3), ("B", 5)):
        for i in range(count):
            level = 10 * i + (0 if domain == "A" else 128)
            _write(
                tmp_path / f"test{domain}" / f"{i}.png",
                np.full((8, 8), level, np.uint8),
            )
    cfg = _data_cfg(
        "unpaired_folder", folder=str(tmp_path), image_size=8, channels=3, split="test"
    )
    data = pipeline.load_dataset(cfg)
    assert data["a"].shape == (3, 8, 8, 3) and data["b"].shape == (5, 8, 8, 3)
    np.testing.assert_allclose(data["b"][4], (128 + 40) / 127.5 - 1.0, atol=1e-6)
    assert pipeline.is_unpaired(cfg) and pipeline.num_classes(cfg) == 2
    assert pipeline.real_images(cfg, data).shape[0] == 8
    with pytest.raises(DataError, match="trainA: no such folder"):
        pipeline.load_dataset(_data_cfg("unpaired_folder", folder=str(tmp_path)))


def test_folder_sources_refuse_bad_settings_with_the_field_named(tmp_path):
    with pytest.raises(ConfigError, match="data.folder"):
        pipeline.load_dataset(_data_cfg("paired_folder"))
    _pair_files(tmp_path / "train", 1, 8)
    with pytest.raises(ConfigError, match="data.direction"):
        pipeline.load_dataset(
            _data_cfg("paired_folder", folder=str(tmp_path), direction="left")
        )
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        folders.read_image_folder(str(tmp_path / "empty"), (8, 8, 1))
    (tmp_path / "train" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        pipeline.load_dataset(
            _data_cfg("paired_folder", folder=str(tmp_path), image_size=8)
        )


def test_reference_tags_tell_folders_and_directions_apart(tmp_path):
    one = _data_cfg("paired_folder", folder=str(tmp_path / "facades"), image_size=256)
    other = _data_cfg(
        "paired_folder", folder=str(tmp_path / "x" / "facades"), image_size=256
    )
    tags = {reference.dataset_tag(c, "test") for c in (one, other)}
    one.direction = "BtoA"
    tags.add(reference.dataset_tag(one, "test"))
    assert len(tags) == 3
    assert all("facades" in t and "256px" in t for t in tags)
    h2z = _data_cfg("tfds_domains", tfds_name="cycle_gan/horse2zebra", image_size=64)
    assert "/" not in reference.dataset_tag(h2z, "test")


def test_tfds_domains_loads_split_a_and_b_resized(monkeypatch):
    """TFDS's mock data (random images of random sizes, as cycle_gan declares) stands in
    for the download: the loader must ask for testA and testB and resize every image."""
    tfds = pytest.importorskip("tensorflow_datasets")
    cfg = _data_cfg(
        "tfds_domains",
        tfds_name="cycle_gan/horse2zebra",
        image_size=16,
        channels=3,
        split="test",
    )
    requested = []
    with tfds.testing.mock_data(
        num_examples=3, policy=tfds.testing.MockPolicy.USE_CODE
    ):
        real_load = tfds.load

        def recording_load(name, split, **kwargs):
            requested.append(split)
            return real_load(name, split=split, **kwargs)

        monkeypatch.setattr(tfds, "load", recording_load)
        data = pipeline.load_dataset(cfg)
    assert requested == ["testA", "testB"]
    assert data["a"].shape == (3, 16, 16, 3) and data["b"].shape == (3, 16, 16, 3)
    assert data["a"].min() >= -1.0 and data["a"].max() <= 1.0
    cfg.channels = 1
    with (
        pytest.raises(ConfigError, match="data.channels=1"),
        tfds.testing.mock_data(num_examples=1, policy=tfds.testing.MockPolicy.USE_CODE),
    ):
        pipeline.load_dataset(cfg)


def test_tfds_fixed_shape_sets_load_in_one_batch_and_resize():
    tfds = pytest.importorskip("tensorflow_datasets")
    cfg = _data_cfg("tfds", tfds_name="fashion_mnist", image_size=14, split="test")
    with tfds.testing.mock_data(
        num_examples=5, policy=tfds.testing.MockPolicy.USE_CODE
    ):
        data = pipeline.load_dataset(cfg)
    assert data["x"].shape == (5, 14, 14, 1) and data["label"].shape == (5,)
    assert data["label"].dtype == np.int32 and data["label"].max() < 10
