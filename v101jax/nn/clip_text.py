"""OpenAI CLIP's text tower, loaded from a Hugging Face checkpoint converted to .npz.

The layout is Hugging Face's `CLIPTextModel` / `CLIPTextModelWithProjection` (the same
network as OpenAI's release): token plus learned position embeddings, `num_layers` pre-
LayerNorm blocks of causal self-attention and a quick-GELU MLP, a final LayerNorm, and the
pooled code read at the end-of-text token, optionally projected into the joint image-text
space. It returns the triple of `v101jax.nn.text.TextEncoder`, so a text-to-image model can
read either encoder.

Weights cannot be downloaded here: `experiments.convert_clip_text_weights` turns a Hugging Face
folder the user downloaded into one .npz holding the parameters, the architecture (as JSON)
and the tokenizer's vocab.json and merges.txt, which `load_clip_text` and `load_clip_tokenizer`
read back without pickle.
"""

import json
import os
import re
import zipfile

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from v101jax.core.errors import WeightsError
from v101jax.metrics import weights_io

EOT_ID = 49407  # <|endoftext|> in OpenAI's vocabulary, its largest id
HINT = (
    "Make it from a downloaded Hugging Face CLIP folder (e.g. openai/clip-vit-base-patch32): "
    "python -m experiments.convert_clip_text_weights --hf_dir=DIR --out=FILE.npz"
)
ARCHITECTURE_FIELDS = (
    "vocab_size",
    "width",
    "num_layers",
    "num_heads",
    "max_length",
    "intermediate_size",
    "projection_dim",
    "eos_id",
)
_ARCHITECTURE_KEY = "__meta__/clip_text_architecture"
_TOKENIZER_KEYS = {"vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt"}


def quick_gelu(x):
    """x·σ(1.702x): the GELU approximation OpenAI trained CLIP with."""
    return x * jax.nn.sigmoid(1.702 * x)


class CLIPAttention(nn.Module):
    """Causal multi-head self-attention with separate q/k/v/out projections, as Hugging
    Face's CLIPAttention (so each converts from one torch Linear)."""

    width: int
    num_heads: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        batch, length, _ = x.shape
        head_dim = self.width // self.num_heads

        def heads(name):
            y = nn.Dense(self.width, dtype=self.dtype, name=name)(x)
            return y.reshape(batch, length, self.num_heads, head_dim)

        q = heads("q_proj") * head_dim**-0.5
        k, v = heads("k_proj"), heads("v_proj")
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k).astype(jnp.float32)
        causal = jnp.tril(jnp.ones((length, length), bool))
        logits = jnp.where(causal, logits, jnp.finfo(jnp.float32).min)
        weights = jax.nn.softmax(logits, axis=-1).astype(self.dtype)
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(batch, length, -1)
        return nn.Dense(self.width, dtype=self.dtype, name="out_proj")(out)


class CLIPEncoderLayer(nn.Module):
    """x + attention(LN₁(x)), then + fc₂(quick_gelu(fc₁(LN₂(·))))."""

    width: int
    num_heads: int
    intermediate_size: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        y = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype, name="layer_norm1")(x)
        x = x + CLIPAttention(
            self.width, self.num_heads, dtype=self.dtype, name="self_attn"
        )(y)
        y = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype, name="layer_norm2")(x)
        y = nn.Dense(self.intermediate_size, dtype=self.dtype, name="fc1")(y)
        y = nn.Dense(self.width, dtype=self.dtype, name="fc2")(quick_gelu(y))
        return x + y


