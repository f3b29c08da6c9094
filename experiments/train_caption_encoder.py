"""Train the contrastive image–caption encoder behind R-precision (captioned Fashion-MNIST).

    python -m experiments.train_caption_encoder \
        --out=v101jax/metrics/weights/fashion_mnist_caption_encoder.npz

Writes the weights (.npz, no pickle) with its held-out R-precision, vocabulary and settings
as metadata.
"""

import os

from absl import flags

from experiments import cli

_OUT = flags.DEFINE_string("out", None, "Output .npz weights file.")
_DATA = flags.DEFINE_string(
    "fashion_mnist_dir", "/usr/share/datasets/fashion-mnist", "Fashion-MNIST IDX files."
)
_STEPS = flags.DEFINE_integer("num_steps", 2000, "Training steps.")
_BATCH = flags.DEFINE_integer("batch_size", 256, "Batch size.")
_LR = flags.DEFINE_float("learning_rate", 2e-3, "Peak learning rate.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the init, batch order and templates.")


def main(argv):
    del argv
    import jax

    from v101jax.metrics import caption_encoder, weights_io

    params, r_precision = caption_encoder.train(
        _DATA.value,
        num_steps=_STEPS.value,
        batch_size=_BATCH.value,
        learning_rate=_LR.value,
        seed=_SEED.value,
    )
    weights_io.save_npz(
        _OUT.value,
        params,
        metadata={
            "test_r_precision": f"{r_precision:.4f}",
            "vocabulary": " ".join(caption_encoder.vocabulary()),
            "num_steps": _STEPS.value,
            "batch_size": _BATCH.value,
            "learning_rate": _LR.value,
            "seed": _SEED.value,
            "jax_version": jax.__version__,
        },
    )
    print(
        f"held-out R-precision {r_precision:.4f} (chance "
        f"{1 / caption_encoder.NUM_CANDIDATES:.2f}); wrote {os.path.abspath(_OUT.value)}"
    )


if __name__ == "__main__":
    cli.run(main, required=("out",))
