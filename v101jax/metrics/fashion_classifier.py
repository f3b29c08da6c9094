"""A small Fashion-MNIST CNN, trained by this project and shipped as a weights file, whose
penultimate layer gives a domain feature distance on machines without InceptionV3 weights.

Its numbers (FD, KID, IS on its 10 classes) compare runs of this project on Fashion-MNIST; they
are not comparable with published FIDs, which use InceptionV3 features.

Reproduce the shipped file with:
    python -m experiments.train_classifier --out=v101jax/metrics/weights/fashion_mnist_classifier.npz
"""

import functools
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from v101jax.data import fashion_mnist
from v101jax.metrics import weights_io

WEIGHTS_PATH = os.path.join(
    os.path.dirname(__file__), "weights", "fashion_mnist_classifier.npz"
)
NUM_CLASSES = 10
FEATURE_DIM = 128
_REPRODUCE = (
    "Reproduce it with: python -m experiments.train_classifier "
    f"--out={os.path.relpath(WEIGHTS_PATH, os.getcwd())}"
)


class FashionMNISTClassifier(nn.Module):
    """[N, 28, 28, 1] images in [-1, 1] → {"features": [N, 128], "logits": [N, 10]}."""

    @nn.compact
    def __call__(self, x):
        # Widths are powers of two: XLA's CPU convolutions are much slower otherwise.
        for width in (16, 32):
            x = nn.relu(nn.Conv(width, (3, 3))(x))
            x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = nn.relu(nn.Conv(32, (3, 3))(x))
        features = nn.relu(nn.Dense(FEATURE_DIM)(x.reshape(x.shape[0], -1)))
        return {"features": features, "logits": nn.Dense(NUM_CLASSES)(features)}


def abstract_params():
    model = FashionMNISTClassifier()
    return jax.eval_shape(
        model.init, jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1), jnp.float32)
    )["params"]


def load_params(path: str = WEIGHTS_PATH) -> tuple[dict, dict]:
    """(params, metadata) of the classifier stored at `path`."""
    return weights_io.load_npz(
        path, abstract_params(), what="Fashion-MNIST classifier", hint=_REPRODUCE
    )


@functools.lru_cache(maxsize=1)
def _shipped_params():
    return load_params()[0]


def class_logits(images):
    """Logits [N, 10] of the shipped classifier for [N, 28, 28, 1] images in [-1, 1]: a pure,
    jittable function (the weights are read once and become constants of the program), for
    `evaluate` hooks that score translations by the class they land in."""
    return FashionMNISTClassifier().apply({"params": _shipped_params()}, images)[
        "logits"
    ]


def accuracy(params, images, labels, batch_size: int = 1000) -> float:
    """Top-1 accuracy on uint8 or [-1, 1] float images."""
    apply = jax.jit(FashionMNISTClassifier().apply)
    correct = 0
    for start in range(0, len(images), batch_size):
        x = to_unit(images[start : start + batch_size])
        logits = apply({"params": params}, x)["logits"]
        correct += int(
            np.sum(np.argmax(logits, 1) == labels[start : start + batch_size])
        )
    return correct / len(images)


def to_unit(images) -> np.ndarray:
    """uint8 images as float32 in [-1, 1]; float images as float32, unchanged."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    return images.astype(np.float32)


def train(
    data_dir: str,
    *,
    num_steps: int = 3000,
    batch_size: int = 128,
    learning_rate: float = 2e-3,
    seed: int = 0,
    log_every: int = 500,
    num_test: int | None = None,
):
    """Trains the classifier on the train split; returns (params, test accuracy).

    `num_test` limits the accuracy to the first test images (default: all 10,000).

    Adam with a warm-up + cosine schedule, random horizontal flips. The batch order is a pure
    function of `seed`, so a rerun on the same machine and library versions reproduces the
    weights.
    """
    train_x, train_y = fashion_mnist.load(data_dir, "train")
    test_x, test_y = fashion_mnist.load(data_dir, "test")
    model = FashionMNISTClassifier()
    key = jax.random.PRNGKey(seed)
    params = model.init(key, jnp.zeros((1, 28, 28, 1), jnp.float32))["params"]

    def loss_fn(p, x, y):
        logits = model.apply({"params": p}, x)["logits"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    params = fit(
        params,
        loss_fn,
        train_x,
        lambda idx: (train_y[idx],),
        num_steps=num_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        rng=np.random.default_rng(seed),
        log_every=log_every,
        what="classifier",
    )
    return params, accuracy(params, test_x[:num_test], test_y[:num_test])


def fit(
    params,
    loss_fn,
    images,
    batch_inputs,
    *,
    num_steps: int,
    batch_size: int,
    learning_rate: float,
    rng,
    log_every: int,
    what: str,
):
    """Trains `params` on loss_fn(params, x, *batch_inputs(indices)) and returns them: the
    shipped networks' recipe (the classifier, the caption encoder).

    Adam with a linear warm-up (200 steps, at most a tenth of the run) and cosine decay; each
    step takes the next `batch_size` images of a permutation drawn from `rng` per epoch, in
    [-1, 1], each flipped horizontally with probability ½ (drawn from `rng` before
    batch_inputs is called, so batch_inputs may draw from it too).
    """
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, learning_rate, min(200, num_steps // 10), num_steps
    )
    tx = optax.adam(schedule)
    opt_state = tx.init(params)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(params, opt_state, x, *inputs):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, *inputs)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    n = len(images)
    order = rng.permutation(n)
    for i in range(num_steps):
        start = (i * batch_size) % n
        if start + batch_size > n:  # next epoch
            order = rng.permutation(n)
            start = 0
        idx = order[start : start + batch_size]
        x = to_unit(images[idx])
        flip = rng.random(batch_size) < 0.5
        x[flip] = x[flip, :, ::-1]
        params, opt_state, loss = step(params, opt_state, x, *batch_inputs(idx))
        if log_every and (i + 1) % log_every == 0:
            logging.info("%s step %d/%d  loss %.4f", what, i + 1, num_steps, loss)
    return params
