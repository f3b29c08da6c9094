"""CLIP's text tower against a NumPy re-derivation on Hugging Face's torch-layout arrays: the
forward pass, its causal mask and EOS pooling, the state-dict conversion (with and without the
`text_model.` prefix, its errors), the .npz round trip and the conversion command; and, where
torch and transformers are installed, against transformers' CLIPTextModelWithProjection."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v101jax.core.errors import WeightsError
from v101jax.nn import clip_text
from v101jax.nn.clip_text import CLIPTextTransformer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOCAB, WIDTH, LAYERS, HEADS, POSITIONS, HIDDEN, PROJECTION = 50, 32, 2, 4, 16, 64, 24
SOT_ID, EOS_ID = 48, 49
# Rows of 12 ids: padded with EOS, padded with 0, EOS last, EOS at once after SOT.
IDS = np.array(
    [
        [SOT_ID, 5, 17, 3, 29, EOS_ID, EOS_ID, EOS_ID, EOS_ID, EOS_ID, EOS_ID, EOS_ID],
        [SOT_ID, 7, 7, 40, 2, 11, 30, 1, EOS_ID, 0, 0, 0],
        [SOT_ID, 9, 8, 7, 6, 5, 4, 3, 2, 1, 33, EOS_ID],
        [SOT_ID, EOS_ID, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ],
    np.int32,
)
EOS_POSITIONS = [5, 8, 11, 1]


def _module(projection_dim=PROJECTION):
    return CLIPTextTransformer(
        vocab_size=VOCAB,
        width=WIDTH,
        num_layers=LAYERS,
        num_heads=HEADS,
        max_length=POSITIONS,
        intermediate_size=HIDDEN,
        projection_dim=projection_dim,
        eos_id=EOS_ID,
    )


def _random_params(module, seed=0):
    """Every parameter drawn at random (LayerNorm scales and biases too), shaped by the
    module."""
    rng = np.random.default_rng(seed)
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), jnp.asarray(IDS))
    return jax.tree.map(
        lambda s: (0.3 * rng.standard_normal(s.shape)).astype(np.float32),
        shapes["params"],
    )


def _torch_layout(params, prefix="text_model."):
    """The Hugging Face state dict (torch Linear weights [out, in]) of the module's params."""
    state = {
        f"{prefix}embeddings.token_embedding.weight": params["token_embedding"][
            "embedding"
        ],
        f"{prefix}embeddings.position_embedding.weight": params["position_embedding"],
    }

    def linear(name, p):
        state[f"{prefix}{name}.weight"] = np.asarray(p["kernel"]).T
        state[f"{prefix}{name}.bias"] = p["bias"]

    def layer_norm(name, p):
        state[f"{prefix}{name}.weight"] = p["scale"]
        state[f"{prefix}{name}.bias"] = p["bias"]

    for i in range(LAYERS):
        layer, base = params[f"layers_{i}"], f"encoder.layers.{i}"
        layer_norm(f"{base}.layer_norm1", layer["layer_norm1"])
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            linear(f"{base}.self_attn.{proj}", layer["self_attn"][proj])
        layer_norm(f"{base}.layer_norm2", layer["layer_norm2"])
        linear(f"{base}.mlp.fc1", layer["fc1"])
        linear(f"{base}.mlp.fc2", layer["fc2"])
    layer_norm("final_layer_norm", params["final_layer_norm"])
    if "text_projection" in params:
        state["text_projection.weight"] = np.asarray(
            params["text_projection"]["kernel"]
        ).T
    return {k: np.asarray(v) for k, v in state.items()}


