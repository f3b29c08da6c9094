"""Perceptual features and Gatys style transfer: Gram matrices and the style loss against NumPy,
the converted VGG layer against a NumPy convolution in torchvision's layout, the weights loader
refusing partial or mismatched files, an optimisation that pulls the image's Gram matrices to
the style's, and the stylize command on bundled photos."""

import os

import numpy as np
import pytest

from configs import gatys as gatys_config
from tests.training.commands import run_module
from v101jax.core.errors import ConfigError, WeightsError
from v101jax.models import vgg
from v101jax.perceptual import features, losses
from v101jax.style_transfer import gatys


def test_gram_matrix_and_style_loss_match_numpy():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((2, 5, 4, 3)).astype(np.float32)
    flat = f.reshape(2, 20, 3)
    expected = np.einsum("bnc,bnd->bcd", flat, flat) / (3 * 5 * 4)
    np.testing.assert_allclose(losses.gram_matrix(f), expected, rtol=1e-5, atol=1e-7)
    g = rng.standard_normal((2, 6, 6, 4)).astype(np.float32)
    targets = {
        "a": rng.standard_normal((3, 3)).astype(np.float32),
        "b": rng.standard_normal((4, 4)).astype(np.float32),
    }
    weights = {"a": 0.5, "b": 2.0}
    by_hand = 0.0
    for name, feats in (("a", f), ("b", g)):
        b, h, w, c = feats.shape
        flat = feats.reshape(b, h * w, c)
        gram = np.einsum("bnc,bnd->bcd", flat, flat) / (c * h * w)
        by_hand += weights[name] * np.mean(np.sum((gram - targets[name]) ** 2, (1, 2)))
    got = losses.style_loss({"a": f, "b": g}, targets, weights)
    np.testing.assert_allclose(float(got), by_hand, rtol=1e-5)


def _torch_state_dict(depth, rng):
    """Random arrays in torchvision's VGG layout: features.N.weight [out, in, 3, 3]."""
    state, index, channels = {}, 0, 3
    for widths in vgg.BLOCKS[depth]:
        for width in widths:
            state[f"features.{index}.weight"] = (
                rng.standard_normal((width, channels, 3, 3)).astype(np.float32) * 0.1
            )
            state[f"features.{index}.bias"] = rng.standard_normal(width).astype(
                np.float32
            )
            channels = width
            index += 2  # conv, relu
        index += 1  # pool
    state["classifier.0.weight"] = np.zeros((4, 4), np.float32)
    return state


def _perceptual(network, weights=""):
    cfg = gatys_config.get_config().perceptual
    with cfg.unlocked():
        cfg.network, cfg.weights, cfg.pooling = network, weights, "max"
    return cfg


@pytest.fixture(scope="module")
def vgg16_weights(tmp_path_factory):
    state = _torch_state_dict(16, np.random.default_rng(1))
    path = str(tmp_path_factory.mktemp("vgg") / "vgg16.npz")
    np.savez(path, **vgg.convert_torch_state_dict(state, 16))
    return state, path


def test_a_converted_vgg_layer_is_the_torch_convolution(vgg16_weights):
    state, path = vgg16_weights
    network = features.feature_network(
        _perceptual("vgg16", path), ["conv1_1", "conv2_1"]
    )
    assert network.is_vgg and "vgg16.npz" in network.label
    images = np.random.default_rng(2).uniform(-1, 1, (1, 6, 5, 3)).astype(np.float32)
    out = network.apply(images)
    # NumPy: ImageNet normalisation, zero padding 1, cross-correlation with OIHW weights.
    x = ((images + 1) / 2 - np.asarray(vgg.IMAGENET_MEAN)) / np.asarray(
        vgg.IMAGENET_STD
    )
    x = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    w, b = state["features.0.weight"], state["features.0.bias"]
    expected = np.zeros((6, 5, 64), np.float32)
    for i in range(6):
        for j in range(5):
            patch = x[i : i + 3, j : j + 3, :]  # [3, 3, in]
            expected[i, j] = np.einsum("hwi,oihw->o", patch, w) + b
    np.testing.assert_allclose(out["conv1_1"][0], expected, rtol=1e-4, atol=1e-4)
    assert out["conv2_1"].shape == (1, 3, 2, 128)  # after one 2×2 max pool