class CLIPTextTransformer(nn.Module):
    """ids int32 [B, L] → (token features [B, L, width], pooled [B, width or projection_dim],
    mask [B, L]).

    The defaults are openai/clip-vit-base-patch32's. Features are the final LayerNorm's;
    pooled is the feature at the first `eos_id` of each row (through `text_projection` when
    projection_dim > 0), and mask marks the tokens up to and including it, so whatever pads
    the row after it (the end-of-text id or 0, by checkpoint) is masked. Attention is causal,
    so no token's feature depends on the padding after it. A row without `eos_id` is read as
    unterminated: pooled at its last token, every token in the mask.
    """

    vocab_size: int = 49408
    width: int = 512
    num_layers: int = 12
    num_heads: int = 8
    max_length: int = 77  # positions with learned embeddings
    intermediate_size: int = 2048
    projection_dim: int = 0  # 0: pooled is the width-wide feature, unprojected
    eos_id: int = EOT_ID
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, ids):
        batch, length = ids.shape
        if length > self.max_length:
            raise ValueError(
                f"{length} tokens exceed the encoder's {self.max_length} positions"
            )
        if self.width % self.num_heads:
            raise ValueError(
                f"width {self.width} does not split into {self.num_heads} heads"
            )
        h = nn.Embed(self.vocab_size, self.width, name="token_embedding")(ids)
        positions = self.param(
            "position_embedding",
            nn.initializers.normal(0.01),
            (self.max_length, self.width),
        )
        h = (h + positions[:length]).astype(self.dtype)
        for i in range(self.num_layers):
            h = CLIPEncoderLayer(
                self.width,
                self.num_heads,
                self.intermediate_size,
                dtype=self.dtype,
                name=f"layers_{i}",
            )(h)
        h = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype, name="final_layer_norm")(h)
        h = h.astype(jnp.float32)

        is_eos = ids == self.eos_id
        eos = jnp.where(jnp.any(is_eos, axis=1), jnp.argmax(is_eos, axis=1), length - 1)
        mask = jnp.arange(length)[None, :] <= eos[:, None]
        pooled = h[jnp.arange(batch), eos]
        if self.projection_dim:
            pooled = nn.Dense(
                self.projection_dim,
                use_bias=False,
                dtype=self.dtype,
                name="text_projection",
            )(pooled).astype(jnp.float32)
        return h, pooled, mask


# ---- Hugging Face state dicts --------------------------------------------------------------

_LAYER_KEY = re.compile(r"encoder\.layers\.(\d+)\.")


