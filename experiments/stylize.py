"""Stylise a photo with the style of another (Gatys et al. 2016: image optimisation).

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


def main(argv):
    del argv
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


if __name__ == "__main__":
    cli.run(main, required=("content", "style", "out"))
