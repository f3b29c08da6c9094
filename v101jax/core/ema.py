"""EMA decay schedule for parameter averages.

The average itself is `optax.incremental_update`; this file only adds the warm-up that keeps
early averages from being dominated by the random initialisation.
"""

import jax.numpy as jnp


def decay_at(step, max_decay: float, warmup: bool):
    """EMA decay used for the update that produces step `step + 1`.

    With warm-up, decay = min(max_decay, (1 + step) / (10 + step)) as in
    tf.train.ExponentialMovingAverage(num_updates=step); without, max_decay.
    """
    if max_decay <= 0.0:
        return jnp.zeros((), jnp.float32)
    if not warmup:
        return jnp.asarray(max_decay, jnp.float32)
    step = jnp.asarray(step, jnp.float32)
    return jnp.minimum(max_decay, (1.0 + step) / (10.0 + step))
