"""U-Net structure: shapes across odd sizes, identity start, conditioning and remat."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.keys import fast_compiling_keys_fixture  # noqa: F401 - autouse
from v101jax.nn.embeddings import sinusoidal_embedding
from v101jax.nn.unet import UNet


@pytest.mark.parametrize(
    ("size", "mult", "attention"), [(28, (1, 2, 2), (7,)), (12, (1, 1, 1, 1), (6,))]
)
def test_output_matches_input_shape_and_starts_at_zero(size, mult, attention):
    model = UNet(
        channels=8,
        channel_mult=mult,
        num_res_blocks=1,
        attention_resolutions=attention,
        num_groups=4,
    )
    x = jax.random.normal(jax.random.PRNGKey(0), (2, size, size, 3))
    t = jnp.array([0, 999])
    # init_with_output: the initial parameters' output from one compilation.
    out, _ = jax.jit(lambda k: model.init_with_output(k, x, t, train=False))(
        jax.random.PRNGKey(1)
    )
    assert out.shape == x.shape and out.dtype == jnp.float32
    # The output convolution is zero-initialised: an untrained ε-predictor outputs 0.
    np.testing.assert_array_equal(out, 0.0)


def random_variables(model, *inputs, scale):
    """Parameters shaped by abstract init (no compilation), drawn N(0, scale²): every layer,
    the zero-initialised ones included, passes signal."""
    shapes = jax.eval_shape(
        lambda: model.init(jax.random.PRNGKey(1), *inputs, train=False)
    )
    leaves, tree = jax.tree.flatten(shapes)
    keys = jax.random.split(jax.random.PRNGKey(2), len(leaves))
    values = [scale * jax.random.normal(k, a.shape) for k, a in zip(keys, leaves)]
    return jax.tree.unflatten(tree, values)


def test_time_and_class_conditioning_change_the_output():
    model = UNet(
        channels=8,
        channel_mult=(1,),
        num_res_blocks=1,
        attention_resolutions=(),
        num_groups=4,
        num_classes=3,
    )
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 1))
    t = jnp.array([10, 10])
    variables = random_variables(model, x, t, jnp.array([0, 0]), scale=0.1)
    apply = jax.jit(lambda t, y: model.apply(variables, x, t, y, train=False))
    base = apply(t, jnp.array([0, 0]))
    other_label = apply(t, jnp.array([1, 1]))
    other_time = apply(t + 500, jnp.array([0, 0]))
    assert float(jnp.abs(base - other_label).max()) > 1e-3
    assert float(jnp.abs(base - other_time).max()) > 1e-3
    with pytest.raises(ValueError, match="labels"):
        model.apply(variables, x, t, train=False)


def test_remat_gives_the_same_gradients():
    kwargs = {
        "channels": 8,
        "channel_mult": (1,),
        "num_res_blocks": 1,
        "attention_resolutions": (),
        "num_groups": 4,
    }
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 1))
    t = jnp.array([3, 700])
    variables = random_variables(UNet(**kwargs), x, t, scale=0.05)

    def grads(remat):
        model = UNet(**kwargs, remat=remat)
        loss = lambda v: jnp.sum(model.apply(v, x, t, train=True) ** 2)
        return jax.jit(jax.grad(loss))(variables)

    for a, b in zip(jax.tree.leaves(grads(False)), jax.tree.leaves(grads(True))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_sinusoidal_embedding_matches_the_formula():
    t = jnp.array([0.0, 1.0, 250.0])
    emb = np.asarray(sinusoidal_embedding(t, 8))
    freqs = np.exp(-np.log(10000.0) * np.arange(4) / 3)
    expected = np.concatenate(
        [np.sin(t[:, None] * freqs), np.cos(t[:, None] * freqs)], -1
    )
    np.testing.assert_allclose(emb, expected, rtol=1e-5, atol=1e-5)
