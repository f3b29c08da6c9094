"""Pix2Pix and CycleGAN on the papers' datasets and the user's own: they train from folders
(RGB, another size), their evaluation reports the held-out metrics without a feature extractor
for such images, and the paper-size presets build the reference's networks."""

import glob
import os

import jax
import numpy as np
import pytest
from PIL import Image

from benchmarks.common import load_config
from tests.algorithms.translation_data import (  # noqa: F401 - autouse fixture
    SMALL_EVAL,
    fast_compiling_keys_fixture,
)
from v101jax import algorithms
from v101jax.core.errors import ConfigError
from v101jax.training.evaluation import Evaluator
from v101jax.training.loop import example_batch, train_and_evaluate

SIZE = 16


def _eval_tags(run) -> set[str]:
    import tensorflow as tf

    tags = set()
    for path in glob.glob(os.path.join(run, "events.out.tfevents*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value if v.tag.startswith("eval/"))
    return tags


def _photo(rng):
    return rng.integers(0, 256, (SIZE, SIZE, 3), np.uint8)


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _folder_overrides(root, source):
    return {
        **SMALL_EVAL,
        "data.source": source,
        "data.folder": str(root),
        "data.image_size": SIZE,
        "data.channels": 3,
        "data.batch_size": 2,
    }


def test_pix2pix_trains_on_an_aligned_pairs_folder(tmp_path):
    rng = np.random.default_rng(0)
    for split, count in (("train", 6), ("test", 4)):
        for i in range(count):
            x = _photo(rng)
            _save(
                tmp_path / "facades" / split / f"{i}.jpg",
                np.concatenate([x, 255 - x], 1),
            )
    config = load_config(
        "configs/pix2pix.py:smoke",
        {
            **_folder_overrides(tmp_path / "facades", "paired_folder"),
            "data.direction": "BtoA",
        },
    )
    run = tmp_path / "run"
    state = train_and_evaluate(config, str(run))
    assert int(state.step) == 2
    (grid,) = glob.glob(os.path.join(run, "samples", "*.png"))
    # 4 samples: 2 rows of 2 (source | output) pairs of 16×16 RGB tiles with 1-pixel pads.
    assert np.asarray(Image.open(grid)).shape == (2 * 17 + 1, 4 * 17 + 1, 3)
    tags = _eval_tags(run)
    assert {"eval/psnr", "eval/ssim", "eval/l1"} <= tags
    assert not any("fd" in t for t in tags)  # no extractor for these photos


def test_cyclegan_trains_on_two_domain_folders(tmp_path):
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        for domain, count in (("A", 5), ("B", 4)):
            for i in range(count):
                _save(tmp_path / f"{split}{domain}" / f"{i}.png", _photo(rng))
    config = load_config(
        "configs/cyclegan.py:smoke", _folder_overrides(tmp_path, "unpaired_folder")
    )
    run = tmp_path / "run"
    state = train_and_evaluate(config, str(run))
    assert int(state.step) == 2
    tags = _eval_tags(run)
    assert {"eval/cycle_l1_a", "eval/cycle_l1_b"} <= tags
    # Target-class accuracy needs the Fashion-MNIST classifier: not for these domains.
    assert not any("accuracy" in t for t in tags)


def test_evaluation_without_an_extractor_or_held_out_metrics_is_refused():
    config = load_config("configs/dcgan.py:smoke", {"data.source": "digits"})
    with pytest.raises(ConfigError, match="eval.inception_weights"):
        Evaluator(config)


def _parameter_counts(config) -> dict[str, int]:
    algorithm = algorithms.get_algorithm(config.algorithm)
    state = jax.eval_shape(
        lambda key: algorithm.init(config, key, example_batch(config)),
        jax.random.PRNGKey(0),
    )
    count = lambda tree: sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))
    return {part: count(state[part].params) for part in ("gen", "disc")}


def test_paper_presets_build_the_reference_networks():
    """Parameter counts against those junyanz/pytorch-CycleGAN-and-pix2pix prints for the
    same options (G_A 11.378 M, D_A 2.765 M; pix2pix G 54.414 M, D 2.769 M), less this
    project's documented deviations, counted here by hand:
      CycleGAN: 4×4 instead of 3×3 transposed convolutions up (256 → 128 → 64 channels);
      Pix2Pix: the Dense pair at the 1×1 bottom (512 → 512 → 512, with biases) and its
      skip, which doubles the input of the first transposed convolution (4×4, 512 → 512);
      affine instance norms after the bottom convolution and after the pair; biases on the
      normalised convolutions (the reference drops them under batch norm).
    The printed counts are rounded to 1,000, hence the tolerances."""
    counts = _parameter_counts(load_config("configs/cyclegan.py:horse2zebra"))
    up = (16 - 9) * (256 * 128 + 128 * 64)
    assert counts["gen"] / 2 == pytest.approx(11.378e6 + up, abs=500)
    assert counts["disc"] / 2 == pytest.approx(2.765e6, rel=1e-3)
    counts = _parameter_counts(
        load_config("configs/pix2pix.py:facades", {"data.folder": "/facades"})
    )
    bottom = 2 * (512 * 512 + 512) + 16 * 512 * 512 + 2 * (2 * 512)
    biases = (64 + 128 + 256 + 5 * 512) + (4 * 512 + 256 + 128 + 64)  # down, up
    assert counts["gen"] == pytest.approx(54.414e6 + bottom + biases, abs=500)
    assert counts["disc"] == pytest.approx(2.769e6, rel=1e-3)
