"""The n_critic discriminator updates of one train step, on consecutive slices of its batch.

WGAN's algorithm 1 (and WGAN-GP's, StarGAN's) trains the critic n_critic times per generator
update, each time on fresh real data. A train step that receives data.batch_size examples
splits them into n_critic slices of data.batch_size / n_critic, runs one critic update per
slice, and gives the generator update the last slice (StarGAN's reference updates G on the
batch of the critic update just before it).
"""

import jax
import jax.numpy as jnp


def critic_updates(update, disc, batch, n_critic: int, key, *, unroll: bool):
    """`n_critic` updates `update(disc, batch_slice, key_i) -> (disc, scalars)`.

    Args:
      update: one critic update on one slice; key_i = fold_in(key, i) for update i.
      disc: the critic's TrainState (the scan carry).
      batch: a pytree of arrays [B, ...] with B a multiple of n_critic.
      n_critic: the number of updates.
      key: the critic purpose's key of this train step.
      unroll: n_critic copies of the update in the program (True) or one `lax.scan` (False).
        XLA's CPU backend runs convolutions inside a loop body several times slower
        (jax#12868; benchmarks/RESULTS.md), so convolutional critics unroll.

    Returns:
      (disc after the updates, each scalar averaged over the updates, the last slice).
    """
    # [B, ...] → [n_critic, B / n_critic, ...]: fresh real data for every critic update.
    slices = jax.tree.map(lambda a: a.reshape((n_critic, -1) + a.shape[1:]), batch)

    def one_update(disc, inputs):
        batch_slice, i = inputs
        return update(disc, batch_slice, jax.random.fold_in(key, i))

    if unroll:
        per_update = []
        for i in range(n_critic):
            batch_slice = jax.tree.map(lambda a, i=i: a[i], slices)
            disc, scalars = one_update(disc, (batch_slice, i))
            per_update.append(scalars)
        scalars = jax.tree.map(lambda *v: jnp.stack(v), *per_update)
    else:
        disc, scalars = jax.lax.scan(one_update, disc, (slices, jnp.arange(n_critic)))
    scalars = jax.tree.map(lambda v: jnp.mean(v, axis=0), scalars)
    last_slice = jax.tree.map(lambda a: a[-1], slices)
    return disc, scalars, last_slice