def test_the_loader_refuses_partial_and_mismatched_files(vgg16_weights, tmp_path):
    _, path = vgg16_weights
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    partial = {k: v for k, v in arrays.items() if not k.startswith("conv3_1")}
    np.savez(tmp_path / "partial.npz", **partial)
    with pytest.raises(WeightsError, match="lacks"):
        features.feature_network(
            _perceptual("vgg16", str(tmp_path / "partial.npz")), ["relu3_1"]
        )
    arrays["conv1_2/kernel"] = arrays["conv1_2/kernel"][..., :32]
    np.savez(tmp_path / "mismatched.npz", **arrays)
    with pytest.raises(WeightsError, match="conv1_2/kernel"):
        features.feature_network(
            _perceptual("vgg16", str(tmp_path / "mismatched.npz")), ["relu1_2"]
        )
    with pytest.raises(WeightsError, match="convert_vgg_weights"):
        features.feature_network(_perceptual("vgg19", ""), ["relu1_1"])
    with pytest.raises(ValueError, match="convolutions"):
        vgg.convert_torch_state_dict(
            _torch_state_dict(16, np.random.default_rng(0)), 19
        )
    with pytest.raises(ConfigError, match="relu6_1"):
        features.feature_network(_perceptual("random_vgg19"), ["relu6_1"])


def _small_config(**fields):
    config = gatys_config.get_config()
    with config.unlocked():
        g = config.gatys
        g.content_layer = "relu2_1"
        g.style_layers = ("relu1_1", "relu2_1", "relu3_1")
        g.optimizer, g.learning_rate = "adam", 0.05
        g.num_steps, g.log_every = 200, 100
        g.style_weight = 1e3
        g.tv_weight = 0.0
        for k, v in fields.items():
            g[k] = v
    return config


def _gram_distance(config, image, style):
    g = config.gatys
    network = features.feature_network(config.perceptual, g.style_layers)
    a, b = network.apply(image[None]), network.apply(style[None])
    return sum(
        float(np.sum((losses.gram_matrix(a[n]) - losses.gram_matrix(b[n])) ** 2))
        for n in g.style_layers
    )


def test_gatys_pulls_the_images_gram_matrices_to_the_styles():
    rng = np.random.default_rng(3)
    # Content: smooth ramps; style: high-frequency stripes of two colours.
    yy, xx = np.mgrid[0:32, 0:32] / 31.0
    content = np.stack([xx, yy, 0.5 * (xx + yy)], -1).astype(np.float32) * 2 - 1
    stripes = (np.sin(xx * 40) > 0)[..., None] * np.asarray([1.0, -1.0, 0.5])
    style = (stripes + 0.05 * rng.standard_normal((32, 32, 3))).astype(np.float32)
    config = _small_config()
    result, history = gatys.stylize(config, content, style)
    first, last = history[0][1], history[-1][1]
    assert last["style"] < first["style"] / 20, (first, last)
    before = _gram_distance(config, content, style)
    after = _gram_distance(config, result, style)
    assert after < before / 5, (before, after)
    # The content term keeps it from becoming the style: still closer to the content.
    assert np.mean((result - content) ** 2) < np.mean((style - content) ** 2)
    assert [step for step, _ in history] == [0, 100, 200]


def test_bad_gatys_fields_name_the_field():
    with pytest.raises(ConfigError, match="gatys.optimizer"):
        gatys.stylize(
            _small_config(optimizer="sgd"), np.zeros((8, 8, 3)), np.zeros((8, 8, 3))
        )
    with pytest.raises(ConfigError, match="multiple"):
        gatys.stylize(
            _small_config(num_steps=150), np.zeros((8, 8, 3)), np.zeros((8, 8, 3))
        )


def test_stylize_command_on_bundled_photos(tmp_path):
    out = str(tmp_path / "stylized.png")
    result = run_module(
        "experiments.stylize",
        "--config=configs/gatys.py:smoke",
        "--content=astronaut",
        "--style=coffee",
        f"--out={out}",
        env={"JAX_THREEFRY_PARTITIONABLE": "0"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.path.exists(out)
    assert os.path.exists(str(tmp_path / "stylized_panel_random_features.png"))
    assert "random VGG-19" in result.stdout
    bad = run_module(
        "experiments.stylize",
        "--config=configs/gatys.py:smoke",
        "--content=no_such_photo",
        "--style=coffee",
        f"--out={out}",
    )
    assert bad.returncode != 0 and "bundled photo" in bad.stderr
    assert "Traceback" not in bad.stderr
