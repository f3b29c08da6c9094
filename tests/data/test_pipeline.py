"""The batch iterator's determinism, resumption and sharding, and dataset loading by source."""

import contextlib
import itertools

import numpy as np
import pytest

from configs.base import get_base_config
from v101jax.core.errors import ConfigError
from v101jax.data import pipeline, toy
from v101jax.data.pipeline import BatchIterator, load_dataset


def _dataset(n: int = 50) -> dict:
    """Example i is x = [i, i + 0.5, -i] with label i % 7, so batches reveal their indices."""
    i = np.arange(n, dtype=np.float32)
    return {
        "x": np.stack([i, i + 0.5, -i], axis=1),
        "label": (np.arange(n) % 7).astype(np.int32),
    }


def _ids(batch) -> np.ndarray:
    return batch["x"][..., 0].astype(np.int64)


def _take(n: int, dataset=None, **kwargs) -> list:
    """The first n items of a BatchIterator built with kwargs (closed afterwards)."""
    dataset = _dataset() if dataset is None else dataset
    with contextlib.closing(BatchIterator(dataset, **kwargs)) as it:
        return list(itertools.islice(it, n))


def _assert_batches_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])


def test_batches_are_consistent_rows_of_the_dataset():
    (batch,) = _take(1, global_batch_size=8, seed=0)
    assert batch["x"].shape == (8, 3) and batch["x"].dtype == np.float32
    assert batch["label"].shape == (8,) and batch["label"].dtype == np.int32
    ids = _ids(batch)
    np.testing.assert_array_equal(batch["x"][:, 1], ids + 0.5)
    np.testing.assert_array_equal(batch["x"][:, 2], -ids)
    np.testing.assert_array_equal(batch["label"], ids % 7)


def test_same_seed_gives_identical_batches_and_other_seed_differs():
    a = _take(12, global_batch_size=8, seed=3)
    b = _take(12, global_batch_size=8, seed=3)
    _assert_batches_equal(a, b)
    c = _take(12, global_batch_size=8, seed=4)
    assert any(not np.array_equal(_ids(x), _ids(y)) for x, y in zip(a, c))


def test_resume_from_start_step_matches_a_fresh_run():
    fresh = _take(20, global_batch_size=8, seed=1)
    resumed = _take(13, global_batch_size=8, seed=1, start_step=7)
    _assert_batches_equal(resumed, fresh[7:])


def test_each_epoch_visits_every_kept_example_once_and_epochs_are_reshuffled():
    n, b = 50, 8
    steps_per_epoch = n // b  # 6 steps, 48 examples; 2 are dropped each epoch
    batches = _take(3 * steps_per_epoch, global_batch_size=b, seed=0)
    epochs = [
        np.concatenate(
            [_ids(x) for x in batches[e * steps_per_epoch : (e + 1) * steps_per_epoch]]
        )
        for e in range(3)
    ]
    for order in epochs:
        assert len(order) == steps_per_epoch * b
        assert len(np.unique(order)) == len(order)
        assert set(order) <= set(range(n))
    assert not np.array_equal(epochs[0], epochs[1])
    assert not np.array_equal(epochs[1], epochs[2])
    # The documented rule: epoch e is default_rng([seed, e]).permutation(n), remainder dropped.
    for e, order in enumerate(epochs):
        np.testing.assert_array_equal(
            order, np.random.default_rng([0, e]).permutation(n)[:48]
        )


def test_processes_get_disjoint_slices_that_concatenate_to_the_global_batch():
    kwargs = {"global_batch_size": 8, "seed": 5}
    single = _take(9, **kwargs)
    p0 = _take(9, process_index=0, process_count=2, **kwargs)
    p1 = _take(9, process_index=1, process_count=2, **kwargs)
    for g, a, b in zip(single, p0, p1):
        assert a["x"].shape == (4, 3) and b["x"].shape == (4, 3)
        assert not set(_ids(a)) & set(_ids(b))
        for k in g:
            np.testing.assert_array_equal(np.concatenate([a[k], b[k]]), g[k])


def test_steps_per_call_stacks_consecutive_steps():
    kwargs = {"global_batch_size": 8, "seed": 2}
    single = _take(12, **kwargs)
    stacked = _take(4, steps_per_call=3, **kwargs)
    for i, item in enumerate(stacked):
        assert item["x"].shape == (3, 8, 3)
        assert item["label"].shape == (3, 8)
        for j in range(3):
            for k in item:
                np.testing.assert_array_equal(item[k][j], single[3 * i + j][k])


def test_steps_per_call_resumes_at_start_step():
    single = _take(10, global_batch_size=8, seed=2)
    (item,) = _take(1, global_batch_size=8, seed=2, steps_per_call=3, start_step=5)
    for j in range(3):
        np.testing.assert_array_equal(item["x"][j], single[5 + j]["x"])


def test_random_flip_mirrors_the_width_axis_of_some_images():
    n = 32
    rng = np.random.default_rng(0)
    images = rng.standard_normal((n, 4, 5, 2)).astype(np.float32)
    images[:, 0, 0, 0] = np.arange(n)  # the id survives a flip along width at [0, 4, 0]
    dataset = {"x": images, "label": np.zeros(n, np.int32)}
    batches = _take(4, dataset, global_batch_size=16, seed=0, random_flip=True)
    flipped = kept = 0
    for batch in batches:
        for img in batch["x"]:
            as_is, mirrored = (
                img[0, 0, 0],
                img[0, 4, 0],
            )  # where the id sits if kept / flipped
            if (
                as_is == int(as_is)
                and 0 <= as_is < n
                and np.array_equal(img, images[int(as_is)])
            ):
                kept += 1
            else:
                np.testing.assert_array_equal(img, images[int(mirrored)][:, ::-1, :])
                flipped += 1
    assert kept > 0 and flipped > 0
    assert kept + flipped == 64