def _random_hf_state_dict(seed, prefix="text_model.", projection=True):
    """A CLIPModel-like state dict drawn in NumPy in torch layout, with the arrays a full
    checkpoint also holds (position_ids buffer, vision tower, logit scale)."""
    rng = np.random.default_rng(seed)

    def normal(*shape):
        return (0.3 * rng.standard_normal(shape)).astype(np.float32)

    state = {
        f"{prefix}embeddings.token_embedding.weight": normal(VOCAB, WIDTH),
        f"{prefix}embeddings.position_embedding.weight": normal(POSITIONS, WIDTH),
        f"{prefix}embeddings.position_ids": np.arange(POSITIONS)[None],
        f"{prefix}final_layer_norm.weight": 1 + normal(WIDTH),
        f"{prefix}final_layer_norm.bias": normal(WIDTH),
        "vision_model.embeddings.patch_embedding.weight": normal(WIDTH, 3, 4, 4),
        "visual_projection.weight": normal(PROJECTION, WIDTH),
        "logit_scale": np.array(2.6592, np.float32),
    }
    for i in range(LAYERS):
        base = f"{prefix}encoder.layers.{i}"
        for norm in ("layer_norm1", "layer_norm2"):
            state[f"{base}.{norm}.weight"] = 1 + normal(WIDTH)
            state[f"{base}.{norm}.bias"] = normal(WIDTH)
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            state[f"{base}.self_attn.{proj}.weight"] = normal(WIDTH, WIDTH)
            state[f"{base}.self_attn.{proj}.bias"] = normal(WIDTH)
        state[f"{base}.mlp.fc1.weight"] = normal(HIDDEN, WIDTH)
        state[f"{base}.mlp.fc1.bias"] = normal(HIDDEN)
        state[f"{base}.mlp.fc2.weight"] = normal(WIDTH, HIDDEN)
        state[f"{base}.mlp.fc2.bias"] = normal(WIDTH)
    if projection:
        state["text_projection.weight"] = normal(PROJECTION, WIDTH)
    return state


def _reference(state, ids, num_heads=HEADS, prefix="text_model."):
    """Hugging Face's CLIP text transformer in float64 NumPy on torch-layout arrays:
    (last hidden state [B, L, W], pooled [B, W or P])."""

    def w(name):
        return np.asarray(state[prefix + name], np.float64)

    def linear(x, name):
        return x @ w(f"{name}.weight").T + w(f"{name}.bias")

    def layer_norm(x, name):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-5) * w(f"{name}.weight") + w(
            f"{name}.bias"
        )

    batch, length = ids.shape
    x = w("embeddings.token_embedding.weight")[ids]
    x = x + w("embeddings.position_embedding.weight")[:length]
    width = x.shape[-1]
    head_dim = width // num_heads
    future = np.triu(np.ones((length, length), bool), k=1)
    layers = {int(k[len(prefix) :].split(".")[2]) for k in state if ".layers." in k}
    for i in sorted(layers):
        base = f"encoder.layers.{i}"
        y = layer_norm(x, f"{base}.layer_norm1")
        q, k, v = (
            linear(y, f"{base}.self_attn.{p}_proj").reshape(
                batch, length, num_heads, head_dim
            )
            for p in "qkv"
        )
        scores = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(head_dim)
        scores[..., future] = -np.inf
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        attended = np.einsum("bhqk,bkhd->bqhd", weights, v).reshape(
            batch, length, width
        )
        x = x + linear(attended, f"{base}.self_attn.out_proj")
        y = linear(layer_norm(x, f"{base}.layer_norm2"), f"{base}.mlp.fc1")
        y = y / (1 + np.exp(-1.702 * y))  # quick GELU: y·σ(1.702y)
        x = x + linear(y, f"{base}.mlp.fc2")
    x = layer_norm(x, "final_layer_norm")
    eos = [list(row).index(EOS_ID) for row in ids]
    pooled = x[np.arange(batch), eos]
    if "text_projection.weight" in state:
        pooled = pooled @ np.asarray(state["text_projection.weight"], np.float64).T
    return x, pooled


def _expected_mask(ids):
    return np.arange(ids.shape[1])[None, :] <= np.array(EOS_POSITIONS)[:, None]


