"""A folder of the user's images with a caption file beside each (data.captions=files)."""

import functools

import jax
import numpy as np
import pytest
from PIL import Image

from benchmarks.common import load_config
from v101jax.algorithms import get_algorithm, text_gan
from v101jax.core.errors import ConfigError, DataError
from v101jax.data import batch_spec, load_dataset, pipeline

CAPTIONS = {
    "train": {
        "a": "a red square\n\na big red square\n",
        "b": "a blue circle\n",
        # The same captions as a's, in another order: the same description.
        "c": "a big red square\na red square",
        "d": "a small blue circle on a wide white field of snow\n",
    },
    "test": {"e": "a green square\n"},  # "green" is not in the train split's words
}


def _write_folder(root, captions=CAPTIONS):
    for split, files in captions.items():
        (root / split).mkdir(parents=True)
        for i, (name, text) in enumerate(sorted(files.items())):
            Image.fromarray(np.full((10, 12), 40 * i, np.uint8)).save(
                root / split / f"{name}.png"
            )
            if text is not None:
                (root / split / f"{name}.txt").write_text(text)


def _config(root, split="train"):
    config = load_config(
        "configs/text_gan.py:smoke",
        {
            "data.source": "image_folder",
            "data.folder": str(root),
            "data.image_size": 8,
            "data.channels": 1,
            "data.captions": "files",
            "data.captions_per_image": 3,
            "data.caption_length": 6,
            "data.split": split,
        },
    )
    return config


def test_folder_captions_are_each_images_own_lines_in_turn(tmp_path):
    _write_folder(tmp_path)
    config = text_gan.resolve_config(_config(tmp_path))
    vocab = config.text.vocabulary
    assert vocab[:2] == ("<pad>", "<unk>")
    assert {"red", "square", "blue", "circle", "snow"} <= set(vocab)
    assert "green" not in vocab
    tok = text_gan.tokenizer(config)
    data = load_dataset(config.data)
    assert data["x"].shape == (4, 8, 8, 1)
    assert data["captions"].shape == (4, 3, 6)
    assert {k: v[0] for k, v in batch_spec(config.data).items()}["captions"] == (3, 6)
    said = [[tok.decode(c) for c in own] for own in data["captions"]]
    # Name order a, b, c, d; fewer lines than captions_per_image repeat in turn.
    assert said[0] == ["a red square", "a big red square", "a red square"]
    assert said[1] == ["a blue circle"] * 3
    assert said[2] == ["a big red square", "a red square", "a big red square"]
    # A caption longer than data.caption_length is cut to its first words.
    assert said[3] == ["a small blue circle on a"] * 3
    d = data["description"]
    assert d[0] == d[2] and len({d[0], d[1], d[3]}) == 3
    # The held-out split is read with the train split's vocabulary: new words are unknown.
    held_out = config.data.copy_and_resolve_references()
    held_out.split = "test"
    test = load_dataset(held_out)
    assert test["captions"][0, 0].tolist()[:3] == [
        vocab.index("a"),
        1,
        vocab.index("square"),
    ]


def test_missing_or_empty_caption_files_and_config_errors(tmp_path):
    missing = {"train": {"a": "a cat", "b": None, "c": None}}
    _write_folder(tmp_path / "missing", missing)
    with pytest.raises(DataError, match=r"2 of 3 images have no caption file.*b\.png"):
        load_dataset(_config(tmp_path / "missing").data)
    _write_folder(tmp_path / "empty", {"train": {"a": "a cat", "b": "\n  \n"}})
    with pytest.raises(
        DataError, match=r"1 of 2 caption files hold no caption: b\.txt"
    ):
        pipeline.caption_vocabulary(_config(tmp_path / "empty").data)
    data = _config(tmp_path / "missing").data
    data.source = "fashion_mnist"
    with pytest.raises(ConfigError, match="image_folder"):
        batch_spec(data)
    data = _config(tmp_path / "missing").data
    data.streaming = True
    with pytest.raises(ConfigError, match="data.streaming=False"):
        load_dataset(data)
    data = _config(tmp_path / "missing").data
    data.captions_per_image = 0
    with pytest.raises(ConfigError, match="captions_per_image"):
        batch_spec(data)


def test_text_gan_trains_a_step_on_folder_captions(tmp_path):
    _write_folder(tmp_path)
    config = text_gan.resolve_config(_config(tmp_path))
    alg = get_algorithm(config.algorithm)
    data = load_dataset(config.data)
    batch = {k: v[np.array([0, 1, 2, 3, 1, 0])] for k, v in data.items()}
    state = jax.jit(functools.partial(alg.init, config))(jax.random.PRNGKey(0), batch)
    state, metrics = jax.jit(functools.partial(alg.train_step, config))(
        state, batch, jax.random.PRNGKey(1)
    )
    assert all(np.isfinite(float(v)) for v in jax.tree.leaves(metrics))