def test_transform_is_applied_and_its_errors_surface_on_next():
    items = _take(
        2, global_batch_size=8, seed=0, transform=lambda b: {"n": len(b["x"])}
    )
    assert items == [{"n": 8}, {"n": 8}]

    def boom(_):
        raise RuntimeError("transfer failed")

    it = BatchIterator(_dataset(), global_batch_size=8, seed=0, transform=boom)
    with contextlib.closing(it), pytest.raises(RuntimeError, match="transfer failed"):
        next(it)


def test_batch_larger_than_dataset_raises_config_error():
    with pytest.raises(ConfigError, match="batch_size"):
        BatchIterator(_dataset(10), global_batch_size=11, seed=0)


def test_batch_not_divisible_by_process_count_raises_config_error():
    with pytest.raises(ConfigError, match="batch_size"):
        BatchIterator(_dataset(), global_batch_size=9, seed=0, process_count=2)


def _data_cfg(source: str, split: str = "train", **overrides):
    cfg = get_base_config().data
    cfg.source = source
    cfg.split = split
    for k, v in overrides.items():
        cfg[k] = v
    return cfg


def test_ring_points_lie_on_balanced_modes():
    cfg = _data_cfg("ring", num_points=4000)
    data = load_dataset(cfg)
    x, labels = data["x"], data["label"]
    assert x.shape == (4000, 2) and x.dtype == np.float32
    assert labels.shape == (4000,) and labels.dtype == np.int32
    nearest, within = toy.mode_assignment(x, toy.ring_centers(), cfg.toy_std)
    # A 2-D Gaussian lies within 3 std with probability 1 − exp(−9/2) ≈ 0.989.
    assert within.mean() > 0.95
    fractions = np.bincount(nearest, minlength=8) / len(x)
    assert fractions.shape == (8,)
    np.testing.assert_allclose(fractions, 0.125, atol=0.03)
    # Labels name the mode each point was drawn from.
    assert (nearest == labels).mean() > 0.99


def test_ring_centres_are_eight_points_on_the_radius_two_circle():
    centers = toy.ring_centers()
    assert centers.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0, rtol=1e-6)
    np.testing.assert_allclose(centers[2], [0.0, 2.0], atol=1e-6)


def test_toy_train_and_test_splits_differ():
    train = load_dataset(_data_cfg("ring", "train", num_points=100))
    test = load_dataset(_data_cfg("ring", "test", num_points=100))
    assert not np.allclose(train["x"], test["x"])


def test_digits_splits_partition_the_sklearn_set_in_unit_range():
    from sklearn.datasets import load_digits

    train = load_dataset(_data_cfg("digits", "train"))
    test = load_dataset(_data_cfg("digits", "test"))
    for d in (train, test):
        assert d["x"].shape[1:] == (8, 8, 1)
        assert d["x"].dtype == np.float32
        assert d["x"].min() >= -1.0 and d["x"].max() <= 1.0
        assert len(d["x"]) == len(d["label"])
    assert len(train["x"]) + len(test["x"]) == 1797
    assert 300 <= len(test["x"]) <= 400
    assert train["x"].min() == -1.0 and train["x"].max() == 1.0  # pixel values 0 and 16

    # Undo the [0, 16] → [-1, 1] map and compare (image, label) rows with sklearn's as multisets:
    # equal multisets with sizes summing to 1797 means the splits partition the set.
    def rows(pixels, labels):
        table = np.concatenate(
            [pixels.reshape(len(pixels), 64), labels[:, None]], axis=1
        )
        return table[np.lexsort(table.T[::-1])]

    digits = load_digits()
    x = np.concatenate([train["x"], test["x"]]).astype(np.float64)
    got = rows(
        np.rint((x + 1.0) * 8.0), np.concatenate([train["label"], test["label"]])
    )
    want = rows(digits.images.astype(np.float64), digits.target)
    np.testing.assert_array_equal(got, want)


def test_unknown_source_raises_config_error_naming_the_field():
    with pytest.raises(ConfigError, match=r"data\.source"):
        load_dataset(_data_cfg("imagenet"))


def test_sample_shape_per_source():
    assert pipeline.sample_shape(_data_cfg("fashion_mnist")) == (28, 28, 1)
    assert pipeline.sample_shape(_data_cfg("digits")) == (8, 8, 1)
    assert pipeline.sample_shape(_data_cfg("moons")) == (2,)
    assert pipeline.sample_shape(_data_cfg("tfds", image_size=32, channels=3)) == (
        32,
        32,
        3,
    )


def test_pad_adds_background_around_every_image():
    plain = load_dataset(_data_cfg("digits", "test"))
    padded_cfg = _data_cfg("digits", "test", pad=3)
    padded = load_dataset(padded_cfg)
    assert pipeline.sample_shape(padded_cfg) == (14, 14, 1)
    assert padded["x"].shape == plain["x"].shape[:1] + (14, 14, 1)
    np.testing.assert_array_equal(padded["x"][:, 3:-3, 3:-3], plain["x"])
    border = np.ones((14, 14), bool)
    border[3:-3, 3:-3] = False
    np.testing.assert_array_equal(padded["x"][:, border], -1.0)
    np.testing.assert_array_equal(padded["label"], plain["label"])


def test_pad_is_refused_for_points_and_negative_values():
    with pytest.raises(ConfigError, match=r"data\.pad"):
        pipeline.sample_shape(_data_cfg("ring", pad=2))
    with pytest.raises(ConfigError, match=r"data\.pad"):
        load_dataset(_data_cfg("digits", pad=-1))
