"""Upscaling photos with a trained super-resolution run, scored as the SR papers score them
(experiments.upscale).

Each ground-truth photo is cropped to a multiple of the scale and degraded exactly as the
training crops were (v101jax/data/photos.py: PIL bicubic, 8-bit), then upscaled by bicubic
interpolation and by the run's network. Scores: PSNR and SSIM on the luminance Y (BT.601)
with `scale` border pixels cropped, per image and their mean (v101jax.metrics.image_quality).
A luminance-only run (data.channels = 1: SRCNN, ESPCN) upscales Y; the colour images it
writes take Cb and Cr from bicubic upsampling, as SRCNN's code does.

Writes NAME.png (the network's output) and NAME_bicubic.png per photo, comparison.png (rows
of bicubic | network | ground truth, each a centre crop) and scores.json. With `low_res`,
the inputs are low-resolution images to upscale: no degradation and no scores.
"""

import json
import os
import time

import jax
import numpy as np
import skimage.color
from absl import logging

from v101jax.algorithms import get_algorithm
from v101jax.core.errors import ConfigError
from v101jax.data import folders, photos
from v101jax.metrics import image_quality
from v101jax.models.superres import bicubic_upscale
from v101jax.training import images
from v101jax.training.export import load_run_config, load_state

FIGURE_CROP = 160  # side of each photo's centre crop in comparison.png
BUNDLED = "bundled"  # --inputs value: the held-out bundled photos (photos.TEST_PHOTOS)


def input_photos(inputs: str) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 RGB [H, W, 3]) of `inputs`: "bundled", a folder of images, or a file."""
    if inputs == BUNDLED:
        return [(name, photos.load_photo(name)) for name in photos.TEST_PHOTOS]
    if os.path.isdir(inputs):
        return [
            (os.path.splitext(n)[0], photos.load_photo(os.path.join(inputs, n)))
            for n in folders.image_names(inputs)
        ]
    return [(os.path.splitext(os.path.basename(inputs))[0], photos.load_photo(inputs))]


def _unit(uint8):
    return np.asarray(uint8, np.float32) / 127.5 - 1.0


class Upscaler:
    """The run's network on one low-resolution image at a time ([-1, 1], [h, w, C] →
    [h·s, w·s, C]), compiled once per input size; `seconds` sums the calls after each
    size's first (compilation excluded), `timed` counts them."""

    def __init__(self, config, state):
        self.algorithm = get_algorithm(config.algorithm)
        self.config, self.state = config, state
        self.compiled = {}
        self.seconds, self.timed = 0.0, 0

    def __call__(self, low: np.ndarray) -> np.ndarray:
        fn = self.compiled.get(low.shape)
        fresh = fn is None
        if fresh:
            fn = self.compiled[low.shape] = jax.jit(
                lambda state, x: self.algorithm.sample(
                    self.config, state, jax.random.PRNGKey(0), 1, inputs={"source": x}
                )
            )
        start = time.perf_counter()
        out = np.asarray(fn(self.state, low[None]))[0]
        if not fresh:
            self.seconds += time.perf_counter() - start
            self.timed += 1
        return out


def _colour(luma_out: np.ndarray, low_rgb: np.ndarray, scale: int) -> np.ndarray:
    """uint8 RGB from an upscaled Y ([-1, 1], [H, W, 1]) and bicubic Cb, Cr of `low_rgb`."""
    up = images.to_uint8(bicubic_upscale(_unit(low_rgb)[None], scale)[0])
    ycbcr = skimage.color.rgb2ycbcr(up)
    ycbcr[..., 0] = np.asarray(image_quality.luma(luma_out[None]))[0, ..., 0]
    rgb = skimage.color.ycbcr2rgb(ycbcr)
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


