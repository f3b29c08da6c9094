"""Captions written from classes and measured attributes, and the word tokenizer."""

import numpy as np
import pytest

from configs import base
from v101jax.core.errors import ConfigError
from v101jax.data import captions, fashion_mnist, pipeline, tokenizer


def _fashion_data_cfg(split="train"):
    data = base.get_base_config().data
    data.captions = "templates"
    data.split = split
    return data


def test_tokenizer_round_trip_padding_and_errors():
    vocab = tokenizer.build_vocabulary(
        ["A dark T-shirt.", "a bright coat", "the coat, dark"]
    )
    # Specials first, then by count (a: 2, coat: 2, dark: 2), ties alphabetical.
    assert vocab[:2] == ("<pad>", "<unk>")
    assert vocab[2:5] == ("a", "coat", "dark")
    tok = tokenizer.Tokenizer(vocab, max_length=6)
    for text in ["A dark T-shirt.", "the coat , dark", "bright coat"]:
        ids = tok.encode(text)
        assert ids.dtype == np.int32 and ids.shape == (6,)
        assert tok.decode(ids) == " ".join(tokenizer.words(text))
        n = len(tokenizer.words(text))
        assert np.all(ids[:n] > 1) and np.all(ids[n:] == 0)  # padding at the end only
    assert tokenizer.words("A dark T-shirt.") == ["a", "dark", "t-shirt", "."]
    with pytest.raises(ConfigError, match="'purple'"):
        tok.encode("a purple coat")
    with pytest.raises(ConfigError, match="at most 6"):
        tok.encode("a dark coat a dark coat a")
    loose = tok.encode("a purple coat", strict=False)
    assert loose.tolist()[:3] == [
        tok.vocabulary.index("a"),
        1,
        tok.vocabulary.index("coat"),
    ]
    with pytest.raises(ConfigError):
        tokenizer.Tokenizer(("a", "b"), max_length=4)  # no specials


def test_attribute_levels_against_a_direct_rederivation():
    rng = np.random.default_rng(0)
    images = np.zeros((60, 28, 28), np.uint8)
    for i in range(60):
        side = rng.integers(4, 26)
        images[i, :side, :side] = rng.integers(30, 256)
    labels = np.repeat(np.arange(3), 20)
    values = captions.measure_attributes(images)
    for i in (0, 17, 45):
        ink = images[i] > 25
        assert values[i, 0] == pytest.approx(ink.mean())
        assert values[i, 1] == pytest.approx(images[i][ink].mean())
    thresholds = captions.attribute_thresholds(values, labels, 3)
    levels = captions.attribute_levels(values, labels, thresholds)
    for k in range(3):
        for a in range(2):
            v = values[labels == k, a]
            lo, hi = np.quantile(v, [1 / 3, 2 / 3])
            expected = np.where(v <= lo, 0, np.where(v <= hi, 1, 2))
            np.testing.assert_array_equal(levels[labels == k, a], expected)
            # Terciles: each level holds about a third of the class.
            assert np.all(np.bincount(expected, minlength=3) >= 5)


def test_captions_say_the_class_and_the_named_attributes():
    assert captions.fashion_caption(9, (0, 0), 0) == "a small dark ankle boot"
    assert captions.fashion_caption(9, (1, 1), 0) == "an ankle boot"
    assert captions.fashion_caption(4, (1, 2), 3) == "this coat is bright"
    assert captions.fashion_caption(0, (2, 0), 2) == "t-shirt, large and dark"
    for text in captions.all_captions("fashion_mnist"):
        label, levels = captions.parse_fashion_prompt(text)
        assert label is not None
    # Every caption parses back to the description it was written from.
    for d in range(90):
        label, levels = d // 9, (d // 3 % 3, d % 3)
        for t in range(captions.FASHION_TEMPLATES):
            parsed = captions.parse_fashion_prompt(
                captions.fashion_caption(label, levels, t)
            )
            named = tuple(None if v == 1 else v for v in levels)
            assert parsed == (label, named)
    assert captions.parse_fashion_prompt("a shirt")[0] == 6
    assert captions.parse_fashion_prompt("a t-shirt")[0] == 0
    for m in range(8):
        for t in range(len(captions.RING_TEMPLATES)):
            assert captions.parse_ring_prompt(captions.ring_caption(m, t)) == m


def test_fashion_batches_carry_captions_of_their_own_images():
    data = _fashion_data_cfg("test")
    dataset = pipeline.load_dataset(data)
    spec = pipeline.batch_spec(data)
    assert set(dataset) == set(spec) == {"x", "label", "captions", "description"}
    assert dataset["captions"].shape[1:] == spec["captions"][0]
    tok = pipeline.caption_tokenizer(data)
    images, labels = fashion_mnist.load(data.fashion_mnist_dir, "test")
    train_images, train_labels = fashion_mnist.load(data.fashion_mnist_dir, "train")
    thresholds = captions.attribute_thresholds(
        captions.measure_attributes(train_images), train_labels, 10
    )
    levels = captions.attribute_levels(
        captions.measure_attributes(images), labels, thresholds
    )
    for i in (0, 1, 2, 500, 9999):
        assert (
            dataset["description"][i] == labels[i] * 9 + levels[i, 0] * 3 + levels[i, 1]
        )
        for t in range(captions.FASHION_TEMPLATES):
            text = tok.decode(dataset["captions"][i, t])
            assert captions.parse_fashion_prompt(text) == (
                labels[i],
                tuple(None if v == 1 else int(v) for v in levels[i]),
            )
    # The held-out split is cut at the train split's terciles: not a third each, but close.
    share = np.bincount(levels[:, 1], minlength=3) / len(levels)
    assert np.all(np.abs(share - 1 / 3) < 0.05)


def test_caption_config_errors():
    data = _fashion_data_cfg()
    data.captions = "spoken"
    with pytest.raises(ConfigError, match="data.captions"):
        pipeline.batch_spec(data)
    data.captions = "templates"
    data.source = "fashion_edges"
    with pytest.raises(ConfigError, match="fashion_mnist, ring"):
        pipeline.load_dataset(data)