@pytest.mark.parametrize("projection_dim", [0, PROJECTION])
def test_forward_matches_numpy_reference(projection_dim):
    module = _module(projection_dim)
    params = _random_params(module)
    features, pooled, mask = module.apply({"params": params}, jnp.asarray(IDS))
    want_features, want_pooled = _reference(_torch_layout(params), IDS)
    assert features.shape == (4, 12, WIDTH)
    assert pooled.shape == (4, projection_dim or WIDTH)
    np.testing.assert_allclose(features, want_features, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pooled, want_pooled, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(mask, _expected_mask(IDS))
    if not projection_dim:
        np.testing.assert_array_equal(
            pooled, np.asarray(features)[np.arange(4), EOS_POSITIONS]
        )


def test_attention_is_causal_and_padding_is_ignored():
    module = _module()
    params = _random_params(module, seed=1)
    run = jax.jit(lambda ids: module.apply({"params": params}, ids))
    features, pooled, _ = map(np.asarray, run(jnp.asarray(IDS)))
    changed = IDS.copy()
    changed[:, 6] = 13  # after the EOS of rows 0 and 3, before it in rows 1 and 2
    features2, pooled2, mask2 = map(np.asarray, run(jnp.asarray(changed)))
    np.testing.assert_array_equal(features2[:, :6], features[:, :6])
    assert np.all(np.abs(features2[:, 6] - features[:, 6]).max(-1) > 1e-3)
    # Rows 0 and 3 only changed padding: the same code; rows 1 and 2 read the new token.
    np.testing.assert_array_equal(pooled2[[0, 3]], pooled[[0, 3]])
    assert np.abs(pooled2[[1, 2]] - pooled[[1, 2]]).max() > 1e-3
    np.testing.assert_array_equal(mask2, _expected_mask(IDS))


def test_pooled_at_first_eos_or_last_token_of_an_unterminated_row():
    module = _module(0)
    params = _random_params(module, seed=2)
    ids = np.array([[SOT_ID, 4, EOS_ID, 6, EOS_ID], [SOT_ID, 4, 5, 6, 7]], np.int32)
    features, pooled, mask = module.apply({"params": params}, jnp.asarray(ids))
    np.testing.assert_array_equal(pooled[0], features[0, 2])
    np.testing.assert_array_equal(pooled[1], features[1, 4])
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    # EOS is found by its id, not as the largest id (HF's original argmax rule).
    other = module.clone(eos_id=20)
    ids = np.array([[SOT_ID, 45, 20, 46, 20, 0]], np.int32)
    features, pooled, mask = other.apply({"params": params}, jnp.asarray(ids))
    np.testing.assert_array_equal(pooled[0], features[0, 2])
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0, 0, 0]])
    with pytest.raises(ValueError, match="17 tokens exceed"):
        module.apply({"params": params}, jnp.zeros((1, 17), jnp.int32))


@pytest.mark.parametrize("prefix", ["text_model.", ""])
def test_converted_state_dict_runs_as_the_reference(prefix):
    state = _random_hf_state_dict(3, prefix=prefix, projection=prefix != "")
    params, architecture = clip_text.convert_hf_state_dict(
        state, num_heads=HEADS, eos_id=EOS_ID
    )
    assert architecture == {
        "vocab_size": VOCAB,
        "width": WIDTH,
        "num_layers": LAYERS,
        "num_heads": HEADS,
        "max_length": POSITIONS,
        "intermediate_size": HIDDEN,
        "projection_dim": PROJECTION if prefix else 0,
        "eos_id": EOS_ID,
    }
    module = CLIPTextTransformer(**architecture)
    init_shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0), IDS)["params"]
    assert jax.tree.structure(params) == jax.tree.structure(init_shapes)
    assert jax.tree.map(np.shape, params) == jax.tree.map(
        lambda s: s.shape, init_shapes
    )
    features, pooled, _ = module.apply({"params": params}, jnp.asarray(IDS))
    want_features, want_pooled = _reference(state, IDS, prefix=prefix)
    np.testing.assert_allclose(features, want_features, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pooled, want_pooled, rtol=1e-5, atol=1e-5)


def test_conversion_inverts_the_torch_layout_and_defaults():
    params = _random_params(_module(), seed=4)
    converted, architecture = clip_text.convert_hf_state_dict(_torch_layout(params))
    jax.tree.map(np.testing.assert_array_equal, converted, params)
    # Without arguments: width // 64 heads (one at width 32) and the largest id as EOS.
    assert architecture["num_heads"] == 1
    assert architecture["eos_id"] == VOCAB - 1
    with pytest.raises(ValueError, match="width 32 does not split into 5 heads"):
        clip_text.convert_hf_state_dict(_torch_layout(params), num_heads=5)


