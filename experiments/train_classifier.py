"""Train the Fashion-MNIST classifier whose features give the domain feature distance.

    python -m experiments.train_classifier \
        --out=v101jax/metrics/weights/fashion_mnist_classifier.npz

Writes the weights (.npz, no pickle) with its test accuracy and settings as metadata.
"""

import os

from absl import flags

from experiments import cli

_OUT = flags.DEFINE_string("out", None, "Output .npz weights file.")
_DATA = flags.DEFINE_string(
    "fashion_mnist_dir", "/usr/share/datasets/fashion-mnist", "Fashion-MNIST IDX files."
)
_STEPS = flags.DEFINE_integer("num_steps", 3000, "Training steps.")
_BATCH = flags.DEFINE_integer("batch_size", 128, "Batch size.")
_LR = flags.DEFINE_float("learning_rate", 2e-3, "Peak learning rate.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the init and batch order.")


def main(argv):
    del argv
    import jax

    from v101jax.metrics import fashion_classifier, weights_io

    params, accuracy = fashion_classifier.train(
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
            "test_accuracy": f"{accuracy:.4f}",
            "num_steps": _STEPS.value,
            "batch_size": _BATCH.value,
            "learning_rate": _LR.value,
            "seed": _SEED.value,
            "jax_version": jax.__version__,
        },
    )
    print(f"test accuracy {accuracy:.4f}; wrote {os.path.abspath(_OUT.value)}")


if __name__ == "__main__":
    cli.run(main, required=("out",))
