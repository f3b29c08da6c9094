"""photo_set=tfds reads a DIV2K-shaped TFDS set (high-resolution images under "hr") into the
same crops and degraded crops as the same photos in a folder (photo_set=folder); a set TFDS
cannot load offline is one DataError from each whole-split reader (photos, images, captions)."""

import numpy as np
import pytest
import skimage.data
from PIL import Image

from configs import base
from v101jax.data import load_dataset

tfds = pytest.importorskip("tensorflow_datasets")


def _photos():
    """Real photos of assorted sizes (parts of bundled ones)."""
    return [
        skimage.data.astronaut()[:90, :120],
        skimage.data.coffee()[100:172, 200:299],
        skimage.data.rocket()[:66, :81],
    ]


def _config(**fields):
    config = base.get_base_config()
    data = config.data
    data.source = "photo_pairs"
    data.image_size, data.crop_stride, data.channels, data.downscale = 24, 20, 3, 3
    for k, v in fields.items():
        data[k] = v
    return data


def test_tfds_hr_images_give_the_folders_crops(tmp_path):
    photos = _photos()
    features = tfds.features.FeaturesDict(
        {
            "hr": tfds.features.Image(shape=(None, None, 3)),
            "lr": tfds.features.Image(shape=(None, None, 3)),
        }
    )

    def examples():
        for i, photo in enumerate(photos):
            small = np.asarray(Image.fromarray(photo).resize((10, 10)))
            yield i, {"hr": photo, "lr": small}

    tfds.dataset_builders.store_as_tfds_dataset(
        name="div2k_like",
        version="1.0.0",
        features=features,
        split_datasets={"train": examples()},
        data_dir=str(tmp_path / "tfds"),
        file_format="tfrecord",
    )
    (tmp_path / "folder" / "train").mkdir(parents=True)
    for i, photo in enumerate(photos):
        Image.fromarray(photo).save(tmp_path / "folder" / "train" / f"{i}.png")
    from_tfds = load_dataset(
        _config(
            photo_set="tfds",
            tfds_name="div2k_like",
            tfds_data_dir=str(tmp_path / "tfds"),
            tfds_download=False,
        )
    )
    from_folder = load_dataset(
        _config(photo_set="folder", folder=str(tmp_path / "folder"))
    )
    assert len(from_tfds["target"]) > len(photos)  # several crops per photo
    for key in ("source", "target"):
        np.testing.assert_array_equal(from_tfds[key], from_folder[key])


def test_a_set_tfds_cannot_load_is_one_error_naming_it_and_the_offline_choice(tmp_path):
    """Every whole-split TFDS read (photos, images, captions) reports a set that is not
    prepared offline as a DataError naming the set, the split and what to use instead."""
    from v101jax.core.errors import DataError
    from v101jax.data import pipeline

    missing = {
        "tfds_name": "no_such_set_here",
        "tfds_data_dir": str(tmp_path / "empty"),
        "tfds_download": False,
    }
    with pytest.raises(
        DataError, match=r"'no_such_set_here' split 'train'.*photo_set="
    ):
        load_dataset(_config(photo_set="tfds", **missing))
    config = base.get_base_config()
    data = config.data
    data.source, data.image_size, data.channels = "tfds", 8, 1
    for k, v in missing.items():
        data[k] = v
    with pytest.raises(
        DataError, match=r"'no_such_set_here' split 'train'.*fashion_mnist"
    ):
        load_dataset(data)
    # The caption reader on its own (load_dataset reads the images first).
    with pytest.raises(
        DataError, match=r"'no_such_set_here' split 'test'.*fashion_mnist"
    ):
        pipeline._tfds_captions(data, "test")
