"""Streaming feature summaries and the reference-statistics cache."""

import jax
import ml_collections
import numpy as np
import pytest

from v101jax.core.errors import ConfigError
from v101jax.metrics import extractors, reference


def _projection_extractor(identity: str, seed: int = 0):
    """A fixed random projection of 4×4×1 images: fast, and exact to check against."""
    w = np.random.default_rng(seed).normal(size=(16, 5)).astype(np.float32)

    def apply(images):
        flat = images.reshape(images.shape[0], -1)
        return {"features": flat @ w, "logits": flat[:, :3]}

    name = identity.split("@")[0]
    return (
        extractors.FeatureExtractor(
            name=name,
            identity=identity,
            metric_prefix="t_",
            input_shape=(4, 4, 1),
            apply=jax.jit(apply),
        ),
        w,
    )


def test_summary_streams_uneven_batches_and_pads_without_recompiling():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(53, 4, 4, 1)).astype(np.float32)
    extractor, w = _projection_extractor("proj@a")
    batches = [images[:20], images[20:21], images[21:]]
    summary = extractors.summarise(extractor, batches, batch_size=8, max_features=30)
    feats = images.reshape(53, -1).astype(np.float64) @ w
    assert summary.count == 53
    np.testing.assert_allclose(summary.mean, feats.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        summary.covariance, np.cov(feats, rowvar=False), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(summary.features, feats[:30], rtol=1e-5, atol=1e-6)
    assert summary.logits.shape == (53, 3)
    assert extractor.apply._cache_size() == 1  # one shape: padded last chunk


def _data_cfg():
    cfg = ml_collections.ConfigDict()
    cfg.source = "fashion_mnist"
    cfg.tfds_name = "fashion_mnist"
    cfg.image_size = 28
    return cfg


def test_cache_is_reused_for_the_same_extractor_and_recomputed_for_another(tmp_path):
    rng = np.random.default_rng(1)
    real = rng.uniform(-1, 1, size=(40, 4, 4, 1)).astype(np.float32)
    calls = []

    def load():
        calls.append(1)
        return real

    def stats(extractor):
        return reference.reference_statistics(
            extractor,
            _data_cfg(),
            split="test",
            stats_dir=str(tmp_path),
            batch_size=16,
            max_features=100,
            load_images=load,
        )

    ext_a, _ = _projection_extractor("proj@aaaa", seed=0)
    first = stats(ext_a)
    again = stats(ext_a)
    assert len(calls) == 1  # second call read the cache
    np.testing.assert_array_equal(first.covariance, again.covariance)
    # Same name (same cache file), other weights: the stored identity differs → recompute.
    ext_b, w_b = _projection_extractor("proj@bbbb", seed=1)
    other = stats(ext_b)
    assert len(calls) == 2
    feats_b = real.reshape(40, -1).astype(np.float64) @ w_b
    np.testing.assert_allclose(other.mean, feats_b.mean(0), rtol=1e-5, atol=1e-6)
    assert stats(ext_b).count == 40 and len(calls) == 2


def test_extractor_resolution_and_shape_errors():
    ev = ml_collections.ConfigDict({"extractor": "auto", "inception_weights": ""})
    data = _data_cfg()
    assert extractors.resolve_name(ev, data) == "fashion_mnist_classifier"
    data.source = "digits"
    assert extractors.resolve_name(ev, data) == "none"  # held-out metrics only
    ev.inception_weights = "x.npz"
    assert extractors.resolve_name(ev, data) == "inception"
    ev.extractor = "vgg"
    with pytest.raises(ConfigError, match="eval.extractor='vgg'"):
        extractors.resolve_name(ev, data)
    extractor, _ = _projection_extractor("proj@a")
    # An odd margin cannot be centre-cropped (an even one is: padded data).
    with pytest.raises(
        ConfigError, match=r"\(4, 4, 1\) images .*; the samples are \(7, 7, 1\)"
    ):
        extractor.check_images((7, 7, 1), "the samples")
