"""Translating a user's images with a trained image-to-image run (experiments.translate).

Inputs are a folder of images (PNG, JPEG, BMP, … in name order) or an .npz with `images`
(uint8 [N, H, W, C], as experiments.sample writes). They are converted to the run's channels
(grey ↔ RGB), resized to its image size when they differ (bicubic, as v101jax.data.folders) and scaled to [-1, 1].
The outputs: one PNG per input (the input's name), translations.npz (`images`, `sources`,
uint8) and grid.png of input | output pairs, or input | output | target triples when the
targets are given.
"""

import math
import os

import jax
import numpy as np
from absl import logging

from v101jax.algorithms import get_algorithm
from v101jax.core.errors import ConfigError, DataError
from v101jax.data import folders, sample_shape
from v101jax.training import images, sampling
from v101jax.training.export import load_run_config, load_samples_file, load_state
from v101jax.training.progress import log_progress

GRID_IMAGES = 64  # inputs shown in grid.png


def read_images(path: str, shape) -> tuple[np.ndarray, list[str]]:
    """(float32 [N, H, W, C] in [-1, 1], one name per image) from a folder or an .npz,
    converted to `shape` = (H, W, C)."""
    if os.path.isdir(path):
        array, stems = folders.read_image_folder(path, shape)
    else:
        array, _ = load_samples_file(path)
        array = _convert(array, shape)
        stems = [f"{i:05d}" for i in range(len(array))]
    return array.astype(np.float32) / 127.5 - 1.0, stems


def _convert(array: np.ndarray, shape) -> np.ndarray:
    """uint8 [N, H', W', C'] → [N, H, W, C]: grey ↔ RGB, then the folders' resize."""
    c = shape[-1]
    if array.shape[-1] != c:
        if array.shape[-1] == 1:
            array = np.repeat(array, c, axis=-1)
        elif array.shape[-1] == 3 and c == 1:
            # ITU-R 601 luma, as PIL's convert("L").
            array = (array @ np.array([0.299, 0.587, 0.114]))[..., None]
            array = np.round(array).astype(np.uint8)
        else:
            raise DataError(
                f"images with {array.shape[-1]} channels cannot become the run's {c}"
            )
    return folders.resize_images(array, shape)


def translate_images(
    workdir: str,
    inputs: str,
    out: str,
    *,
    target_domain: int | None = None,
    targets: str | None = None,
    batch_size: int = 256,
    use_ema: bool = True,
    defaults=None,
) -> int:
    """Translates the images at `inputs` with the run in `workdir` into `target_domain` and
    writes them under `out` (see the module docstring); returns how many it translated."""
    config = load_run_config(workdir, defaults)
    algorithm = get_algorithm(config.algorithm)
    if algorithm.translation_inputs is None:
        raise ConfigError(
            f"{workdir} is a {config.algorithm!r} run, not an image-to-image one "
            "(pix2pix, cyclegan, stargan): it has nothing to translate"
        )
    with config.unlocked():
        config.sample.use_ema = use_ema
    shape = sample_shape(config.data)
    source, names = read_images(inputs, shape)
    target_images = None
    if targets:
        target_images, _ = read_images(targets, shape)
        if len(target_images) != len(source):
            raise DataError(
                f"{len(target_images)} targets for {len(source)} inputs: give one target "
                "per input, in the same order"
            )
    sample_inputs = algorithm.translation_inputs(config, source, target_domain)
    state = load_state(config, workdir)
    chunks = sampling.sample_chunks(
        sampling.chunked_sampler(config),
        state,
        len(source),
        batch_size,
        jax.random.PRNGKey(0),  # translations are deterministic; the key is unused
        inputs=sample_inputs,
    )
    outputs = np.concatenate(
        list(log_progress(chunks, len(source), label="translated", unit="images"))
    )
    os.makedirs(out, exist_ok=True)
    translated = images.to_uint8(outputs)
    for name, picture in zip(names, translated, strict=True):
        images.save_png(os.path.join(out, f"{name}.png"), picture)
    np.savez_compressed(
        os.path.join(out, "translations.npz"),
        images=translated,
        sources=images.to_uint8(source),
    )
    columns = [source, outputs] + ([] if target_images is None else [target_images])
    n = min(GRID_IMAGES, len(source))
    tiles = np.stack([col[:n] for col in columns], axis=1).reshape((-1, *shape))
    grid = images.make_grid(
        images.to_uint8(tiles), num_cols=len(columns) * math.ceil(math.sqrt(n))
    )
    images.save_png(os.path.join(out, "grid.png"), grid)
    logging.info(
        "wrote %d translations, translations.npz and grid.png to %s", len(source), out
    )
    return len(source)
