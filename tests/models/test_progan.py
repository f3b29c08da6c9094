"""ProGAN's growing networks: at α = 0 a stage's fade-in reproduces the previous stage exactly
(the generator's output upsampled, the discriminator's score of the downsampled input), at
α = 1 it is the new block alone, and between the two it blends linearly; one parameter tree
serves every stage."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.keys import (  # noqa: F401 - the fixture is autouse
    fast_compiling_keys,
    fast_compiling_keys_fixture,
)
from v101jax.models.progan import (
    ProDiscriminator,
    ProGenerator,
    downsample,
    upsample,
)

WIDTHS = (16, 16, 8, 8)  # 4, 8, 16, 32 px


@pytest.fixture(scope="module")
def generator():
    gen = ProGenerator(widths=WIDTHS, channels=1)
    z = jax.random.normal(jax.random.PRNGKey(0), (4, 8))
    with fast_compiling_keys():  # module fixtures start before the autouse one
        variables = jax.jit(gen.init)(jax.random.PRNGKey(1), z)
    return gen, variables, z


@pytest.fixture(scope="module")
def discriminator():
    disc = ProDiscriminator(widths=WIDTHS, group_size=2)
    x = jax.random.normal(jax.random.PRNGKey(2), (4, 32, 32, 1))
    with fast_compiling_keys():
        variables = jax.jit(disc.init)(jax.random.PRNGKey(3), x)
    return disc, variables, x


@pytest.mark.parametrize("stage", [1, 3])
def test_generator_fade_in_starts_at_the_previous_stage_upsampled(generator, stage):
    gen, variables, z = generator
    run = jax.jit(lambda s, a: gen.apply(variables, z, s, a), static_argnums=0)
    previous = np.asarray(run(stage - 1, 1.0))
    start, end, middle = (np.asarray(run(stage, a)) for a in (0.0, 1.0, 0.5))
    size = 4 * 2**stage
    assert start.shape == end.shape == (4, size, size, 1)
    np.testing.assert_allclose(start, np.asarray(upsample(previous)), atol=1e-5)
    new_block = gen.apply(
        variables, z, method=lambda m, z: m.to_rgb[stage](m.features(z, stage)[-1])
    )
    np.testing.assert_allclose(end, np.asarray(new_block), atol=1e-5)
    np.testing.assert_allclose(middle, (start + end) / 2, atol=1e-5)
    assert np.abs(end - start).max() > 1e-3  # the new block does change the image


@pytest.mark.parametrize("stage", [1, 3])
def test_discriminator_fade_in_starts_at_the_previous_stage_on_pooled_input(
    discriminator, stage
):
    disc, variables, x = discriminator
    size = 4 * 2**stage
    # An image at stage `stage`'s resolution: the real images are pooled to it the same way.
    image = x
    for _ in range(3 - stage):
        image = downsample(image)
    assert image.shape[1] == size
    run = jax.jit(lambda x, s, a: disc.apply(variables, x, s, a), static_argnums=1)
    start, end = (np.asarray(run(image, stage, a)) for a in (0.0, 1.0))
    np.testing.assert_allclose(
        start, np.asarray(run(downsample(image), stage - 1, 1.0)), rtol=1e-5, atol=1e-5
    )
    assert np.abs(end - start).max() > 1e-4


def test_one_parameter_tree_serves_every_stage(generator, discriminator):
    gen, g_vars, _ = generator
    disc, d_vars, _ = discriminator
    to_rgb = [k for k in g_vars["params"] if k.startswith("to_rgb")]
    from_rgb = [k for k in d_vars["params"] if k.startswith("from_rgb")]
    assert len(to_rgb) == len(from_rgb) == len(WIDTHS)
    for stage in range(len(WIDTHS)):
        z = jnp.zeros((2, 8))
        out = jax.eval_shape(lambda v, z=z, s=stage: gen.apply(v, z, s, 0.5), g_vars)
        size = 4 * 2**stage
        assert out.shape == (2, size, size, 1)
        x = jnp.zeros((2, size, size, 1))
        score = jax.eval_shape(lambda v, x=x, s=stage: disc.apply(v, x, s, 0.5), d_vars)
        assert score.shape == (2,)
