"""Stylise a photo with the style of another (Gatys et al. 2016: image optimisation), or with
a trained fast style-transfer network (Johnson et al. 2016: one forward pass).

    python -m experiments.stylize --content=astronaut --style=coffee --out=stylized.png
    python -m experiments.stylize --content=photo.jpg --style=painting.jpg --out=out.png \
        --config.perceptual.network=vgg19 --config.perceptual.weights=vgg19.npz \
        [--config.gatys.style_weight=1e4 --config.gatys.num_steps=500 ...]

--content and --style are image files or scikit-image's bundled photos by name (astronaut,
chelsea, coffee, rocket, …). The content is resized so its longer side is
config.gatys.image_size, the style to the content's size. Writes OUT (the stylised image)
and OUT_panel.png (content | style | result), and logs the loss terms every
config.gatys.log_every steps. The features are named in the log and in OUT_panel's file
name when they are the random fallback.

    python -m experiments.stylize --workdir=runs/fast_style --content=astronaut --out=out.png \
        [--size=512]

--workdir applies a trained fast_style run's network (the run's own style; no --style, no
--config) to the content at its own size, or with its longer side resized to --size: the
image is reflection-padded to the network's multiple of 4 and cropped back. It writes OUT
and OUT_panel.png (content | the run's style | result) and logs the time per image (after
compilation, the best of --repeats runs).
"""

import os

from absl import flags
from ml_collections import config_flags

from experiments import cli

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/gatys.py", "Style-transfer config: configs/gatys.py[:smoke]"
)
_CONTENT = flags.DEFINE_string(
    "content", None, "Content image: a file or a bundled name."
)
_STYLE = flags.DEFINE_string("style", None, "Style image: a file or a bundled name.")
_OUT = flags.DEFINE_string("out", None, "Output PNG.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of a noise initialisation.")
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "A trained fast_style run: stylise with its network instead."
)
_SIZE = flags.DEFINE_integer(
    "size", 0, "--workdir: the content's longer side (0: its own size)."
)
_REPEATS = flags.DEFINE_integer(
    "repeats", 3, "--workdir: timed runs of the network (the best is logged)."
)


def main(argv):
    del argv
    if _WORKDIR.value:
        return _fast(_WORKDIR.value)
    from v101jax.core.errors import ConfigError

    if not _STYLE.value:
        raise ConfigError(
            "--style is required (or --workdir of a trained fast_style run)"
        )
    import numpy as np
    from absl import logging
    from PIL import Image

    from v101jax.data import photos
    from v101jax.perceptual import features
    from v101jax.style_transfer import gatys
    from v101jax.training.images import to_uint8

    config = cli.config_value(_CONFIG)
    g = config.gatys
    content = photos.fit_longer_side(photos.load_photo(_CONTENT.value), g.image_size)
    h, w, _ = content.shape
    style = photos.resize_to(photos.load_photo(_STYLE.value), h, w)
    network = features.feature_network(
        config.perceptual, (*g.style_layers, g.content_layer)
    )
    logging.info("features: %s; %d×%d; %s", network.label, w, h, g.optimizer)

    def unit(image):
        return image.astype(np.float32) / 127.5 - 1.0

    result, history = gatys.stylize(
        config, unit(content), unit(style), seed=_SEED.value
    )
    out = _OUT.value
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    Image.fromarray(to_uint8(result)).save(out)
    panel = np.concatenate([content, style, to_uint8(result)], axis=1)
    stem = os.path.splitext(out)[0]
    tag = "" if network.is_vgg else "_random_features"
    Image.fromarray(panel).save(f"{stem}_panel{tag}.png")
    first, last = history[0][1], history[-1][1]
    print(
        f"wrote {out} and {stem}_panel{tag}.png ({network.label}); style loss "
        f"{first['style']:.4g} → {last['style']:.4g}, content loss "
        f"{first['content']:.4g} → {last['content']:.4g}"
    )


def _fast(workdir):
    """Stylises --content with the fast_style run in `workdir`."""
    import time

    import jax
    import numpy as np
    from absl import logging
    from PIL import Image

    from v101jax.algorithms import fast_style
    from v101jax.core.errors import ConfigError
    from v101jax.data import photos
    from v101jax.training.export import load_run_config, load_state
    from v101jax.training.images import to_uint8

    if _STYLE.value:
        raise ConfigError("--style: a fast_style run stylises with its own style only")
    config = load_run_config(workdir)
    if config.algorithm != "fast_style":
        raise ConfigError(
            f"--workdir={workdir} is a {config.algorithm!r} run, not a fast_style one"
        )
    if _SIZE.value < 0 or _REPEATS.value < 1:
        raise ConfigError("--size must be ≥ 0 and --repeats ≥ 1")
    state = load_state(config, workdir)
    content = photos.load_photo(_CONTENT.value)
    if _SIZE.value:
        content = photos.fit_longer_side(content, _SIZE.value)
    h, w, _ = content.shape
    if min(h, w) < 4:
        raise ConfigError(f"--content is {w}×{h}: the network needs at least 4×4")
    apply = jax.jit(lambda s, x: fast_style.stylize_any_size(config, s, x))
    x = content.astype(np.float32) / 127.5 - 1.0
    start = time.perf_counter()
    result = np.asarray(jax.block_until_ready(apply(state, x)))
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(_REPEATS.value):
        start = time.perf_counter()
        jax.block_until_ready(apply(state, x))
        times.append(time.perf_counter() - start)
    logging.info(
        "fast style: %d×%d in %.3f s per image (best of %d; first call with "
        "compilation %.1f s)",
        w,
        h,
        min(times),
        len(times),
        compile_s,
    )
    out = _OUT.value
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    result = to_uint8(result)
    Image.fromarray(result).save(out)
    style = photos.resize_to(photos.load_photo(config.fast_style.style), h, w)
    panel = np.concatenate([content, style, result], axis=1)
    stem = os.path.splitext(out)[0]
    random_features = config.perceptual.network.startswith("random_")
    tag = "_random_features" if random_features else ""
    Image.fromarray(panel).save(f"{stem}_panel{tag}.png")
    print(
        f"wrote {out} and {stem}_panel{tag}.png (fast_style run {workdir}, step "
        f"{int(state.step)}, features {config.perceptual.network}); {w}×{h} in "
        f"{min(times):.3f} s per image"
    )


if __name__ == "__main__":
    cli.run(main, required=("content", "out"), reads_saved_runs=True)
