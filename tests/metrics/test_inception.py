"""InceptionV3 (FID) architecture, weight conversion and loading, with random weights."""

import flax.traverse_util
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v101jax.core.errors import WeightsError
from v101jax.metrics import inception


@pytest.fixture(scope="module")
def abstract():
    return inception.abstract_variables()


def _count(tree):
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def test_parameter_count_is_torchvisions_minus_aux_head_with_1008_logits(abstract):
    torchvision_inception_v3 = (
        27_161_264  # torchvision's documented count, aux head incl.
    )
    aux_head = (
        768 * 128
        + 2 * 128  # AuxLogits.conv0: 1×1 conv 768→128, BN
        + 128 * 768 * 25
        + 2 * 768  # AuxLogits.conv1: 5×5 conv 128→768, BN
        + 768 * 1000
        + 1000  # AuxLogits.fc
    )
    extra_logits = 8 * 2048 + 8  # 1008 logits instead of 1000
    assert (
        _count(abstract["params"]) == torchvision_inception_v3 - aux_head + extra_logits
    )


def test_output_shapes(abstract):
    out = jax.eval_shape(
        inception.InceptionV3().apply, abstract, jnp.zeros((2, 299, 299, 3))
    )
    assert out["features"].shape == (2, 2048)
    assert out["logits"].shape == (2, 1008)
    resized = jax.eval_shape(inception.preprocess, jnp.zeros((5, 28, 28, 1)))
    assert resized.shape == (5, 299, 299, 3)


def _numpy_conv(x, w_oihw, padding):
    """Cross-correlation of NHWC `x` with a torch-layout kernel, by explicit offsets."""
    o, _, kh, kw = w_oihw.shape
    ph, pw = padding
    x = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    n, h, w, _ = x.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, o))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i : i + h - kh + 1, j : j + w - kw + 1, :]
            out += patch @ w_oihw[:, :, i, j].T
    return out


def test_converted_torch_conv_and_batchnorm_compute_the_torch_function():
    rng = np.random.default_rng(0)
    c_in, c_out = 3, 4
    torch_arrays = {
        "blk.conv.weight": rng.normal(size=(c_out, c_in, 1, 3)),
        "blk.bn.weight": rng.uniform(0.5, 2, c_out),
        "blk.bn.bias": rng.normal(size=c_out),
        "blk.bn.running_mean": rng.normal(size=c_out),
        "blk.bn.running_var": rng.uniform(0.5, 2, c_out),
        "blk.bn.num_batches_tracked": np.array(7),
    }
    flat = inception.convert_torch_state_dict(torch_arrays)
    tree = flax.traverse_util.unflatten_dict(
        {tuple(k.split("/")): v for k, v in flat.items()}
    )
    variables = {c: tree[c]["blk"] for c in ("params", "batch_stats")}
    x = rng.normal(size=(2, 6, 7, c_in)).astype(np.float32)
    got = inception.BasicConv2d(c_out, (1, 3), padding=(0, 1)).apply(variables, x)
    t = torch_arrays
    y = _numpy_conv(x, t["blk.conv.weight"], (0, 1))
    y = (y - t["blk.bn.running_mean"]) / np.sqrt(t["blk.bn.running_var"] + 1e-3)
    expected = np.maximum(y * t["blk.bn.weight"] + t["blk.bn.bias"], 0)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4, atol=1e-4)


def _torch_style_state_dict(abstract, rng):
    """Random arrays under torchvision's names and layouts for every FID-network array."""

    def normal(size):
        return rng.standard_normal(size, dtype=np.float32)

    sd = {}
    for key, s in flax.traverse_util.flatten_dict(abstract).items():
        _collection, *module, leaf = key
        name = ".".join(module)
        shape = s.shape
        if leaf == "kernel" and module[-1] == "conv":
            sd[f"{name}.weight"] = normal((shape[3], shape[2], *shape[:2]))
        elif module == ["fc"]:
            sd[f"fc.{'weight' if leaf == 'kernel' else 'bias'}"] = normal(shape[::-1])
        else:
            torch_leaf = {"scale": "weight", "bias": "bias", "mean": "running_mean"}
            sd[f"{name}.{torch_leaf.get(leaf, 'running_var')}"] = normal(shape)
            sd[f"{name}.num_batches_tracked"] = np.array(1)
    sd["AuxLogits.fc.weight"] = normal((1000, 768))
    return sd


def test_full_conversion_loads_and_rejects_mismatched_files(abstract, tmp_path):
    rng = np.random.default_rng(1)
    arrays = inception.convert_torch_state_dict(_torch_style_state_dict(abstract, rng))
    good = tmp_path / "inception.npz"
    np.savez(good, **arrays)
    variables = inception.load_variables(str(good))
    assert _count(variables) == _count(abstract)
    np.testing.assert_array_equal(
        variables["params"]["fc"]["kernel"], arrays["params/fc/kernel"]
    )

    wrong = dict(arrays)
    wrong["params/Mixed_6b/branch7x7_2/conv/kernel"] = np.zeros((7, 1, 128, 128))
    np.savez(tmp_path / "wrong.npz", **wrong)
    with pytest.raises(WeightsError, match=r"Mixed_6b/branch7x7_2/conv/kernel.*\(7, 1"):
        inception.load_variables(str(tmp_path / "wrong.npz"))

    partial = {k: v for k, v in arrays.items() if "Mixed_7c" not in k}
    np.savez(tmp_path / "partial.npz", **partial)
    with pytest.raises(WeightsError, match="lacks"):
        inception.load_variables(str(tmp_path / "partial.npz"))

    with pytest.raises(WeightsError, match="convert_inception_weights"):
        inception.load_variables(str(tmp_path / "absent.npz"))
    with pytest.raises(WeightsError, match="none were given"):
        inception.load_variables("")


def test_conversion_rejects_unknown_arrays():
    with pytest.raises(ValueError, match="unexpected array"):
        inception.convert_torch_state_dict({"Mixed_5b.weird.weight": np.zeros(3)})
