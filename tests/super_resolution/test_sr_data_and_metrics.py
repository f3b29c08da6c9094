"""Super-resolution's pieces against independent computations: the pixel shuffle against a
NumPy loop, Y-channel PSNR/SSIM with the border cropped against scikit-image, BT.601 luma
against scikit-image's rgb2ycbcr, and the photo crops' alignment and split."""

import numpy as np
import pytest
import skimage.color
import skimage.data
import skimage.metrics
from PIL import Image

from configs import base
from v101jax.core.errors import ConfigError
from v101jax.data import batch_spec, load_dataset, photos
from v101jax.metrics import image_quality
from v101jax.nn.pixel_shuffle import pixel_shuffle


@pytest.mark.parametrize("scale", [2, 3])
def test_pixel_shuffle_matches_a_numpy_loop_in_pytorch_order(scale):
    rng = np.random.default_rng(0)
    n, h, w, c = 2, 3, 4, 2
    x = rng.normal(size=(n, h, w, c * scale * scale)).astype(np.float32)
    expected = np.zeros((n, h * scale, w * scale, c), np.float32)
    for y in range(h):
        for z in range(w):
            for k in range(c):
                for i in range(scale):
                    for j in range(scale):
                        channel = k * scale * scale + i * scale + j
                        expected[:, y * scale + i, z * scale + j, k] = x[
                            :, y, z, channel
                        ]
    np.testing.assert_array_equal(np.asarray(pixel_shuffle(x, scale)), expected)


def _to_unit(uint8):
    return uint8.astype(np.float32) / 127.5 - 1.0


def test_luma_matches_scikit_image_rgb2ycbcr():
    rgb = skimage.data.astronaut()[:64, :80]
    expected = skimage.color.rgb2ycbcr(rgb)[..., 0]
    got = np.asarray(image_quality.luma(_to_unit(rgb)[None]))[0, ..., 0]
    np.testing.assert_allclose(got, expected, atol=1e-3)
    np.testing.assert_array_equal(photos.luma(rgb)[..., 0], np.round(expected))


@pytest.mark.parametrize("border", [0, 3])
def test_luma_psnr_and_ssim_with_border_match_scikit_image(border):
    rng = np.random.default_rng(1)
    truth = skimage.data.coffee()[:72, :96]
    blurred = np.asarray(
        Image.fromarray(truth).resize((32, 24), Image.BICUBIC).resize((96, 72))
    )
    noisy = np.clip(blurred + rng.normal(scale=6, size=blurred.shape), 0, 255)
    noisy = noisy.astype(np.uint8)
    scores = image_quality.luma_scores(
        _to_unit(noisy)[None], _to_unit(truth)[None], border
    )
    crop = slice(border, -border) if border else slice(None)
    y_true = skimage.color.rgb2ycbcr(truth)[crop, crop, 0]
    y_test = skimage.color.rgb2ycbcr(noisy)[crop, crop, 0]
    expected_psnr = skimage.metrics.peak_signal_noise_ratio(
        y_true, y_test, data_range=255
    )
    expected_ssim = skimage.metrics.structural_similarity(
        y_true,
        y_test,
        data_range=255,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    assert float(scores["psnr"][0]) == pytest.approx(expected_psnr, abs=1e-3)
    assert float(scores["ssim"][0]) == pytest.approx(expected_ssim, abs=2e-4)


def test_grey_images_are_their_own_luma():
    grey = skimage.data.camera()[:40, :40, None]
    got = np.asarray(image_quality.luma(_to_unit(grey)[None]))[0]
    np.testing.assert_array_equal(got, grey.astype(np.float32))


def _pairs_config(**fields):
    config = base.get_base_config()
    config.data.source = "photo_pairs"
    config.data.image_size = 24
    config.data.crop_stride = 40
    config.data.channels = 3
    config.data.downscale = 3
    for k, v in fields.items():
        config.data[k] = v
    return config.data


def test_low_resolution_crops_are_the_bicubic_downscale_of_their_crops():
    data_cfg = _pairs_config()
    dataset = load_dataset(data_cfg)
    spec = batch_spec(data_cfg)
    assert dataset["source"].shape[1:] == spec["source"][0] == (8, 8, 3)
    assert dataset["target"].shape[1:] == spec["target"][0] == (24, 24, 3)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(dataset["target"]), 20, replace=False):
        hr = np.round((dataset["target"][i] + 1) * 127.5).astype(np.uint8)
        lr = np.round((dataset["source"][i] + 1) * 127.5).astype(np.int32)
        # Downscaling the crop alone differs from the whole photo's only near the crop's
        # edge (the filter's support there reaches outside the crop).
        alone = np.asarray(Image.fromarray(hr).resize((8, 8), Image.BICUBIC), np.int32)
        assert np.abs(alone[2:-2, 2:-2] - lr[2:-2, 2:-2]).max() <= 2
        # …and each LR pixel stands for a 3×3 block of its own crop, not a shifted one.
        blocks = hr.reshape(8, 3, 8, 3, 3).mean(axis=(1, 3))
        assert np.abs(blocks - lr).mean() < 12


def test_held_out_photos_are_not_trained_on_and_luma_crops_are_y():
    assert not set(photos.TEST_PHOTOS) & set(photos.TRAIN_PHOTOS)
    assert len(photos.TEST_PHOTOS) == 5
    data_cfg = _pairs_config(channels=1, split="test")
    test = load_dataset(data_cfg)
    levels = np.round((test["target"] + 1) * 127.5)
    assert levels.min() >= 16 and levels.max() <= 235  # BT.601's Y range
    again = load_dataset(data_cfg)
    np.testing.assert_array_equal(test["source"], again["source"])


def test_photo_config_errors_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match="data.downscale"):
        load_dataset(_pairs_config(image_size=25))
    with pytest.raises(ConfigError, match="data.pad"):
        load_dataset(_pairs_config(pad=2))
    with pytest.raises(ConfigError, match="data.photo_set"):
        load_dataset(_pairs_config(photo_set="flickr"))
    with pytest.raises(ConfigError, match="splits train and test"):
        load_dataset(_pairs_config(split="validation"))
    (tmp_path / "train").mkdir()
    Image.fromarray(skimage.data.camera()[:20, :20]).save(tmp_path / "train" / "a.png")
    with pytest.raises(Exception, match="at least 24"):
        load_dataset(_pairs_config(photo_set="folder", folder=str(tmp_path)))


def test_flat_crops_are_dropped_below_min_crop_std():
    data_cfg = _pairs_config(source="photos", image_size=32, crop_stride=32)
    every = load_dataset(data_cfg)["x"]
    data_cfg.min_crop_std = 3.0
    kept = load_dataset(data_cfg)["x"]
    stds = np.round((every + 1) * 127.5).reshape(len(every), -1).std(axis=1)
    assert 0 < len(every) - len(kept) == int((stds < 3.0).sum())
    kept_stds = np.round((kept + 1) * 127.5).reshape(len(kept), -1).std(axis=1)
    assert kept_stds.min() >= 3.0