def upscale_photo(
    upscaler, photo: np.ndarray, scale: int, channels: int, low_res: bool
):
    """{"model", "bicubic"(, "truth")} uint8 RGB pictures and, unless `low_res`, the
    {"psnr", "ssim", "bicubic_psnr", "bicubic_ssim"} of one photo (see module doc)."""
    rgb = photos.to_channels(photo, 3)
    if low_res:
        low_rgb, truth = rgb, None
    else:
        truth = photos.modcrop(rgb, scale)
        low_rgb = photos.bicubic_downscale(truth, scale)
    # A luminance run's input is the Y plane, degraded as its training crops were.
    if channels == 3:
        low = low_rgb
    elif low_res:
        low = photos.luma(low_rgb)
    else:
        low = photos.bicubic_downscale(photos.to_channels(truth, 1), scale)
    model = upscaler(_unit(low))
    bicubic = np.asarray(bicubic_upscale(_unit(low)[None], scale))[0]

    def as_rgb(upscaled):
        if channels == 3:
            return images.to_uint8(upscaled)
        return _colour(upscaled, low_rgb, scale)

    pictures = {"model": as_rgb(model), "bicubic": as_rgb(bicubic)}
    scores = {}
    if truth is not None:
        pictures["truth"] = truth
        target = _unit(photos.to_channels(truth, channels))[None]
        for prefix, out in (("", model), ("bicubic_", bicubic)):
            for k, v in image_quality.luma_scores(out[None], target, scale).items():
                scores[prefix + k] = float(v[0])
    return pictures, scores


def _centre(picture: np.ndarray, size: int) -> np.ndarray:
    h, w = picture.shape[:2]
    y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)
    crop = picture[y : y + size, x : x + size]
    padded = np.full((size, size, 3), 255, np.uint8)
    padded[: crop.shape[0], : crop.shape[1]] = crop
    return padded


def upscale_photos(
    workdir: str,
    inputs: str,
    out: str,
    *,
    low_res: bool = False,
    use_ema: bool = True,
    defaults=None,
) -> dict:
    """Upscales and scores the photos of `inputs` with the run in `workdir` (module doc);
    returns {"images": [per-photo rows], "mean": {...}, "scale", "images_per_second"}."""
    config = load_run_config(workdir, defaults)
    if config.data.source != "photo_pairs":
        raise ConfigError(
            f"{workdir} is a {config.algorithm!r} run on {config.data.source!r}, not a "
            "super-resolution run (data.source photo_pairs): it has nothing to upscale"
        )
    with config.unlocked():
        config.sample.use_ema = use_ema
    scale, channels = config.data.downscale, config.data.channels
    upscaler = Upscaler(config, load_state(config, workdir))
    os.makedirs(out, exist_ok=True)
    rows, figure = [], []
    named = input_photos(inputs)
    for i, (name, photo) in enumerate(named):
        pictures, scores = upscale_photo(upscaler, photo, scale, channels, low_res)
        images.save_png(os.path.join(out, f"{name}.png"), pictures["model"])
        images.save_png(os.path.join(out, f"{name}_bicubic.png"), pictures["bicubic"])
        h, w = pictures["model"].shape[:2]
        rows.append({"name": name, "height": h, "width": w, **scores})
        columns = ("bicubic", "model", "truth") if scores else ("bicubic", "model")
        figure += [_centre(pictures[c], FIGURE_CROP) for c in columns]
        logging.info(
            "upscaled %d/%d %s (%d×%d)%s",
            i + 1,
            len(named),
            name,
            w,
            h,
            "".join(f"  {k}={v:.3f}" for k, v in scores.items()),
        )
    grid = images.make_grid(np.stack(figure), num_cols=3 if not low_res else 2, pad=2)
    images.save_png(os.path.join(out, "comparison.png"), grid)
    keys = [k for k in rows[0] if k not in ("name", "height", "width")]
    result = {
        "workdir": workdir,
        "algorithm": config.algorithm,
        "scale": scale,
        "channels": "Y" if channels == 1 else "RGB",
        "scored_on": f"Y (BT.601), {scale}-pixel border cropped",
        "images": rows,
        "mean": {k: float(np.mean([r[k] for r in rows])) for k in keys},
        "images_per_second": upscaler.timed / upscaler.seconds
        if upscaler.timed
        else None,
    }
    with open(os.path.join(out, "scores.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


def score_table(result: dict) -> str:
    """A Markdown table of `upscale_photos`' per-image and mean scores."""
    lines = [
        "| image | size | bicubic PSNR | PSNR | bicubic SSIM | SSIM |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["images"] + [{"name": "mean", **result["mean"]}]:
        size = f"{r['width']}×{r['height']}" if "width" in r else ""
        lines.append(
            f"| {r['name']} | {size} | {r.get('bicubic_psnr', float('nan')):.2f} | "
            f"{r.get('psnr', float('nan')):.2f} | {r.get('bicubic_ssim', float('nan')):.4f}"
            f" | {r.get('ssim', float('nan')):.4f} |"
        )
    return "\n".join(lines)
