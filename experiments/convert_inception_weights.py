"""Convert pytorch-fid's InceptionV3 weights to the .npz that FID evaluation loads.

    pip install torch==2.13.0   # CPU build; only this conversion needs it
    python -m experiments.convert_inception_weights \
        --torch_weights=pt_inception-2015-12-05-6726825d.pth --out=inception_fid.npz

The input is the file pytorch-fid downloads (from its GitHub releases): the 2015 TensorFlow
FID graph in torchvision's layout. It is read with `torch.load(weights_only=True)`, which
refuses arbitrary pickled code; the output is a plain .npz loaded with allow_pickle=False.
"""

import os

from absl import flags

from experiments import cli

_TORCH = flags.DEFINE_string("torch_weights", None, "pytorch-fid's .pth file.")
_OUT = flags.DEFINE_string("out", None, "Output .npz.")


def main(argv):
    del argv
    from v101jax.metrics import inception, weights_io

    arrays = inception.convert_torch_state_dict(
        weights_io.read_torch_state_dict(_TORCH.value)
    )
    weights_io.save_arrays(_OUT.value, arrays)
    inception.load_variables(
        _OUT.value
    )  # fails here, not at evaluation, if it does not fit
    print(f"wrote {os.path.abspath(_OUT.value)} ({len(arrays)} arrays)")


if __name__ == "__main__":
    cli.run(main, required=("torch_weights", "out"))
