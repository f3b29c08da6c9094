"""experiments.translate: a folder of the user's images (any size, RGB or grey) or an .npz
through a saved image-to-image run, against the generators applied directly."""

import functools
import os

import jax
import numpy as np
import pytest
from PIL import Image

from benchmarks.common import load_config
from tests.algorithms.translation_data import (
    fast_compiling_keys,
    fast_compiling_keys_fixture,  # noqa: F401 (autouse fixture)
)
from tests.training.commands import run_module
from v101jax.algorithms import cyclegan
from v101jax.core.checkpoint import Checkpointer
from v101jax.core.errors import ConfigError, DataError
from v101jax.training.loop import example_batch, run_keys
from v101jax.training.translate import read_images, translate_images


def _save_run(workdir, spec):
    """A workdir with config.json and a step-0 checkpoint of `spec`'s freshly initialised
    state (what translate reads; no training needed to check the plumbing)."""
    config = load_config(spec, {})
    from v101jax.algorithms import get_algorithm

    init = functools.partial(get_algorithm(config.algorithm).init, config)
    with fast_compiling_keys():  # also when called from a module fixture
        state = jax.jit(init)(run_keys(config)[0], example_batch(config))
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort())
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=1)
    ckpt.save(0, state.checkpoint_tree())
    ckpt.close()
    return config, state


@pytest.fixture(scope="module")
def cyclegan_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cyclegan_run")
    config, state = _save_run(str(workdir), "configs/cyclegan.py:smoke")
    return str(workdir), config, state


def _write_folder(folder, pixels, mode):
    folder.mkdir()
    for i, p in enumerate(pixels):
        Image.fromarray(p).convert(mode).save(folder / f"img{i}.png")


def test_folder_images_are_converted_to_the_runs_shape(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (3, 56, 40)).astype(np.uint8)
    _write_folder(tmp_path / "in", pixels, "RGB")
    x, names = read_images(str(tmp_path / "in"), (28, 28, 1))
    assert names == ["img0", "img1", "img2"] and x.shape == (3, 28, 28, 1)
    want = np.asarray(Image.fromarray(pixels[1]).resize((28, 28), Image.BICUBIC))
    np.testing.assert_allclose(x[1, ..., 0], want / 127.5 - 1.0, atol=1.5 / 127.5)
    np.savez(tmp_path / "x.npz", images=np.repeat(pixels[..., None], 3, axis=-1))
    from_npz, npz_names = read_images(str(tmp_path / "x.npz"), (28, 28, 1))
    assert npz_names == ["00000", "00001", "00002"]
    np.testing.assert_allclose(from_npz, x, atol=1.5 / 127.5)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        read_images(str(tmp_path / "empty"), (28, 28, 1))


def test_translations_are_the_generators_outputs(cyclegan_run, tmp_path):
    workdir, _, state = cyclegan_run
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    _write_folder(tmp_path / "in", pixels, "L")
    _write_folder(tmp_path / "targets", 255 - pixels, "L")
    out = tmp_path / "out"
    n = translate_images(
        workdir,
        str(tmp_path / "in"),
        str(out),
        target_domain=0,
        targets=str(tmp_path / "targets"),
    )
    assert n == 5
    with np.load(out / "translations.npz") as f:
        translated, sources = f["images"], f["sources"]
    np.testing.assert_array_equal(sources[..., 0], pixels)
    x = pixels[..., None].astype(np.float32) / 127.5 - 1.0
    gen = state["gen"]
    want = np.asarray(cyclegan.translate(gen, gen.params, x, cyclegan.DOMAIN_A))
    want = np.clip(np.round((want + 1) * 127.5), 0, 255)
    assert np.max(np.abs(translated.astype(int) - want)) <= 1
    np.testing.assert_array_equal(
        np.asarray(Image.open(out / "img3.png")), translated[3, ..., 0]
    )
    # 5 triples (input | output | target) in rows of 3 · ⌈√5⌉ = 9 tiles of 28 + 1 px.
    assert np.asarray(Image.open(out / "grid.png")).shape == (2 * 29 + 1, 9 * 29 + 1)
    with pytest.raises(ConfigError, match="domains 0 \\(A\\) and 1 \\(B\\)"):
        translate_images(workdir, str(tmp_path / "in"), str(out), target_domain=2)
    (tmp_path / "few").mkdir()
    Image.fromarray(pixels[0]).save(tmp_path / "few" / "a.png")
    with pytest.raises(DataError, match="1 targets for 5 inputs"):
        translate_images(
            workdir, str(tmp_path / "in"), str(out), targets=str(tmp_path / "few")
        )


def test_a_run_that_does_not_translate_is_a_one_line_error(tmp_path):
    workdir = tmp_path / "gan"
    _save_run(str(workdir), "configs/dcgan.py:smoke")
    (tmp_path / "in").mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "in" / "a.png")
    proc = run_module(
        "experiments.translate",
        f"--workdir={workdir}",
        f"--inputs={tmp_path / 'in'}",
        f"--out={tmp_path / 'out'}",
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "not an image-to-image one" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_each_translation_algorithm_reads_target_domain_its_way():
    source = np.zeros((3, 28, 28, 1), np.float32)
    from v101jax.algorithms import pix2pix, stargan

    p2p = load_config("configs/pix2pix.py:smoke", {})
    assert sorted(pix2pix.translation_inputs(p2p, source, None)) == ["source"]
    with pytest.raises(ConfigError, match="no --target_domain"):
        pix2pix.translation_inputs(p2p, source, 1)
    cg = load_config("configs/cyclegan.py:smoke", {})
    np.testing.assert_array_equal(
        cyclegan.translation_inputs(cg, source, None)["domain"], [1, 1, 1]
    )
    sg = load_config("configs/stargan.py:smoke", {})
    np.testing.assert_array_equal(
        stargan.translation_inputs(sg, source, 7)["domain"], [7, 7, 7]
    )
    for bad in (None, 10, -1):
        with pytest.raises(ConfigError, match="0 … 9"):
            stargan.translation_inputs(sg, source, bad)
