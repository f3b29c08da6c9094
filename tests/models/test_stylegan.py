"""StyleGAN's generator: every style layer reads its own w (changing one layer's style changes
the image, and no other layer's does the same), the mapping network keeps its w_avg as an
exponential mean, and truncation pulls exactly the first `cutoff` layers' styles to it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.keys import (  # noqa: F401 - the fixture is autouse
    fast_compiling_keys,
    fast_compiling_keys_fixture,
)
from v101jax.models.stylegan import StyleGenerator

WIDTHS = (8, 8, 4)  # 4, 8, 16 px: six style layers
W_DIM = 6


@pytest.fixture(scope="module", params=["adain", "modulated"])
def generator(request):
    gen = StyleGenerator(
        widths=WIDTHS, channels=1, w_dim=W_DIM, mapping_layers=2, style=request.param
    )
    z = jax.random.normal(jax.random.PRNGKey(0), (3, 5))
    with fast_compiling_keys():
        variables = jax.jit(gen.init)(
            {"params": jax.random.PRNGKey(1), "noise": jax.random.PRNGKey(2)}, z
        )
    # Noise scales start at zero; give them a value so that noise is part of the check.
    variables = jax.tree_util.tree_map_with_path(
        lambda path, v: (
            jnp.full_like(v, 0.3) if "noise" in jax.tree_util.keystr(path) else v
        ),
        variables,
    )
    return gen, variables


def _synthesis(gen, variables):
    return jax.jit(
        lambda ws: gen.apply(
            variables, ws, method="synthesis", rngs={"noise": jax.random.PRNGKey(3)}
        )
    )


def test_every_style_layer_reads_its_own_style(generator):
    gen, variables = generator
    synthesis = _synthesis(gen, variables)
    rng = np.random.default_rng(0)
    ws = jnp.asarray(rng.standard_normal((3, gen.num_ws, W_DIM)), jnp.float32)
    base = np.asarray(synthesis(ws))
    assert base.shape == (3, 16, 16, 1)
    np.testing.assert_array_equal(base, np.asarray(synthesis(ws)))  # noise fixed by key
    changes = []
    for layer in range(gen.num_ws):
        other = ws.at[:, layer].set(jnp.asarray(rng.standard_normal((3, W_DIM))))
        out = np.asarray(synthesis(other))
        assert np.abs(out - base).max() > 1e-4, f"layer {layer}'s style is unused"
        changes.append(out)
    # Different layers: different images (a layer reading another's style would repeat it).
    for a in range(gen.num_ws):
        for b in range(a):
            assert np.abs(changes[a] - changes[b]).max() > 1e-4, (a, b)


def test_mapping_tracks_the_mean_w_and_truncation_pulls_the_first_layers_to_it(
    generator,
):
    gen, variables = generator
    z = jax.random.normal(jax.random.PRNGKey(4), (16, 5))
    w, updated = gen.apply(
        variables, z, update_w_avg=True, method="mapping", mutable=["stats"]
    )
    old = np.asarray(variables["stats"]["mapping_network"]["w_avg"])
    new = np.asarray(updated["stats"]["mapping_network"]["w_avg"])
    mean = np.asarray(w).mean(0)
    np.testing.assert_allclose(new, mean + 0.995 * (old - mean), rtol=1e-5, atol=1e-7)
    assert np.abs(new - old).max() > 0
    variables = {**variables, "stats": updated["stats"]}
    ws = jnp.repeat(w[:, None], gen.num_ws, axis=1)
    cut = np.asarray(gen.apply(variables, ws, 0.0, 2, method="truncated"))
    np.testing.assert_allclose(cut[:, :2], np.broadcast_to(new, (16, 2, W_DIM)))
    np.testing.assert_array_equal(cut[:, 2:], np.asarray(ws)[:, 2:])
    half = np.asarray(gen.apply(variables, ws, 0.5, gen.num_ws, method="truncated"))
    np.testing.assert_allclose(half, (np.asarray(ws) + new) / 2, rtol=1e-5, atol=1e-6)
