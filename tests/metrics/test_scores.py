"""Inception Score and class accuracy against their defining cases and formula."""

import numpy as np
import pytest
import scipy.special

from v101jax.metrics import scores


def test_inception_score_of_confident_uniform_predictions_is_the_class_count():
    num_classes, per_class = 10, 30
    labels = np.repeat(np.arange(num_classes), per_class)
    np.random.default_rng(0).shuffle(labels)
    logits = np.full((labels.size, num_classes), -1e4)
    logits[np.arange(labels.size), labels] = 1e4
    # One split so that every class is equally represented in it.
    mean, std = scores.inception_score(logits, splits=1)
    assert mean == pytest.approx(num_classes, rel=1e-6)
    assert std == 0.0


def test_inception_score_of_identical_predictions_is_one():
    logits = np.tile(np.random.default_rng(1).normal(size=(1, 7)), (100, 1))
    mean, _ = scores.inception_score(logits, splits=5)
    assert mean == pytest.approx(1.0, abs=1e-9)


def test_inception_score_matches_the_kl_formula_per_split():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(90, 5)) * 3
    probs = scipy.special.softmax(logits, axis=1)
    expected = []
    for chunk in np.split(probs, 3):
        marginal = chunk.mean(0)
        kl = scipy.special.rel_entr(chunk, marginal[None]).sum(1)
        expected.append(np.exp(kl.mean()))
    mean, std = scores.inception_score(logits, splits=3)
    assert mean == pytest.approx(np.mean(expected), rel=1e-10)
    assert std == pytest.approx(np.std(expected), rel=1e-8)


def test_class_accuracy_per_class():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2])
    logits = np.eye(3)[predicted]
    result = scores.class_accuracy(logits, labels, num_classes=4)
    assert result["class_accuracy"] == pytest.approx(4 / 6)
    assert result["class_accuracy/0"] == pytest.approx(0.5)
    assert result["class_accuracy/1"] == pytest.approx(2 / 3)
    assert result["class_accuracy/2"] == pytest.approx(1.0)
    assert "class_accuracy/3" not in result
