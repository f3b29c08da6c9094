"""Convert torchvision's VGG-16 / VGG-19 ImageNet weights to the .npz perceptual losses load.

    pip install torch==2.13.0   # CPU build; only this conversion needs it
    python -m experiments.convert_vgg_weights --torch_weights=vgg19-dcbbe7b0.pth \
        --depth=19 --out=vgg19.npz

The input is torchvision's file (`torchvision.models.vgg19(weights="IMAGENET1K_V1")`
downloads it to ~/.cache/torch/hub/checkpoints/). It is read with
`torch.load(weights_only=True)`, which refuses arbitrary pickled code; the output holds the
convolutions only ("conv1_1/kernel" HWIO, "conv1_1/bias", …), loaded with allow_pickle=False.
Then: --config.perceptual.network=vgg19 --config.perceptual.weights=vgg19.npz.
"""

import os

from absl import flags

from experiments import cli

_TORCH = flags.DEFINE_string(
    "torch_weights", None, "torchvision's vgg16/vgg19 .pth file."
)
_DEPTH = flags.DEFINE_enum("depth", "19", ["16", "19"], "VGG-16 or VGG-19.")
_OUT = flags.DEFINE_string("out", None, "Output .npz.")


def main(argv):
    del argv
    from v101jax import perceptual
    from v101jax.core.errors import WeightsError
    from v101jax.metrics import weights_io
    from v101jax.models import vgg
    from v101jax.perceptual import features

    depth = int(_DEPTH.value)
    try:
        arrays = vgg.convert_torch_state_dict(
            weights_io.read_torch_state_dict(_TORCH.value), depth
        )
    except ValueError as e:
        raise WeightsError(f"{_TORCH.value}: {e}") from None
    weights_io.save_arrays(_OUT.value, arrays)
    # Fails here, not at the first stylisation, if it does not fit.
    cfg = perceptual.default_config(f"vgg{depth}", _OUT.value)
    features.feature_network(cfg, [vgg.layer_names(depth)[-1]])
    print(f"wrote {os.path.abspath(_OUT.value)} ({len(arrays)} arrays)")


if __name__ == "__main__":
    cli.run(main, required=("torch_weights", "out"))
