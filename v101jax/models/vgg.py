"""VGG-16 and VGG-19 convolutional features (Simonyan & Zisserman 2015) with named layers, for
perceptual losses (style transfer, SRGAN's content loss).

Layers are named as the style-transfer literature names them: conv{b}_{i} is the i-th
convolution of block b, relu{b}_{i} its activation, pool{b} the block's pooling. Inputs are
images in [-1, 1] (grey images are repeated to RGB), mapped to [0, 1] and normalised with
ImageNet's channel statistics, as torchvision's weights expect. The network stops after the
deepest layer asked for.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

# Channels of each convolution, block by block.
BLOCKS = {
    16: ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    19: ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4),
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
POOLINGS = ("max", "avg")


def conv_names(depth: int) -> list[str]:
    """conv1_1, conv1_2, conv2_1, … in network order."""
    if depth not in BLOCKS:
        raise ValueError(
            f"VGG depth {depth} is not one of: {', '.join(map(str, BLOCKS))}"
        )
    return [
        f"conv{b}_{i}"
        for b, widths in enumerate(BLOCKS[depth], 1)
        for i in range(1, len(widths) + 1)
    ]


def layer_names(depth: int) -> list[str]:
    """Every named output in network order: conv, relu, …, pool of each block."""
    names = []
    for b, widths in enumerate(BLOCKS[depth], 1):
        for i in range(1, len(widths) + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return names


class VGGFeatures(nn.Module):
    """{name: activation [B, h, w, C]} of the requested `layers` for images [B, H, W, 1|3]."""

    layers: Sequence[str]
    depth: int = 19
    pooling: str = "max"  # Gatys et al. replace max pooling by average pooling
    kernel_init: nn.initializers.Initializer = nn.initializers.he_normal()

    @nn.compact
    def __call__(self, images):
        order = layer_names(self.depth)
        unknown = [name for name in self.layers if name not in order]
        if unknown:
            raise ValueError(
                f"VGG-{self.depth} has no layer {', '.join(unknown)}; layers are "
                f"{order[0]} … {order[-1]}"
            )
        last = max(order.index(name) for name in self.layers)
        x = images.astype(jnp.float32)
        if x.shape[-1] == 1:
            x = jnp.repeat(x, 3, axis=-1)
        x = ((x + 1.0) / 2.0 - np.asarray(IMAGENET_MEAN)) / np.asarray(IMAGENET_STD)
        out = {}
        position = 0
        for b, widths in enumerate(BLOCKS[self.depth], 1):
            for i, width in enumerate(widths, 1):
                x = nn.Conv(
                    width,
                    (3, 3),
                    padding=1,
                    kernel_init=self.kernel_init,
                    name=f"conv{b}_{i}",
                )(x)
                out[f"conv{b}_{i}"] = x
                x = nn.relu(x)
                out[f"relu{b}_{i}"] = x
                position += 2
                if position > last:
                    return {name: out[name] for name in self.layers}
            pool = nn.max_pool if self.pooling == "max" else nn.avg_pool
            x = pool(x, (2, 2), strides=(2, 2))
            out[f"pool{b}"] = x
            position += 1
            if position > last:
                return {name: out[name] for name in self.layers}
        return {name: out[name] for name in self.layers}


def convert_torch_state_dict(state_dict: dict, depth: int) -> dict[str, np.ndarray]:
    """torchvision's vgg16/vgg19 state dict (numpy arrays) → {"conv1_1/kernel": HWIO, …}.

    The convolutions are `features.N.weight` [out, in, 3, 3] and `features.N.bias` in
    increasing N; the classifier's arrays are not needed and are dropped.
    """
    weights = sorted(
        (int(k.split(".")[1]), k)
        for k in state_dict
        if k.startswith("features.") and k.endswith(".weight")
    )
    names = conv_names(depth)
    if len(weights) != len(names):
        raise ValueError(
            f"the state dict has {len(weights)} convolutions, VGG-{depth} has {len(names)}"
        )
    arrays = {}
    for name, (_, key) in zip(names, weights, strict=True):
        kernel = np.asarray(state_dict[key], np.float32)
        arrays[f"{name}/kernel"] = kernel.transpose(2, 3, 1, 0)  # OIHW → HWIO
        arrays[f"{name}/bias"] = np.asarray(
            state_dict[key.replace(".weight", ".bias")], np.float32
        )
    return arrays
