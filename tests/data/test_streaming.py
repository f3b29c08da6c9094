"""Streamed image folders (data.streaming): the batches, a resumed run's batches and each
process's slices equal the in-memory pipeline's; each batch decodes only its own files;
data.pad applies; a run trains from a streamed folder."""

import numpy as np
import pytest
from PIL import Image

from configs import base
from tests.data import streamed_data
from v101jax.core.errors import ConfigError
from v101jax.data import BatchIterator, folders, load_dataset, streaming

NUM_IMAGES = 40


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """NUM_IMAGES RGB photos-to-be of assorted sizes (resized on reading) in ROOT/train/."""
    root = tmp_path_factory.mktemp("images")
    (root / "train").mkdir()
    rng = np.random.default_rng(0)
    for i in range(NUM_IMAGES):
        h, w = rng.integers(6, 20, size=2)
        image = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(image).save(root / "train" / f"{i:03d}.png")
    return root


def _data_cfg(folder, **fields):
    return streamed_data.data_config(
        source="image_folder", folder=str(folder), **fields
    )


def _batches(dataset, steps, **kw):
    return streamed_data.batches(dataset, steps, seed=3, **kw)


def test_streamed_batches_equal_the_in_memory_ones_across_epochs(folder):
    whole = load_dataset(_data_cfg(folder))
    streamed = load_dataset(_data_cfg(folder, streaming=True))
    assert isinstance(streamed["x"], streaming.LazyImages)
    assert streamed["x"].shape == whole["x"].shape == (NUM_IMAGES, 8, 8, 3)
    # 12 steps of 8 from 40 images: two epochs and a half, flips included.
    for a, b in zip(_batches(whole, 12), _batches(streamed, 12), strict=True):
        np.testing.assert_array_equal(a["x"], b["x"])
        np.testing.assert_array_equal(a["label"], b["label"])


def test_a_resumed_stream_continues_where_the_unbroken_one_is(folder):
    streamed = load_dataset(_data_cfg(folder, streaming=True))
    unbroken = _batches(streamed, 9)
    resumed = _batches(streamed, 4, start_step=5)
    for a, b in zip(unbroken[5:], resumed, strict=True):
        np.testing.assert_array_equal(a["x"], b["x"])


def test_each_process_decodes_only_its_own_rows(folder, monkeypatch):
    opened = []
    reader = folders.image_reader

    def recording_reader(path, shape):
        read, n = reader(path, shape)

        def read_and_record(i):
            opened.append(i)
            return read(i)

        return read_and_record, n

    monkeypatch.setattr(folders, "image_reader", recording_reader)
    # In-thread decoding (0 workers), so that the recording reader sees every read.
    streamed = load_dataset(_data_cfg(folder, streaming=True, stream_workers=0))
    whole = load_dataset(_data_cfg(folder))
    seen = []
    for p in range(2):
        opened.clear()
        batch = _batches(streamed, 1, process_index=p, process_count=2, prefetch=1)[0]
        it = BatchIterator(
            whole, global_batch_size=8, seed=3, process_index=p, process_count=2
        )
        rows = it.indices(0)
        it.close()
        np.testing.assert_array_equal(
            batch["x"], _batches(whole, 1, process_index=p, process_count=2)[0]["x"]
        )
        # The first reads are this process's rows of step 0 (the prefetching thread then
        # reads ahead).
        first = set(opened[: len(rows)])
        assert first == set(rows.tolist())
        seen.append(first)
    assert not seen[0] & seen[1]


def test_pad_and_slices_of_a_stream(folder):
    whole = load_dataset(_data_cfg(folder, pad=2))
    streamed = load_dataset(_data_cfg(folder, pad=2, streaming=True))
    assert streamed["x"].shape == whole["x"].shape == (NUM_IMAGES, 12, 12, 3)
    np.testing.assert_array_equal(streamed["x"][3:7], whole["x"][3:7])
    np.testing.assert_array_equal(streamed["x"][5], whole["x"][5])
    np.testing.assert_array_equal(np.asarray(streamed["x"]), whole["x"])
    assert float(whole["x"][:, :2].max()) == -1.0  # the border is background


def test_streaming_another_source_is_refused():
    cfg = base.get_base_config().data
    cfg.streaming = True
    with pytest.raises(ConfigError, match="data.streaming"):
        load_dataset(cfg)