def convert_hf_state_dict(
    state: dict, num_heads: int | None = None, eos_id: int | None = None
) -> tuple[dict, dict]:
    """A Hugging Face CLIP state dict (numpy arrays, torch layout) → (params, architecture).

    Reads CLIPTextModel / CLIPTextModelWithProjection / CLIPModel keys, with or without the
    `text_model.` prefix; the vision tower, `visual_projection`, `logit_scale` and the
    `position_ids` buffer are dropped. The architecture (a dict of CLIPTextTransformer's
    fields) comes from the shapes, except `num_heads`, which shapes do not fix (default
    width // 64, at least 1: right for every OpenAI text tower), and `eos_id` (default the largest id,
    OpenAI's <|endoftext|>). torch Linear weights [out, in] become Dense kernels [in, out].
    Raises ValueError naming a missing key, a key of the wrong shape or an unknown text key.
    """
    prefix = "text_model." if any(k.startswith("text_model.") for k in state) else ""

    def text_keys():
        for key in state:
            if prefix and key.startswith(prefix):
                yield key[len(prefix) :]
            elif not prefix and key.split(".", 1)[0] in (
                "embeddings",
                "encoder",
                "final_layer_norm",
            ):
                yield key

    def get(name, shape=None):
        full = name if name == "text_projection.weight" else prefix + name
        if full not in state:
            raise ValueError(f"the state dict lacks {full}")
        array = np.asarray(state[full], np.float32)
        if shape is not None and array.shape != shape:
            raise ValueError(
                f"{full} has shape {array.shape}, the text tower needs {shape}"
            )
        if array.ndim not in (1, 2):
            raise ValueError(f"{full} has shape {array.shape}, not a vector or matrix")
        return array

    names = list(text_keys())
    layers = sorted({int(m.group(1)) for k in names if (m := _LAYER_KEY.match(k))})
    if not layers:
        raise ValueError(
            f"the state dict has no {prefix}encoder.layers.N.* arrays: not a CLIP text "
            "tower"
        )
    tokens = get("embeddings.token_embedding.weight")
    vocab_size, width = tokens.shape
    positions = get("embeddings.position_embedding.weight")
    if positions.shape[1] != width:
        raise ValueError(
            f"{prefix}embeddings.position_embedding.weight has shape {positions.shape}, "
            f"the token embedding's width is {width}"
        )
    num_layers = layers[-1] + 1
    intermediate_size = get("encoder.layers.0.mlp.fc1.weight").shape[0]
    has_projection = "text_projection.weight" in state
    projection = get("text_projection.weight") if has_projection else None
    if projection is not None and projection.shape[1] != width:
        raise ValueError(
            f"text_projection.weight has shape {projection.shape}, the text tower's width "
            f"is {width}"
        )
    num_heads = max(width // 64, 1) if num_heads is None else int(num_heads)
    if num_heads < 1 or width % num_heads:
        raise ValueError(f"width {width} does not split into {num_heads} heads")
    architecture = {
        "vocab_size": int(vocab_size),
        "width": int(width),
        "num_layers": int(num_layers),
        "num_heads": num_heads,
        "max_length": int(positions.shape[0]),
        "intermediate_size": int(intermediate_size),
        "projection_dim": int(projection.shape[0]) if has_projection else 0,
        "eos_id": int(vocab_size - 1 if eos_id is None else eos_id),
    }

    used = {"embeddings.token_embedding.weight", "embeddings.position_embedding.weight"}

    def take(name, shape):
        used.add(name)
        return get(name, shape)

    def dense(name, n_in, n_out):
        return {
            "kernel": take(f"{name}.weight", (n_out, n_in)).T,
            "bias": take(f"{name}.bias", (n_out,)),
        }

    def layer_norm(name):
        return {
            "scale": take(f"{name}.weight", (width,)),
            "bias": take(f"{name}.bias", (width,)),
        }

    params = {"token_embedding": {"embedding": tokens}, "position_embedding": positions}
    for i in range(num_layers):
        base = f"encoder.layers.{i}"
        params[f"layers_{i}"] = {
            "layer_norm1": layer_norm(f"{base}.layer_norm1"),
            "self_attn": {
                p: dense(f"{base}.self_attn.{p}", width, width)
                for p in ("q_proj", "k_proj", "v_proj", "out_proj")
            },
            "layer_norm2": layer_norm(f"{base}.layer_norm2"),
            "fc1": dense(f"{base}.mlp.fc1", width, intermediate_size),
            "fc2": dense(f"{base}.mlp.fc2", intermediate_size, width),
        }
    params["final_layer_norm"] = layer_norm("final_layer_norm")
    if projection is not None:
        params["text_projection"] = {"kernel": projection.T}
    unknown = sorted(
        prefix + k for k in names if k not in used and k != "embeddings.position_ids"
    )
    if unknown:
        raise ValueError(
            f"the state dict has {len(unknown)} text arrays the CLIP text tower does not "
            f"use, e.g. {', '.join(unknown[:3])}"
        )
    return params, architecture


# ---- .npz files ----------------------------------------------------------------------------


def save_clip_text(
    path: str,
    params: dict,
    architecture: dict,
    *,
    vocab_json: str | None = None,
    merges_txt: str | None = None,
) -> None:
    """Writes `params`, the architecture (JSON) and, when given, the tokenizer's vocab.json
    and merges.txt texts (UTF-8 bytes as uint8 arrays) to the .npz `path`."""
    missing = [f for f in ARCHITECTURE_FIELDS if f not in architecture]
    if missing:
        raise ValueError(f"the architecture lacks {', '.join(missing)}")
    arrays = weights_io.flatten({"params": jax.device_get(params)})
    arrays[_ARCHITECTURE_KEY] = np.asarray(
        json.dumps({f: int(architecture[f]) for f in ARCHITECTURE_FIELDS})
    )
    for name, text in (("vocab", vocab_json), ("merges", merges_txt)):
        if text is not None:
            arrays[_TOKENIZER_KEYS[name]] = np.frombuffer(
                text.encode("utf-8"), np.uint8
            )
    weights_io.save_arrays(path, arrays)


def _read_entries(path: str, keys) -> dict:
    """The arrays `keys` of the .npz `path` that it holds; WeightsError when it cannot be
    read."""
    if not path or not os.path.isfile(path):
        raise WeightsError(
            f"CLIP text weights file {path or '(none given)'} not found. {HINT}"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in keys if k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise WeightsError(
            f"CLIP text weights file {path} is not a readable .npz: {e}. {HINT}"
        ) from None


def read_architecture(path: str) -> dict:
    """The architecture stored in the .npz `path` (CLIPTextTransformer's fields)."""
    stored = _read_entries(path, [_ARCHITECTURE_KEY])
    if _ARCHITECTURE_KEY not in stored:
        raise WeightsError(
            f"{path} holds no {_ARCHITECTURE_KEY}: not a CLIP text weights file. {HINT}"
        )
    try:
        architecture = json.loads(str(stored[_ARCHITECTURE_KEY]))
        return {f: int(architecture[f]) for f in ARCHITECTURE_FIELDS}
    except (ValueError, TypeError, KeyError) as e:
        raise WeightsError(
            f"{path}: {_ARCHITECTURE_KEY} is not the JSON of the fields "
            f"{', '.join(ARCHITECTURE_FIELDS)} ({type(e).__name__}: {e}). {HINT}"
        ) from None


def load_clip_text(
    path: str, dtype: jnp.dtype = jnp.float32
) -> tuple[CLIPTextTransformer, dict]:
    """(module, params) from a file of `save_clip_text`: every parameter the stored
    architecture needs present with its shape, else WeightsError."""
    module = CLIPTextTransformer(**read_architecture(path), dtype=dtype)
    expected = jax.eval_shape(
        module.init,
        jax.random.PRNGKey(0),
        jnp.zeros((1, module.max_length), jnp.int32),
    )
    try:
        variables, _ = weights_io.load_npz(
            path, {"params": expected["params"]}, what="CLIP text", hint=HINT
        )
    except (zipfile.BadZipFile, EOFError) as e:  # a member damaged past the index
        raise WeightsError(
            f"CLIP text weights file {path} is damaged: {e}. {HINT}"
        ) from None
    return module, variables["params"]


def load_clip_tokenizer(path: str, **kwargs):
    """The v101jax.data.clip_tokenizer.CLIPTokenizer stored in a file of `save_clip_text`;
    `kwargs` go to its constructor (pad_id)."""
    from v101jax.data.clip_tokenizer import CLIPTokenizer

    stored = _read_entries(path, _TOKENIZER_KEYS.values())
    missing = [k for k in _TOKENIZER_KEYS.values() if k not in stored]
    if missing:
        raise WeightsError(
            f"{path} holds no tokenizer ({', '.join(missing)} missing). {HINT}"
        )
    try:
        vocab, merges = (
            stored[_TOKENIZER_KEYS[k]].tobytes().decode("utf-8")
            for k in ("vocab", "merges")
        )
        return CLIPTokenizer.from_texts(vocab, merges, **kwargs)
    except (UnicodeDecodeError, ValueError) as e:
        raise WeightsError(
            f"{path}: its tokenizer does not load: {e}. {HINT}"
        ) from None


def num_parameters(params: dict) -> int:
    return sum(int(np.size(x)) for x in jax.tree.leaves(params))
