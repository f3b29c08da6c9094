"""Small Fashion-MNIST subsets and a plain training loop for the autoencoder learning tests."""

import functools

import jax
import numpy as np

from v101jax.data import load_dataset


def fashion_mnist_subset(config, split: str, size: int) -> np.ndarray:
    """The first `size` images of `split`, float32 [size, 28, 28, 1] in [-1, 1]."""
    with config.unlocked():
        config.data.split = split
    return load_dataset(config.data)["x"][:size]


def train(algorithm, config, images: np.ndarray, num_steps: int, seed: int = 0):
    """`num_steps` jitted train steps on shuffled batches of `images`.

    Returns:
      (state, the compiled step function, for reuse).
    """
    batch_size = config.data.batch_size
    example = {"x": images[:batch_size], "label": np.zeros(batch_size, np.int32)}
    state = algorithm.init(config, jax.random.PRNGKey(seed), example)
    step = jax.jit(functools.partial(algorithm.train_step, config), donate_argnums=(0,))
    rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed + 1)
    order = np.empty(0, np.int64)
    for _ in range(num_steps):
        if len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(len(images))])
        idx, order = order[:batch_size], order[batch_size:]
        state, _ = step(state, {"x": images[idx], "label": example["label"]}, key)
    return state, step
