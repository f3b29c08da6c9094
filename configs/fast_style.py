"""Fast feed-forward style transfer (Johnson, Alahi & Fei-Fei 2016): a network trained to
stylise any photo with one style in a single forward pass.

    python -m experiments.main --config=configs/fast_style.py --workdir=runs/fast_style
    python -m experiments.stylize --workdir=runs/fast_style --content=astronaut --out=out.png

Data: crops of scikit-image's bundled photos (`data.source = "photos"`, a fixed held-out set
of photos for grids and evaluation; `data.photo_set = "folder"` reads data.folder/{split}/
instead, e.g. COCO as in the paper). The style is `fast_style.style`: an image file or a
bundled photo by name. Features: config.perceptual, VGG-16 with torchvision's weights once
converted (experiments.convert_vgg_weights) or the offline fallback random_vgg16 (the default
here; its results are labelled, and are not comparable with VGG's).

Presets (`--config=configs/fast_style.py:NAME`):
  (none)  CPU demo: 64×64 crops, batch 4, the paper's network at half width (16/32/64) with
          3 residual blocks, content relu2_2, style layers relu1_2 … relu3_3, 2000 steps:
          13 min on a 2-core CPU shared with other jobs (2.6 steps/s); held-out content loss
          0.79, style loss 0.21 with the coffee style (benchmarks/RESULTS.md).
  smoke   two steps at tiny sizes; used by the tests.
  paper   Johnson's: 256² crops, batch 4, widths 32/64/128, 5 residual blocks, transposed-
          convolution up-sampling, VGG-16 (converted weights: set perceptual.weights),
          content relu3_3, style relu1_2/2_2/3_3/4_3, Adam 1e-3, 40k iterations.
"""

from configs import base
from v101jax import perceptual


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "fast_style"

    data = config.data
    data.source = "photos"
    data.photo_set = "bundled"  # bundled (scikit-image's photos) | folder (data.folder)
    data.image_size = 64  # side of the square content crops
    data.channels = 3
    data.crop_stride = 32  # pixels between neighbouring crops of a photo
    # Constant crops (black sky, background) are dropped: through the network's instance
    # norms they give an infinite gradient (an immunohistochemistry-style run hit one at
    # step 1400); clipping cannot bound an infinite norm.
    data.min_crop_std = 2.0
    data.random_flip = True
    data.batch_size = 4  # the paper's

    # The transformation network (v101jax.models.transform_net): c9s1-C, dC·2, dC·4,
    # num_res_blocks residual blocks at C·4, uC·2, uC, c9s1-3; C = channels (paper: 32, 5).
    config.model.channels = 16
    config.model.num_res_blocks = 3

    # network: random_vgg16 (offline fallback) | vgg16 (the paper's; set weights) | vgg19 |
    # random_vgg19; weights: the converted .npz; pooling: max (VGG's, the paper's) | avg.
    config.perceptual = perceptual.default_config("random_vgg16")
    config.perceptual.pooling = "max"

    config.fast_style = f = base.ml_collections.ConfigDict()
    f.style = "coffee"  # the style image: a file, or a bundled photo by name
    f.style_size = 128  # the style image's longer side (the paper's code: 256)
    f.content_layer = "relu2_2"  # j of ℓ_feat (paper: relu3_3)
    f.style_layers = ("relu1_2", "relu2_2", "relu3_3")  # paper: + relu4_3
    f.style_layer_weights = ()  # w_l, one per style layer; empty: all 1
    f.content_weight = 1.0  # λ_c
    # λ_s (Grams normalised by C·H·W, squared error summed over C×C) and λ_TV (of the
    # mean absolute neighbour difference), set for the random features on short runs: at
    # λ_s = 10 the outputs lose their content (one texture for every crop).
    f.style_weight = 0.5
    f.tv_weight = 0.2
    # resize_conv: nearest 2× resize + 3×3 convolution (no checkerboard artefacts) |
    # transpose: the paper's 3×3 stride-2 transposed convolution
    f.upsample = "resize_conv"

    # Adam 1e-3 (the paper's), no clipping, no EMA.
    o = config.optim
    o.learning_rate = 1e-3
    o.grad_clip_norm = 0.0
    o.ema_decay = 0.0

    config.train.num_steps = 2000
    config.train.log_every = 100
    config.train.checkpoint_every = 1000
    config.train.sample_every = 1000
    config.train.num_sample_images = 16
    config.sample.num_samples = 16
    # Held-out content, style and TV losses (no image-quality extractor applies).
    config.eval.every_steps = 1000
    config.eval.num_samples = 64
    config.eval.batch_size = 32
    config.eval.extractor = "none"

    _apply_preset(config, arg)
    config.lock()
    return config


def _apply_preset(config, arg):
    if arg in (None, "", "demo"):
        return
    if arg == "smoke":
        base.apply_smoke_training(config)
        config.data.batch_size = 2
        config.data.image_size = 16
        config.data.crop_stride = 16
        config.model.channels = 4
        config.model.num_res_blocks = 1
        config.fast_style.style_size = 32
        config.eval.every_steps = 2
        config.eval.num_samples = 4
        config.eval.batch_size = 4
    elif arg == "paper":
        data = config.data
        data.image_size = 256
        data.crop_stride = 128
        data.batch_size = 4
        config.model.channels = 32
        config.model.num_res_blocks = 5
        config.perceptual.network = "vgg16"
        config.perceptual.weights = ""  # the converted vgg16.npz
        f = config.fast_style
        f.style_size = 256
        f.content_layer = "relu3_3"
        f.style_layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
        f.upsample = "transpose"
        # λ_s and λ_TV stay the demo's (set for the random features); VGG-16's features have
        # other scales, so tune fast_style.style_weight on a short run (Johnson's code uses
        # λ_s / λ_c = 5 on Grams averaged over C×C and 0–255 pixel values).
        config.train.num_steps = 40_000
        config.train.log_every = 500
        config.train.checkpoint_every = 5000
        config.train.sample_every = 5000
        config.eval.every_steps = 5000
    else:
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, smoke, paper")