def test_conversion_errors_name_the_array():
    state = _random_hf_state_dict(5)
    del state["text_model.encoder.layers.1.self_attn.v_proj.bias"]
    with pytest.raises(
        ValueError,
        match=r"lacks text_model\.encoder\.layers\.1\.self_attn\.v_proj\.bias",
    ):
        clip_text.convert_hf_state_dict(state, num_heads=HEADS)

    state = _random_hf_state_dict(5)
    state["text_model.encoder.layers.0.mlp.fc2.weight"] = np.zeros((WIDTH, HIDDEN + 1))
    with pytest.raises(
        ValueError,
        match=r"layers\.0\.mlp\.fc2\.weight has shape \(32, 65\).*\(32, 64\)",
    ):
        clip_text.convert_hf_state_dict(state, num_heads=HEADS)

    state = _random_hf_state_dict(5)
    state["text_model.encoder.layers.0.self_attn.rotary.weight"] = np.zeros(WIDTH)
    with pytest.raises(ValueError, match="does not use.*self_attn.rotary.weight"):
        clip_text.convert_hf_state_dict(state, num_heads=HEADS)

    state = _random_hf_state_dict(5)
    state["text_model.embeddings.position_embedding.weight"] = np.zeros((POSITIONS, 31))
    with pytest.raises(
        ValueError, match=r"position_embedding\.weight has shape \(16, 31\)"
    ):
        clip_text.convert_hf_state_dict(state, num_heads=HEADS)

    with pytest.raises(ValueError, match="not a CLIP text tower"):
        clip_text.convert_hf_state_dict({"vision_model.x": np.zeros(3)})


