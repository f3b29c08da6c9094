"""PSNR and SSIM against scikit-image on real photographs."""

import numpy as np
import pytest
import scipy.ndimage
import skimage.data
import skimage.metrics

from v101jax.metrics import image_quality


def _photos():
    rng = np.random.default_rng(0)
    pairs = []
    for name in ("astronaut", "coffee", "camera"):
        img = getattr(skimage.data, name)().astype(np.float64)
        if img.ndim == 2:
            img = img[..., None]
        img = img[:160, :192]  # keep the test light; still a real photo
        noisy = np.clip(img + rng.normal(scale=12.0, size=img.shape), 0, 255)
        blurred = scipy.ndimage.gaussian_filter(img, sigma=(2, 2, 0))
        pairs += [(name + "/noise", img, noisy), (name + "/blur", img, blurred)]
    return pairs


@pytest.mark.parametrize(
    "name,reference,distorted", _photos(), ids=lambda v: str(v)[:20]
)
def test_psnr_and_ssim_match_scikit_image(name, reference, distorted):
    del name
    expected_psnr = skimage.metrics.peak_signal_noise_ratio(
        reference, distorted, data_range=255
    )
    expected_ssim = skimage.metrics.structural_similarity(
        reference,
        distorted,
        data_range=255,
        channel_axis=-1,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    got_psnr = image_quality.psnr(reference[None], distorted[None], data_range=255)
    got_ssim = image_quality.ssim(reference[None], distorted[None], data_range=255)
    assert float(got_psnr[0]) == pytest.approx(expected_psnr, abs=1e-3)
    assert float(got_ssim[0]) == pytest.approx(expected_ssim, abs=2e-4)


def test_ssim_is_one_for_identical_images_and_batched_per_image():
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, size=(3, 28, 28, 1))
    b = a.copy()
    b[1] = np.clip(b[1] + rng.normal(scale=0.3, size=b[1].shape), -1, 1)
    values = np.asarray(image_quality.ssim(a, b))
    assert values.shape == (3,)
    np.testing.assert_allclose(values[[0, 2]], 1.0, atol=1e-5)
    assert values[1] < 0.9
    with pytest.raises(ValueError, match="at least 11"):
        image_quality.ssim(a[:, :8, :8], b[:, :8, :8])
