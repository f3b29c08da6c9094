"""InceptionV3 as used for FID: the 2015 TensorFlow graph in torchvision's layout
(pytorch-fid's `FIDInceptionA/C/E`), giving pool3 features [N, 2048] and logits [N, 1008].

FID is only comparable with published numbers when these exact weights are used. They cannot
be downloaded by the library: the user converts pytorch-fid's file once (README, "Evaluation"):

    python -m experiments.convert_inception_weights \
        --torch_weights=pt_inception-2015-12-05-6726825d.pth --out=inception_fid.npz

Module names follow torchvision (`Mixed_5b/branch1x1/conv`), so the conversion is a renaming
plus layout transposes. Differences from torchvision's ImageNet model, as in pytorch-fid: 1008
logits, average pools that exclude padding, and a max pool in the last block's pool branch.
"""

import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from v101jax.metrics import weights_io

INPUT_SIZE = 299
FEATURE_DIM = 2048
NUM_LOGITS = 1008
_HINT = (
    "Convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth with "
    "`python -m experiments.convert_inception_weights --torch_weights=FILE.pth "
    "--out=inception_fid.npz` and set config.eval.inception_weights (or "
    "--inception_weights) to the .npz."
)


def _pad(p):
    p = (p, p) if isinstance(p, int) else p
    return ((p[0], p[0]), (p[1], p[1]))


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (ε = 1e-3, running statistics), ReLU."""

    features: int
    kernel: tuple[int, int] | int
    strides: int = 1
    padding: tuple[int, int] | int = 0

    @nn.compact
    def __call__(self, x):
        k = (self.kernel, self.kernel) if isinstance(self.kernel, int) else self.kernel
        s = (self.strides, self.strides)
        x = nn.Conv(
            self.features, k, s, _pad(self.padding), use_bias=False, name="conv"
        )(x)
        x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
        return nn.relu(x)


def _avg_pool(x):
    return nn.avg_pool(x, (3, 3), (1, 1), _pad(1), count_include_pad=False)


def _max_pool(x, strides=2, padding=0):
    return nn.max_pool(x, (3, 3), (strides, strides), _pad(padding))


class InceptionA(nn.Module):
    pool_features: int

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv2d(64, 1, name="branch1x1")(x)
        b5 = BasicConv2d(48, 1, name="branch5x5_1")(x)
        b5 = BasicConv2d(64, 5, padding=2, name="branch5x5_2")(b5)
        b3 = BasicConv2d(64, 1, name="branch3x3dbl_1")(x)
        b3 = BasicConv2d(96, 3, padding=1, name="branch3x3dbl_2")(b3)
        b3 = BasicConv2d(96, 3, padding=1, name="branch3x3dbl_3")(b3)
        bp = BasicConv2d(self.pool_features, 1, name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b5, b3, bp], axis=-1)


class InceptionB(nn.Module):
    @nn.compact
    def __call__(self, x):
        b3 = BasicConv2d(384, 3, strides=2, name="branch3x3")(x)
        bd = BasicConv2d(64, 1, name="branch3x3dbl_1")(x)
        bd = BasicConv2d(96, 3, padding=1, name="branch3x3dbl_2")(bd)
        bd = BasicConv2d(96, 3, strides=2, name="branch3x3dbl_3")(bd)
        return jnp.concatenate([b3, bd, _max_pool(x)], axis=-1)


class InceptionC(nn.Module):
    channels_7x7: int

    @nn.compact
    def __call__(self, x):
        c = self.channels_7x7
        b1 = BasicConv2d(192, 1, name="branch1x1")(x)
        b7 = BasicConv2d(c, 1, name="branch7x7_1")(x)
        b7 = BasicConv2d(c, (1, 7), padding=(0, 3), name="branch7x7_2")(b7)
        b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name="branch7x7_3")(b7)
        bd = BasicConv2d(c, 1, name="branch7x7dbl_1")(x)
        bd = BasicConv2d(c, (7, 1), padding=(3, 0), name="branch7x7dbl_2")(bd)
        bd = BasicConv2d(c, (1, 7), padding=(0, 3), name="branch7x7dbl_3")(bd)
        bd = BasicConv2d(c, (7, 1), padding=(3, 0), name="branch7x7dbl_4")(bd)
        bd = BasicConv2d(192, (1, 7), padding=(0, 3), name="branch7x7dbl_5")(bd)
        bp = BasicConv2d(192, 1, name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b7, bd, bp], axis=-1)


class InceptionD(nn.Module):
    @nn.compact
    def __call__(self, x):
        b3 = BasicConv2d(192, 1, name="branch3x3_1")(x)
        b3 = BasicConv2d(320, 3, strides=2, name="branch3x3_2")(b3)
        b7 = BasicConv2d(192, 1, name="branch7x7x3_1")(x)
        b7 = BasicConv2d(192, (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
        b7 = BasicConv2d(192, (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
        b7 = BasicConv2d(192, 3, strides=2, name="branch7x7x3_4")(b7)
        return jnp.concatenate([b3, b7, _max_pool(x)], axis=-1)


class InceptionE(nn.Module):
    """`max_pool_branch`: pytorch-fid's FIDInceptionE_2 (Mixed_7c) pools by max, not mean."""

    max_pool_branch: bool = False

    @nn.compact
    def __call__(self, x):
        b1 = BasicConv2d(320, 1, name="branch1x1")(x)
        b3 = BasicConv2d(384, 1, name="branch3x3_1")(x)
        b3 = jnp.concatenate(
            [
                BasicConv2d(384, (1, 3), padding=(0, 1), name="branch3x3_2a")(b3),
                BasicConv2d(384, (3, 1), padding=(1, 0), name="branch3x3_2b")(b3),
            ],
            axis=-1,
        )
        bd = BasicConv2d(448, 1, name="branch3x3dbl_1")(x)
        bd = BasicConv2d(384, 3, padding=1, name="branch3x3dbl_2")(bd)
        bd = jnp.concatenate(
            [
                BasicConv2d(384, (1, 3), padding=(0, 1), name="branch3x3dbl_3a")(bd),
                BasicConv2d(384, (3, 1), padding=(1, 0), name="branch3x3dbl_3b")(bd),
            ],
            axis=-1,
        )
        pooled = (
            _max_pool(x, strides=1, padding=1) if self.max_pool_branch else _avg_pool(x)
        )
        bp = BasicConv2d(192, 1, name="branch_pool")(pooled)
        return jnp.concatenate([b1, b3, bd, bp], axis=-1)