def test_save_load_round_trip_and_bad_files(tmp_path):
    state = _random_hf_state_dict(6)
    params, architecture = clip_text.convert_hf_state_dict(
        state, num_heads=HEADS, eos_id=EOS_ID
    )
    path = str(tmp_path / "clip_text.npz")
    vocab = json.dumps({"a</w>": 0, "<|startoftext|>": 1, "<|endoftext|>": 2})
    clip_text.save_clip_text(
        path, params, architecture, vocab_json=vocab, merges_txt="#version: 0.2\n"
    )
    module, loaded = clip_text.load_clip_text(path)
    assert module == CLIPTextTransformer(**architecture)
    want = CLIPTextTransformer(**architecture).apply({"params": params}, IDS)
    got = module.apply({"params": loaded}, IDS)
    jax.tree.map(np.testing.assert_array_equal, got, want)
    tokenizer = clip_text.load_clip_tokenizer(path)
    np.testing.assert_array_equal(
        tokenizer.encode_batch(["a"], length=4), [[1, 0, 2, 2]]
    )

    no_tokenizer = str(tmp_path / "no_tokenizer.npz")
    clip_text.save_clip_text(no_tokenizer, params, architecture)
    with pytest.raises(WeightsError, match="holds no tokenizer"):
        clip_text.load_clip_tokenizer(no_tokenizer)

    with pytest.raises(WeightsError, match="not found.*convert_clip_text_weights"):
        clip_text.load_clip_text(str(tmp_path / "absent.npz"))
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 not a zip archive")
    with pytest.raises(WeightsError, match="not a readable .npz"):
        clip_text.load_clip_text(str(garbage))

    damaged = bytearray((tmp_path / "clip_text.npz").read_bytes())
    damaged[len(damaged) // 2 : len(damaged) // 2 + 64] = bytes(64)  # inside the params
    (tmp_path / "damaged.npz").write_bytes(bytes(damaged))
    with pytest.raises(WeightsError, match="is damaged"):
        clip_text.load_clip_text(str(tmp_path / "damaged.npz"))

    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    np.savez(
        tmp_path / "no_architecture.npz",
        **{k: v for k, v in arrays.items() if not k.startswith("__meta__")},
    )
    with pytest.raises(WeightsError, match="not a CLIP text weights file"):
        clip_text.load_clip_text(str(tmp_path / "no_architecture.npz"))
    np.savez(
        tmp_path / "partial.npz",
        **{k: v for k, v in arrays.items() if "layers_1/fc2" not in k},
    )
    with pytest.raises(WeightsError, match="lacks 2 arrays"):
        clip_text.load_clip_text(str(tmp_path / "partial.npz"))
    wrong = dict(arrays)
    wrong["params/layers_0/fc1/kernel"] = np.zeros((WIDTH, HIDDEN + 1), np.float32)
    np.savez(tmp_path / "wrong.npz", **wrong)
    with pytest.raises(WeightsError, match=r"layers_0/fc1/kernel has shape \(32, 65\)"):
        clip_text.load_clip_text(str(tmp_path / "wrong.npz"))
    bad_json = dict(arrays)
    bad_json["__meta__/clip_text_architecture"] = np.asarray('{"width": 32}')
    np.savez(tmp_path / "bad_json.npz", **bad_json)
    with pytest.raises(WeightsError, match="not the JSON of the fields"):
        clip_text.load_clip_text(str(tmp_path / "bad_json.npz"))


def _write_hf_folder(folder, state):
    """A Hugging Face CLIP folder: the state dict as model.safetensors, a three-token
    vocabulary. Without the safetensors package, a stand-in `safetensors.numpy` on the
    returned PYTHONPATH entry reads the arrays from an .npz of that name."""
    folder.mkdir()
    vocab = {"a</w>": 0, "b</w>": 1, "<|startoftext|>": SOT_ID, "<|endoftext|>": EOS_ID}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    try:
        from safetensors.numpy import save_file
    except ImportError:
        stand_in = folder.parent / "stand_in" / "safetensors"
        stand_in.mkdir(parents=True)
        (stand_in / "__init__.py").write_text("")
        (stand_in / "numpy.py").write_text(
            "import numpy as np\n\n\ndef load_file(path):\n"
            "    with np.load(path, allow_pickle=False) as f:\n"
            "        return {k: f[k] for k in f.files}\n"
        )
        with open(folder / "model.safetensors", "wb") as f:
            np.savez(f, **state)
        return str(stand_in.parent)
    save_file(
        {k: np.ascontiguousarray(v) for k, v in state.items()},
        str(folder / "model.safetensors"),
    )
    return None


def test_conversion_command_writes_a_loadable_file(tmp_path):
    state = _random_hf_state_dict(7)
    state["text_model.embeddings.position_ids"] = state[
        "text_model.embeddings.position_ids"
    ].astype(np.int64)
    extra_path = _write_hf_folder(tmp_path / "hf", state)
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (extra_path, env.get("PYTHONPATH")) if p
        )
    out = tmp_path / "clip.npz"
    command = [
        sys.executable,
        "-m",
        "experiments.convert_clip_text_weights",
        f"--hf_dir={tmp_path / 'hf'}",
        f"--num_heads={HEADS}",
        f"--out={out}",
    ]
    done = subprocess.run(
        command,
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "num_layers=2" in done.stdout and "eos_id=49" in done.stdout
    module, params = clip_text.load_clip_text(str(out))
    _, pooled, _ = module.apply({"params": params}, IDS)
    np.testing.assert_allclose(pooled, _reference(state, IDS)[1], rtol=1e-5, atol=1e-5)
    tokenizer = clip_text.load_clip_tokenizer(str(out))
    np.testing.assert_array_equal(
        tokenizer.encode_batch(["b a"], length=5), [[SOT_ID, 1, 0, EOS_ID, EOS_ID]]
    )

    os.remove(tmp_path / "hf" / "model.safetensors")
    done = subprocess.run(
        command,
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "holds neither model.safetensors nor pytorch_model.bin" in done.stderr


def test_matches_transformers_clip_text_model_with_projection():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = transformers.CLIPTextConfig(
        vocab_size=VOCAB,
        hidden_size=WIDTH,
        intermediate_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        max_position_embeddings=POSITIONS,
        projection_dim=PROJECTION,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
        bos_token_id=SOT_ID,
        eos_token_id=EOS_ID,
        pad_token_id=EOS_ID,
    )
    torch.manual_seed(0)
    model = transformers.CLIPTextModelWithProjection(config).eval()
    with torch.no_grad():  # transformers starts LayerNorms at 1 and 0: draw them too
        for p in model.parameters():
            p.copy_(0.3 * torch.randn_like(p))
        out = model(input_ids=torch.as_tensor(IDS, dtype=torch.long))
    state = {
        k: v.numpy() for k, v in model.state_dict().items() if v.is_floating_point()
    }
    params, architecture = clip_text.convert_hf_state_dict(
        state, num_heads=HEADS, eos_id=EOS_ID
    )
    features, pooled, _ = CLIPTextTransformer(**architecture).apply(
        {"params": params}, IDS
    )
    want_features = out.last_hidden_state.numpy()
    want_pooled = out.text_embeds.numpy()
    np.testing.assert_allclose(features, want_features, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pooled, want_pooled, rtol=1e-5, atol=1e-5)
    print(
        "max |difference| to transformers: features "
        f"{np.abs(np.asarray(features) - want_features).max():.2e}, pooled "
        f"{np.abs(np.asarray(pooled) - want_pooled).max():.2e}"
    )
