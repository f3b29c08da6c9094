"""The feature network behind perceptual losses, chosen by config.perceptual:

  network   vgg19 | vgg16 (torchvision's ImageNet weights, converted once to .npz by
            experiments.convert_vgg_weights) | random_vgg19 | random_vgg16
  weights   the converted .npz (VGG networks only)
  pooling   max | avg (Gatys et al. use average pooling)
  seed      the random networks' weights

Offline, where the VGG weights are absent, a random VGG-shaped network still carries texture
statistics (Ustyuzhaninov et al. 2017; He, Wang & Hopcroft 2016): He-normal weights keep each
layer's activations at one scale through the depth, the per-layer normalisation such networks
need. Everything made with one says so in its label (`FeatureNetwork.label`), since its
numbers and images are not VGG's.

A training algorithm keeps `FeatureNetwork.params` in its state (frozen) and applies them
with the module from `feature_module`, which reads no file, inside its jitted step.
"""

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from v101jax.core.errors import ConfigError
from v101jax.metrics import weights_io
from v101jax.models import vgg

NETWORKS = ("vgg19", "vgg16", "random_vgg19", "random_vgg16")
CONVERT_HINT = (
    "Convert torchvision's weights once: python -m experiments.convert_vgg_weights "
    "--torch_weights=vgg19-dcbbe7b0.pth --depth=19 --out=vgg19.npz (or set "
    "perceptual.network=random_vgg19 for the offline fallback)"
)


@dataclasses.dataclass(frozen=True)
class FeatureNetwork:
    apply: Callable  # images [B, H, W, C] in [-1, 1] → {layer: features}
    label: str  # what made the features, for figures and tables
    is_vgg: bool  # False for the random fallback
    # The parameter-free module and its parameters, for algorithms that keep the parameters
    # in their state (frozen, not jit-captured constants) and call
    # module.apply({"params": params}, images); `apply` is that call with these parameters.
    module: vgg.VGGFeatures
    params: Any


def _depth(perceptual_cfg) -> int:
    name = perceptual_cfg.network
    if name not in NETWORKS:
        raise ConfigError(
            f"perceptual.network={name!r} is not one of: {', '.join(NETWORKS)}"
        )
    return 19 if name.endswith("19") else 16


def feature_module(perceptual_cfg, layers) -> vgg.VGGFeatures:
    """The module of `perceptual_cfg` returning `layers` (names of v101jax.models.vgg),
    validated, without parameters: cheap (reads no file), so a jitted step can rebuild it
    and apply the parameters its state holds."""
    depth = _depth(perceptual_cfg)
    if perceptual_cfg.pooling not in vgg.POOLINGS:
        raise ConfigError(
            f"perceptual.pooling={perceptual_cfg.pooling!r} is not one of: "
            f"{', '.join(vgg.POOLINGS)}"
        )
    order = vgg.layer_names(depth)
    unknown = [layer for layer in layers if layer not in order]
    if unknown:
        raise ConfigError(
            f"VGG-{depth} has no layer {', '.join(unknown)} (layers: {order[0]} … "
            f"{order[-1]}, e.g. relu4_2)"
        )
    return vgg.VGGFeatures(
        layers=tuple(layers), depth=depth, pooling=perceptual_cfg.pooling
    )


def feature_network(perceptual_cfg, layers) -> FeatureNetwork:
    """The network of `perceptual_cfg` returning `layers` (names of v101jax.models.vgg)."""
    name = perceptual_cfg.network
    module = feature_module(perceptual_cfg, layers)
    depth = module.depth
    example = jnp.zeros((1, 32, 32, 3), jnp.float32)
    if name.startswith("random_"):
        params = module.init(jax.random.PRNGKey(perceptual_cfg.seed), example)["params"]
        label = (
            f"random VGG-{depth} (He-normal, seed {perceptual_cfg.seed}; not VGG's "
            "features)"
        )
    else:
        expected = jax.eval_shape(module.init, jax.random.PRNGKey(0), example)["params"]
        params, _ = weights_io.load_npz(
            perceptual_cfg.weights, expected, what=f"VGG-{depth}", hint=CONVERT_HINT
        )
        label = f"VGG-{depth} ({os.path.basename(perceptual_cfg.weights)})"

    def apply(images):
        return module.apply({"params": params}, images)

    return FeatureNetwork(
        apply=apply,
        label=label,
        is_vgg=not name.startswith("random_"),
        module=module,
        params=params,
    )
