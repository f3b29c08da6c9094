"""The sub-pixel 4×4 stride-2 transposed convolution equals flax's nn.ConvTranspose."""

import flax.linen as nn
import jax
import numpy as np

from v101jax.nn.conv_transpose import ConvTranspose4x4s2


def test_sub_pixel_form_matches_conv_transpose():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 6, 3))  # odd and even sizes
    reference = nn.ConvTranspose(4, (4, 4), (2, 2), "SAME")
    variables = jax.jit(reference.init)(jax.random.PRNGKey(1), x)
    # A non-zero bias, so that its placement is checked too.
    variables = {
        "params": dict(
            variables["params"], bias=jax.random.normal(jax.random.PRNGKey(2), (4,))
        )
    }
    sub_pixel = ConvTranspose4x4s2(4)
    assert jax.tree.map(
        np.shape, jax.eval_shape(sub_pixel.init, jax.random.PRNGKey(1), x)
    ) == jax.tree.map(np.shape, variables)

    @jax.jit
    def both(v):
        return reference.apply(v, x), sub_pixel.apply(v, x)

    expected, got = both(variables)
    assert got.shape == (2, 10, 12, 4)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