class InceptionV3(nn.Module):
    """[N, 299, 299, 3] in [-1, 1] → {"features": pool3 [N, 2048], "logits": [N, 1008]}."""

    @nn.compact
    def __call__(self, x):
        x = BasicConv2d(32, 3, strides=2, name="Conv2d_1a_3x3")(x)
        x = BasicConv2d(32, 3, name="Conv2d_2a_3x3")(x)
        x = BasicConv2d(64, 3, padding=1, name="Conv2d_2b_3x3")(x)
        x = _max_pool(x)
        x = BasicConv2d(80, 1, name="Conv2d_3b_1x1")(x)
        x = BasicConv2d(192, 3, name="Conv2d_4a_3x3")(x)
        x = _max_pool(x)
        x = InceptionA(32, name="Mixed_5b")(x)
        x = InceptionA(64, name="Mixed_5c")(x)
        x = InceptionA(64, name="Mixed_5d")(x)
        x = InceptionB(name="Mixed_6a")(x)
        x = InceptionC(128, name="Mixed_6b")(x)
        x = InceptionC(160, name="Mixed_6c")(x)
        x = InceptionC(160, name="Mixed_6d")(x)
        x = InceptionC(192, name="Mixed_6e")(x)
        x = InceptionD(name="Mixed_7a")(x)
        x = InceptionE(name="Mixed_7b")(x)
        x = InceptionE(max_pool_branch=True, name="Mixed_7c")(x)
        features = jnp.mean(x, axis=(1, 2))
        return {
            "features": features,
            "logits": nn.Dense(NUM_LOGITS, name="fc")(features),
        }


def preprocess(images):
    """Library images ([-1, 1], NHWC, any size, 1 or 3 channels) → the network's input.

    Bilinear resize to 299×299 (half-pixel centres, as torch's interpolate with
    align_corners=False that pytorch-fid uses) and grey replicated to RGB.
    """
    images = jnp.asarray(images, jnp.float32)
    n, h, w, c = images.shape
    if c == 1:
        images = jnp.repeat(images, 3, axis=-1)
    elif c != 3:
        raise ValueError(f"InceptionV3 takes 1 or 3 channels, got {c}")
    if (h, w) != (INPUT_SIZE, INPUT_SIZE):
        images = jax.image.resize(
            images, (n, INPUT_SIZE, INPUT_SIZE, 3), "bilinear", antialias=False
        )
    return images


def abstract_variables():
    return jax.eval_shape(
        InceptionV3().init,
        jax.random.PRNGKey(0),
        jnp.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), jnp.float32),
    )


def load_variables(path: str) -> dict:
    """{"params", "batch_stats"} of InceptionV3 from a converted .npz (see module doc)."""
    if not path:
        raise weights_io.WeightsError(
            f"FID needs the InceptionV3 FID weights, and none were given. {_HINT}"
        )
    variables, _ = weights_io.load_npz(
        os.path.expanduser(path), abstract_variables(), what="InceptionV3", hint=_HINT
    )
    return variables


def convert_torch_state_dict(state_dict: dict) -> dict[str, np.ndarray]:
    """pytorch-fid / torchvision InceptionV3 state dict (name → NumPy array) → flat .npz keys.

    Conv weights OIHW → HWIO; Linear (out, in) → (in, out); BatchNorm weight/bias/running
    statistics → params scale/bias and batch_stats mean/var. The auxiliary classifier and
    `num_batches_tracked` counters are not part of the FID network and are skipped.
    """
    out = {}
    for name, value in state_dict.items():
        value = np.asarray(value, np.float32)
        if name.startswith("AuxLogits.") or name.endswith("num_batches_tracked"):
            continue
        *module, leaf = name.split(".")
        path = "/".join(module)
        if module[-1] == "conv" and leaf == "weight":
            out[f"params/{path}/kernel"] = value.transpose(2, 3, 1, 0)
        elif module[-1] == "bn":
            collection, key = {
                "weight": ("params", "scale"),
                "bias": ("params", "bias"),
                "running_mean": ("batch_stats", "mean"),
                "running_var": ("batch_stats", "var"),
            }[leaf]
            out[f"{collection}/{path}/{key}"] = value
        elif module == ["fc"]:
            out[f"params/fc/{'kernel' if leaf == 'weight' else 'bias'}"] = (
                value.T if leaf == "weight" else value
            )
        else:
            raise ValueError(f"unexpected array {name!r} in the InceptionV3 state dict")
    return out
