"""Fast feed-forward style transfer (Johnson, Alahi & Fei-Fei 2016, "Perceptual losses for
real-time style transfer and super-resolution").

An image transformation network f_W (v101jax.models.transform_net) is trained on content
crops x so that ŷ = f_W(x) keeps x's features and takes on one style image y_s's Gram
matrices (the paper's eqs. 2–5, the losses of Gatys et al. on a fixed feature network φ):

    L(W) = λ_c · ℓ_feat(ŷ, x) + λ_s · Σ_l w_l · ‖G_l(ŷ) − G_l(y_s)‖²_F + λ_TV · TV(ŷ)

    ℓ_feat = ‖φ_j(ŷ) − φ_j(x)‖² / (C_j H_j W_j)     content, one layer j (relu3_3)
    G_l    = φ_l(·)ᵀ φ_l(·) / (C_l H_l W_l)          Gram matrices, relu1_2 … relu4_3

(v101jax.perceptual.losses; `fast_style` holds λ_c, λ_s, λ_TV, the layers and the style).
After training, one forward pass stylises an image of any size: the paper's point, three
orders of magnitude faster than Gatys et al.'s optimisation of each image.

φ is config.perceptual's network: VGG-16 with converted ImageNet weights as in the paper, or
the labelled offline fallback random_vgg16 (random He-normal features; not comparable with
VGG results). Its parameters and the style's Gram targets G_l(y_s), computed once in `init`
from `fast_style.style` (an image file or a bundled photo, its longer side resized to
`fast_style.style_size`), are the state's frozen entries, so jit receives them as arguments
rather than baking them into the program, and a checkpoint carries them. The style file is
read whenever the state is built (training and restoring alike; cached per process).

Batches: {"x": content crops [B, S, S, 3] in [-1, 1], "label"} (`data.source = "photos"`).
`sample` takes inputs={"source": content images [N, H, W, 3]} (H, W multiples of 4) and
returns the stylised images; grids show held-out content | stylised pairs
(`sampling_inputs`), experiments.translate applies a run to a folder (`translation_inputs`)
and `evaluate` reports the held-out content, style and TV losses.

State: MultiState(networks={"transform"}, frozen={"features", "style_grams"}).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from v101jax.algorithms.contract import Algorithm
from v101jax.core import precision
from v101jax.core.errors import ConfigError, require_non_negative
from v101jax.core.inputs import one_domain_translation, source_images
from v101jax.core.optim import make_optimizer
from v101jax.core.train_state import (
    MultiState,
    TrainState,
    gradient_step,
    sampling_params,
)
from v101jax.data import photos
from v101jax.models import transform_net, vgg
from v101jax.perceptual import features as perceptual_features
from v101jax.perceptual import losses

NETWORK = "transform"
MIN_STYLE_SIZE = 16  # relu4_3 sits behind three 2× poolings


def _layers(config) -> tuple[str, ...]:
    f = config.fast_style
    return tuple(dict.fromkeys((*f.style_layers, f.content_layer)))


def feature_module(config):
    """φ: the parameter-free feature module returning the style and content layers."""
    return perceptual_features.feature_module(config.perceptual, _layers(config))


def validate(config, image_shape) -> None:
    """ConfigError naming the field for values fast style transfer cannot use (content
    crops [S, S, C])."""
    f, m = config.fast_style, config.model
    if image_shape[-1] != 3:
        raise ConfigError(
            f"fast_style stylises RGB images: data.channels={image_shape[-1]} must be 3"
        )
    for size in image_shape[:2]:
        if size % transform_net.DOWNSAMPLING:
            raise ConfigError(
                f"data.image_size={size} must be a multiple of "
                f"{transform_net.DOWNSAMPLING} (the network's two stride-2 layers)"
            )
    require_non_negative(
        config, "fast_style", ("content_weight", "style_weight", "tv_weight")
    )
    if not f.style_layers:
        raise ConfigError("fast_style.style_layers is empty")
    if f.style_layer_weights and len(f.style_layer_weights) != len(f.style_layers):
        raise ConfigError(
            f"fast_style.style_layer_weights has {len(f.style_layer_weights)} values for "
            f"{len(f.style_layers)} fast_style.style_layers"
        )
    depth = 19 if config.perceptual.network.endswith("19") else 16
    order = vgg.layer_names(depth)
    for field, names in (
        ("content_layer", (f.content_layer,)),
        ("style_layers", tuple(f.style_layers)),
    ):
        unknown = [n for n in names if n not in order]
        if unknown:
            raise ConfigError(
                f"fast_style.{field}: VGG-{depth} has no layer {', '.join(unknown)} "
                f"(layers: {order[0]} … {order[-1]})"
            )
    if f.upsample not in transform_net.UPSAMPLING:
        raise ConfigError(
            f"fast_style.upsample={f.upsample!r} is not one of: "
            f"{', '.join(transform_net.UPSAMPLING)}"
        )
    if f.style_size < MIN_STYLE_SIZE:
        raise ConfigError(
            f"fast_style.style_size={f.style_size} must be ≥ {MIN_STYLE_SIZE}"
        )
    if m.channels < 1 or m.num_res_blocks < 0:
        raise ConfigError(
            f"model.channels={m.channels} must be ≥ 1 and model.num_res_blocks="
            f"{m.num_res_blocks} ≥ 0"
        )


def make_network(config) -> transform_net.TransformNet:
    """The transformation network from explicit config fields."""
    return transform_net.TransformNet(
        channels=config.model.channels,
        num_blocks=config.model.num_res_blocks,
        upsample=config.fast_style.upsample,
        dtype=precision.compute_dtype(config.model.dtype),
    )


@functools.lru_cache(maxsize=8)
def _style_image(spec: str, size: int) -> np.ndarray:
    image = photos.fit_longer_side(photos.load_photo(spec), size)
    return image.astype(np.float32) / 127.5 - 1.0


def style_image(config) -> np.ndarray:
    """The style y_s: float32 [1, h, w, 3] in [-1, 1], longer side fast_style.style_size."""
    f = config.fast_style
    return _style_image(f.style, f.style_size)[None]


def style_targets(config, feature_params, style) -> dict:
    """{layer: G_l(y_s) [C, C]} of the style image [1, h, w, 3]."""
    feats = feature_module(config).apply({"params": feature_params}, style)
    return {
        name: losses.gram_matrix(feats[name])[0]
        for name in config.fast_style.style_layers
    }


def init(config, rng, example_batch) -> MultiState:
    """The network and its optimiser; φ's parameters and the style's Gram matrices as the
    frozen entries."""
    x = example_batch.get("x")
    if x is None:
        raise ConfigError(
            f"fast_style trains on single images (batches with 'x'); data.source="
            f"{config.data.source!r} gives {sorted(example_batch)}"
        )
    validate(config, x.shape[1:])
    net = make_network(config)
    params = net.init(rng, x[:1])["params"]
    o = config.optim
    transform = TrainState.create(
        apply_fn=net.apply,
        params=params,
        tx=make_optimizer(o, config.train.num_steps),
        ema_decay=o.ema_decay,
        ema_warmup=o.ema_warmup,
    )
    phi = perceptual_features.feature_network(config.perceptual, _layers(config))
    grams = style_targets(config, phi.params, jnp.asarray(style_image(config)))
    return MultiState(
        networks={NETWORK: transform},
        frozen={"features": phi.params, "style_grams": grams},
        primary=NETWORK,
    )


def perceptual_loss(config, state: MultiState, content, stylized):
    """(L, {"content", "style", "tv"}) of stylised images ŷ [B, H, W, 3] of the content x."""
    f = config.fast_style
    phi = feature_module(config)
    content_only = perceptual_features.feature_module(
        config.perceptual, (f.content_layer,)
    )
    variables = {"params": state["features"]}
    # φ_j(x) is a target: no gradient, and the forward pass stops at layer j.
    target = jax.lax.stop_gradient(
        content_only.apply(variables, content)[f.content_layer]
    )
    return losses.style_transfer_loss(
        f, stylized, phi.apply(variables, stylized), target, state["style_grams"]
    )


def train_step(config, state: MultiState, batch, rng):
    """One Adam step of the network on L over the batch's content crops (deterministic:
    `rng` unused)."""
    del rng
    net = state[NETWORK]
    x = batch["x"]

    def loss_fn(params):
        stylized = net.apply_fn({"params": params}, x)
        total, parts = perceptual_loss(config, state, x, stylized)
        scalars = {"loss": total, **{f"{k}_loss": v for k, v in parts.items()}}
        return total, {"scalars": scalars}

    net, metrics, _ = gradient_step(net, loss_fn)
    return state.replace_networks(**{NETWORK: net}), metrics


def stylize(config, state: MultiState, images):
    """f_W(images) for content images [N, H, W, 3] in [-1, 1] (H, W multiples of 4)."""
    net = state[NETWORK]
    params = sampling_params(net, config.sample.use_ema)
    return net.apply_fn({"params": params}, jnp.asarray(images, jnp.float32))


def stylize_any_size(config, state: MultiState, image):
    """f_W of one content image [H, W, 3] of any size ≥ 4: reflection-padded on the bottom
    and right to multiples of 4, stylised, and cropped back to [H, W, 3]."""
    h, w, _ = image.shape
    m = transform_net.DOWNSAMPLING
    pad = ((0, -h % m), (0, -w % m), (0, 0))
    padded = jnp.pad(jnp.asarray(image, jnp.float32), pad, mode="reflect")
    return stylize(config, state, padded[None])[0, :h, :w]


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """The stylised inputs={"source": content images [num_samples, H, W, 3]}: NHWC in
    [-1, 1]. Deterministic (`rng` unused); EMA weights when config.sample.use_ema (equal to
    the raw weights unless optim.ema_decay > 0)."""
    del rng
    source = source_images(
        config, inputs, num_samples, does="stylises images", what="content images"
    )
    return stylize(config, state, source)


def sampling_inputs(config, num_samples: int, held_out):
    """{"source": the first num_samples held-out content crops}."""
    return {"source": held_out(num_samples)["x"]}


def translation_inputs(config, source, target_domain):
    """{"source": source}: a run has one style."""
    return one_domain_translation(config, source, target_domain, has="one style")


def evaluate(config, state: MultiState, batch, rng):
    """The held-out content, style and TV losses (and their weighted total L) of the
    stylised held-out crops."""
    del rng
    x = batch["x"]
    total, parts = perceptual_loss(config, state, x, stylize(config, state, x))
    return {"loss": total, **{f"{k}_loss": v for k, v in parts.items()}}


ALGORITHM = Algorithm(
    name="fast_style",
    init=init,
    train_step=train_step,
    sample=sample,
    sampling_inputs=sampling_inputs,
    translation_inputs=translation_inputs,
    evaluate=evaluate,
)
