"""The image pool of Shrivastava et al. 2017, as CycleGAN uses it: the discriminator is shown a
mix of the newest fakes and fakes from earlier generators, which damps oscillation.

Semantics of the reference (junyanz/pytorch-CycleGAN-and-pix2pix, util/image_pool.py), image by
image through the batch: while the pool holds fewer than `size` images, the fake is stored and
returned; once it is full, with probability ½ a random stored image is returned and the fake
takes its place, else the fake itself is returned. size 0 disables the pool.

Here the pool is a pytree of arrays ({"images": [size, H, W, C], "count": int32}) that lives in
the discriminator's TrainState.model_state, so it is checkpointed with the run and a resumed run
draws exactly what an uninterrupted one would. Written by hand: no JAX library keeps one.
"""

import jax
import jax.numpy as jnp


def init_pool(size: int, image_shape) -> dict:
    """An empty pool for `size` images of shape `image_shape` ([H, W, C])."""
    return {
        "images": jnp.zeros((size, *image_shape), jnp.float32),
        "count": jnp.zeros((), jnp.int32),
    }


def query_pool(pool: dict, fakes, rng) -> tuple[dict, jax.Array]:
    """(new pool, the images to show the discriminator) for a batch of `fakes` [B, H, W, C]."""
    size = pool["images"].shape[0]
    if size == 0:
        return pool, fakes

    def one(carry, x):
        images, count = carry
        image, key = x
        swap_key, index_key = jax.random.split(key)
        filling = count < size
        swap = ~filling & (jax.random.uniform(swap_key) < 0.5)
        index = jnp.where(filling, count, jax.random.randint(index_key, (), 0, size))
        shown = jnp.where(swap, images[index], image)
        images = jnp.where(filling | swap, images.at[index].set(image), images)
        return (images, jnp.minimum(count + 1, size)), shown

    keys = jax.random.split(rng, fakes.shape[0])
    (images, count), shown = jax.lax.scan(
        one, (pool["images"], pool["count"]), (fakes.astype(jnp.float32), keys)
    )
    return {"images": images, "count": count}, shown.astype(fakes.dtype)
