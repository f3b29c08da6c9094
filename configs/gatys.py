"""Neural style transfer by image optimisation (Gatys, Ecker & Bethge 2016).

    python -m experiments.stylize --content=astronaut --style=coffee --out=stylized.png
    python -m experiments.stylize --config=configs/gatys.py --content=photo.jpg \\
        --style=painting.jpg --out=out.png --config.perceptual.network=vgg19 \\
        --config.perceptual.weights=vgg19.npz

Images are files or scikit-image's bundled photos by name. Features: VGG-19 with torchvision's
weights once converted (experiments.convert_vgg_weights), else the offline fallback
`random_vgg19` (the default here, since the weights cannot be downloaded on every machine;
its outputs are labelled as such). Layers follow the paper: content relu4_2, style relu1_1 …
relu5_1 with equal weights, average pooling.
"""

import ml_collections

from v101jax import perceptual


def get_config(arg=None):
    config = ml_collections.ConfigDict()
    # network: vgg19 | vgg16 | random_vgg19 | random_vgg16; weights: the converted VGG
    # .npz; pooling: avg (the paper replaces max pooling) | max; seed: the random networks'.
    config.perceptual = perceptual.default_config("random_vgg19")

    config.gatys = g = ml_collections.ConfigDict()
    g.content_layer = "relu4_2"
    g.style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    g.style_layer_weights = ()  # one per style layer; empty: equal
    g.content_weight = 1.0  # α
    g.style_weight = 1e3  # β (Grams normalised by C·H·W)
    g.tv_weight = 1e-2  # γ of the total variation (smoothness) term
    g.image_size = 256  # the content image's longer side; the style is resized to match
    g.optimizer = "lbfgs"  # lbfgs (the paper's) | adam
    g.learning_rate = 0.02  # adam only
    g.num_steps = 300
    g.log_every = 25  # steps per compiled chunk and progress line
    g.init = "content"  # content | noise
    if arg == "smoke":
        g.image_size = 32
        g.num_steps = 4
        g.log_every = 2
    elif arg not in (None, ""):
        raise ValueError(f"unknown preset {arg!r}; choose one of: smoke")
    config.lock()
    return config
