"""Streamed TFDS sets (data.source=tfds, data.streaming): a set prepared in TFDS's ArrayRecord
format gives the in-memory pipeline's batches and labels, read record by record in worker
processes; sets that cannot stream are refused with the command that prepares them."""

import numpy as np
import pytest

from tests.data import streamed_data
from v101jax.core.errors import ConfigError
from v101jax.data import load_dataset, streaming

tfds = pytest.importorskip("tensorflow_datasets")

NUM_TRAIN, NUM_TEST = 24, 6


def _examples(n, seed):
    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = rng.integers(6, 14, size=2)
        image = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        yield i, {"image": image, "label": int(rng.integers(0, 5))}


def _store(data_dir, name, file_format):
    features = tfds.features.FeaturesDict(
        {
            "image": tfds.features.Image(shape=(None, None, 3)),
            "label": tfds.features.ClassLabel(num_classes=5),
        }
    )
    tfds.dataset_builders.store_as_tfds_dataset(
        name=name,
        version="1.0.0",
        features=features,
        split_datasets={
            "train": _examples(NUM_TRAIN, 0),
            "test": _examples(NUM_TEST, 1),
        },
        data_dir=str(data_dir),
        file_format=file_format,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A TFDS folder with `assorted_records` (ArrayRecord) and `assorted_tfrecords`
    (TFRecord): RGB images of assorted sizes with class labels."""
    root = tmp_path_factory.mktemp("tfds")
    _store(root, "assorted_records", "array_record")
    _store(root, "assorted_tfrecords", "tfrecord")
    return root


def _data_cfg(data_dir, **fields):
    fields = {"tfds_name": "assorted_records", **fields}
    return streamed_data.data_config(
        source="tfds", tfds_data_dir=str(data_dir), tfds_download=False, **fields
    )


def _batches(dataset, steps, **kw):
    return streamed_data.batches(dataset, steps, seed=5, **kw)


def test_streamed_tfds_batches_equal_the_in_memory_ones(data_dir):
    # The same examples stored as TFRecord files, read whole by tf.data and decoded by
    # TensorFlow: an independent reader of the same set.
    whole = load_dataset(_data_cfg(data_dir, tfds_name="assorted_tfrecords"))
    streamed = load_dataset(_data_cfg(data_dir, streaming=True))
    assert isinstance(streamed["x"], streaming.LazyImages)
    assert isinstance(streamed["label"], streaming.LazyLabels)
    assert streamed["x"].shape == whole["x"].shape == (NUM_TRAIN, 8, 8, 3)
    # Labels are not all one class, so matching them checks record order.
    assert len(set(whole["label"].tolist())) > 1
    np.testing.assert_array_equal(np.asarray(streamed["label"]), whole["label"])
    # 7 steps: past the end of the first epoch (3 steps of 8).
    for a, b in zip(_batches(whole, 7), _batches(streamed, 7), strict=True):
        np.testing.assert_array_equal(a["x"], b["x"])
        np.testing.assert_array_equal(a["label"], b["label"])
    # Read whole, an ArrayRecord set gives the same arrays (TFDS's tf.data reader cannot
    # read ArrayRecord files).
    records_whole = load_dataset(_data_cfg(data_dir))
    assert isinstance(records_whole["x"], np.ndarray)
    np.testing.assert_array_equal(records_whole["x"], whole["x"])
    np.testing.assert_array_equal(records_whole["label"], whole["label"])


def test_a_resumed_tfds_stream_and_each_process_slice(data_dir):
    streamed = load_dataset(_data_cfg(data_dir, streaming=True, stream_workers=0))
    unbroken = _batches(streamed, 5)
    resumed = _batches(streamed, 2, start_step=3)
    for a, b in zip(unbroken[3:], resumed, strict=True):
        np.testing.assert_array_equal(a["x"], b["x"])
    halves = [
        _batches(streamed, 1, process_index=p, process_count=2)[0]["label"]
        for p in range(2)
    ]
    np.testing.assert_array_equal(np.concatenate(halves), unbroken[0]["label"])


def test_the_test_split_and_pad_stream_too(data_dir):
    whole = load_dataset(
        _data_cfg(data_dir, tfds_name="assorted_tfrecords", split="test", pad=2)
    )
    streamed = load_dataset(
        _data_cfg(data_dir, split="test", pad=2, streaming=True, stream_workers=0)
    )
    assert streamed["x"].shape == (NUM_TEST, 12, 12, 3)
    np.testing.assert_array_equal(np.asarray(streamed["x"]), whole["x"])


def test_sets_that_cannot_stream_are_refused_with_the_fix(data_dir):
    with pytest.raises(ConfigError, match="--file_format=array_record"):
        load_dataset(
            _data_cfg(data_dir, tfds_name="assorted_tfrecords", streaming=True)
        )
    with pytest.raises(ConfigError, match="data.channels=1"):
        load_dataset(_data_cfg(data_dir, channels=1, streaming=True))
    with pytest.raises(ConfigError, match="splits"):
        load_dataset(_data_cfg(data_dir, split="validation", streaming=True))
    with pytest.raises(ConfigError, match="not prepared"):
        load_dataset(
            _data_cfg(data_dir, tfds_name="mnist", streaming=True)  # a registered name
        )
