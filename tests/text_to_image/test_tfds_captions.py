"""data.captions=tfds reads a COCO-captions-shaped TFDS set (images with a variable number of
captions each, under "captions/text") into the same images, captions, descriptions and
vocabulary as the same images and captions in a folder of caption files (data.captions=files)."""

import numpy as np
import pytest
from PIL import Image

from configs import base
from v101jax.core.errors import ConfigError, DataError
from v101jax.data import load_dataset, pipeline

tfds = pytest.importorskip("tensorflow_datasets")

CAPTIONS = {
    "train": [
        ["A red square.", "a square that is red"],
        ["a blue circle"],
        ["A red square.", "a square that is red", "red, square"],
    ],
    "test": [["a green triangle", "a blue circle"]],
}


def _images(n, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (12, 12, 3), dtype=np.uint8) for _ in range(n)]


def _data(**fields):
    data = base.get_base_config().data
    data.image_size, data.channels, data.captions_per_image = 8, 3, 2
    for k, v in fields.items():
        data[k] = v
    return data


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("captioned")
    features = tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(shape=(12, 12, 3)),
            "captions": tfds.features.Sequence({"text": tfds.features.Text()}),
        }
    )
    images = {
        split: _images(len(c), i) for i, (split, c) in enumerate(CAPTIONS.items())
    }

    def examples(split):
        for i, (image, own) in enumerate(zip(images[split], CAPTIONS[split])):
            yield i, {"image": image, "captions": {"text": own}}

    tfds.dataset_builders.store_as_tfds_dataset(
        name="coco_captions_like",
        version="1.0.0",
        features=features,
        split_datasets={split: examples(split) for split in CAPTIONS},
        data_dir=str(root / "tfds"),
        file_format="tfrecord",
    )
    for split, own_images in images.items():
        folder = root / "folder" / split
        folder.mkdir(parents=True)
        for i, (image, own) in enumerate(zip(own_images, CAPTIONS[split])):
            Image.fromarray(image).save(folder / f"{i:03d}.png")
            (folder / f"{i:03d}.txt").write_text("\n".join(own) + "\n")
    tfds_fields = {
        "source": "tfds",
        "captions": "tfds",
        "tfds_name": "coco_captions_like",
        "tfds_data_dir": str(root / "tfds"),
        "tfds_download": False,
    }
    folder_fields = {
        "source": "image_folder",
        "captions": "files",
        "folder": str(root / "folder"),
    }
    return tfds_fields, folder_fields


@pytest.mark.parametrize("split", ["train", "test"])
def test_tfds_captions_read_as_the_same_caption_files(sets, split):
    tfds_fields, folder_fields = sets
    from_tfds = load_dataset(_data(split=split, **tfds_fields))
    from_folder = load_dataset(_data(split=split, **folder_fields))
    assert from_tfds["captions"].shape == (len(CAPTIONS[split]), 2, 12)
    for key in ("x", "captions", "description"):
        np.testing.assert_array_equal(from_tfds[key], from_folder[key])
    vocabulary = pipeline.caption_vocabulary(_data(split=split, **tfds_fields))
    assert vocabulary == pipeline.caption_vocabulary(_data(**folder_fields))
    assert {"red", "square", "blue", "circle", ","} <= set(vocabulary)
    assert "green" not in vocabulary  # the train split's words only
    if split == "train":
        # Images 0 and 2 say the same (the third caption is cut: 2 per image); 1 differs.
        d = from_tfds["description"]
        assert d[0] == d[2] != d[1]


def test_a_missing_caption_feature_or_source_is_named(sets):
    tfds_fields, _ = sets
    with pytest.raises(DataError, match=r"'captions/title' is not a feature.*text"):
        load_dataset(_data(**{**tfds_fields, "tfds_caption_key": "captions/title"}))
    with pytest.raises(ConfigError, match="data.source='tfds'"):
        load_dataset(_data(**{**tfds_fields, "source": "image_folder"}))
