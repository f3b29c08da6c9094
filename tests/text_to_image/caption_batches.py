"""A caption batch of a text config's shapes for tests that only need a step to run."""

import jax.numpy as jnp
import numpy as np

from v101jax.training.loop import example_batch


def random_caption_batch(config, seed: int = 0) -> dict:
    """The config's example batch with uniform images in [-1, 1], distinct descriptions
    (so no caption counts as another's match) and random in-vocabulary word ids."""
    batch = {k: jnp.asarray(v) for k, v in example_batch(config).items()}
    rng = np.random.default_rng(seed)
    batch["x"] = jnp.asarray(rng.uniform(-1, 1, batch["x"].shape), jnp.float32)
    batch["description"] = jnp.arange(batch["x"].shape[0], dtype=jnp.int32)
    batch["captions"] = jnp.asarray(
        rng.integers(2, len(config.text.vocabulary), batch["captions"].shape), jnp.int32
    )
    return batch
