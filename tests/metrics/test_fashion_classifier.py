"""The shipped Fashion-MNIST classifier: accuracy, reproducible training, and its features as a
domain feature distance on real images."""

import itertools

import numpy as np
import pytest

from v101jax.core.errors import ConfigError, WeightsError
from v101jax.data import fashion_mnist
from v101jax.metrics import distances, extractors, fashion_classifier

DATA = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(scope="module")
def test_split():
    return fashion_mnist.load(DATA, "test")


def test_shipped_weights_reach_90_percent_test_accuracy(test_split):
    params, metadata = fashion_classifier.load_params()
    images, labels = test_split
    accuracy = fashion_classifier.accuracy(params, images, labels)
    assert accuracy >= 0.90
    # The file's own record of how it was made agrees with what it does.
    assert float(metadata["test_accuracy"]) == pytest.approx(accuracy, abs=2e-3)


def test_training_function_learns():
    _, accuracy = fashion_classifier.train(
        DATA, num_steps=100, batch_size=64, log_every=0, num_test=2000
    )
    assert accuracy > 0.65  # 10 classes: chance is 0.10


def test_missing_weights_name_the_command_that_makes_them(tmp_path):
    with pytest.raises(WeightsError, match="experiments.train_classifier"):
        fashion_classifier.load_params(str(tmp_path / "none.npz"))


def test_feature_distance_orders_real_and_degraded_images(test_split):
    extractor = extractors.make_extractor("fashion_mnist_classifier")
    train_images, _ = fashion_mnist.load(DATA, "train")
    test_images = test_split[0][:4000]

    def summary(images):
        return extractors.summarise(
            extractor, [images], batch_size=500, max_features=2000
        )

    def fd(a, b):
        return distances.frechet_distance(a.mean, a.covariance, b.mean, b.covariance)

    real = summary(test_images)
    other_real = summary(train_images[:4000])
    unit = test_images.astype(np.float32) / 127.5 - 1
    noise = np.random.default_rng(0).normal(size=unit.shape).astype(np.float32)
    degraded = [summary(np.clip(unit + s * noise, -1, 1)) for s in (0.1, 0.2, 0.4, 0.8)]
    fds = [fd(real, d) for d in degraded]
    assert fd(real, real) == pytest.approx(0.0, abs=1e-6)
    assert all(b > a for a, b in itertools.pairwise(fds)), fds
    # Another real sample of the distribution is closer than lightly degraded images.
    assert fd(real, other_real) < fds[0]

    def kid(a, b):
        return distances.kernel_distance(a.features, b.features, num_subsets=10)[0]

    assert kid(real, other_real) < kid(real, degraded[0])


def test_padded_images_are_scored_on_their_unpadded_centre(test_split):
    """data.pad adds background around Fashion-MNIST; the classifier sees the 28×28 centre,
    so padded images score as the originals and the pad's content does not matter."""
    extractor = extractors.make_extractor("fashion_mnist_classifier")
    images = test_split[0][:16].astype(np.float32) / 127.5 - 1
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0)
    padded[:, :2] = 1.0  # anything in the pad is cropped away
    extractor.check_images(padded.shape[1:], "padded")
    np.testing.assert_allclose(
        extractor.apply(padded)["logits"], extractor.apply(images)["logits"], atol=1e-5
    )
    for shape in [(31, 31, 1), (26, 26, 1), (32, 32, 3)]:
        with pytest.raises(ConfigError, match="28, 28, 1"):
            extractor.check_images(shape, "odd")
