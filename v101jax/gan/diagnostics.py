"""Mode-collapse diagnostics computed inside the train step."""

import jax.numpy as jnp


def mean_pairwise_distance(x):
    """Mean Euclidean distance between distinct examples of x [N, ...] (N ≥ 2); a scalar.

    Of a generator's samples it measures diversity: a collapsed generator maps many z to
    (nearly) one output, and its mean pairwise distance falls far below the data's.
    """
    n = x.shape[0]
    flat = x.reshape(n, -1).astype(jnp.float32)
    sq = jnp.sum(flat**2, axis=-1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * flat @ flat.T
    dist = jnp.sqrt(jnp.maximum(d2, 0.0)) * (1.0 - jnp.eye(n))
    return jnp.sum(dist) / (n * (n - 1))
