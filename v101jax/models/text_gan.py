"""GAN-CLS's networks (Reed et al. 2016): a text encoder and a GAN body per network.

Each network reads the caption's tokens with its own TextEncoder, projects the pooled
embedding φ(t) to a code (Linear → LeakyReLU 0.2; 128 wide in the paper) and hands the code
to its body as a "vector" condition (v101jax.models.gan): G concatenates it to z, D tiles it
over its last feature map. The paper's φ is a pre-trained char-CNN-RNN shared by G and D;
here each network learns its own from its loss.

GAN-INT: with `mix_tokens` the code is made from β·φ(t₁) + (1 − β)·φ(t₂), the interpolation
the paper feeds G (§4.3), taken before the projection as there.

With text.encoder="clip" each network's encoder is instead a `FrozenCLIPEncoder`: OpenAI
CLIP's text tower (v101jax.nn.clip_text), loaded from a converted file and kept frozen in a
non-"params" collection, under learned projections (GigaGAN reads frozen CLIP the same way).
It reads the same word-level tokens, mapping them to CLIP's BPE ids inside the network, so
the data, the networks' bodies and the sample command stay as they are.
"""

import functools
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from v101jax.data.clip_tokenizer import CLIPTokenizer
from v101jax.data.tokenizer import PAD_ID, UNK_ID
from v101jax.nn import clip_text
from v101jax.nn.clip_text import CLIPTextTransformer
from v101jax.nn.text import TextEncoder


def interpolated_pooled(encoder, tokens, mix_tokens=None, beta=0.5):
    """The encoder's pooled embedding φ(t) of `tokens`, or with `mix_tokens` GAN-INT's
    β·φ(t₁) + (1 − β)·φ(t₂) (β a scalar or one per example)."""
    _, pooled, _ = encoder(tokens)
    if mix_tokens is None:
        return pooled
    _, other, _ = encoder(mix_tokens)
    beta = jnp.asarray(beta, jnp.float32)
    if beta.ndim:  # one β per example
        beta = beta[:, None]
    return beta * pooled + (1.0 - beta) * other


class TextConditioned(nn.Module):
    """(x, tokens [B, L]) → body(x, code): G's (z → images) or D's (images → (scores, aux))
    body, conditioned on the caption's code LeakyReLU(Linear(φ(t)))."""

    encoder: TextEncoder
    body: nn.Module  # a generator or discriminator with conditioning="vector"
    code_dim: int = 128
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, tokens, *, train: bool, mix_tokens=None, beta=0.5):
        pooled = interpolated_pooled(self.encoder, tokens, mix_tokens, beta)
        code = nn.Dense(self.code_dim, dtype=self.dtype, name="text_projection")(pooled)
        return self.body(x, nn.leaky_relu(code, negative_slope=0.2), train=train)


# ---- Frozen CLIP text tower (text.encoder = "clip") -----------------------------------------

# The variable collection holding the CLIP weights: a network's model_state, so no optimiser,
# EMA or gradient reaches them, and checkpoints keep them with the run.
CLIP_COLLECTION = "clip"


def _file_stamp(path: str) -> tuple:
    """(absolute path, mtime, size): a cache key that a rewritten file does not match."""
    try:
        stat = os.stat(path)
    except OSError:
        return (path, None, None)
    return (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _cached_tokenizer(stamp: tuple) -> CLIPTokenizer:
    return clip_text.load_clip_tokenizer(stamp[0])


@functools.lru_cache(maxsize=2)
def _cached_architecture(stamp: tuple) -> dict:
    return clip_text.read_architecture(stamp[0])


@functools.lru_cache(maxsize=1)
def _cached_weights(stamp: tuple) -> dict:
    return jax.device_get(clip_text.load_clip_text(stamp[0])[1])


def clip_tokenizer(path: str) -> CLIPTokenizer:
    """The tokenizer stored in the CLIP text weights file `path`, read once per process."""
    return _cached_tokenizer(_file_stamp(path))


def clip_architecture(path: str) -> dict:
    """The CLIPTextTransformer fields stored in `path`, read once per process."""
    return _cached_architecture(_file_stamp(path))


def clip_weights(path: str) -> dict:
    """The CLIP text tower's parameters (host arrays) in `path`, read once per process (the
    file is read at init only: afterwards the weights live in the network's model_state)."""
    return _cached_weights(_file_stamp(path))


def word_pieces(tokenizer: CLIPTokenizer, vocabulary) -> list[list[int]]:
    """The CLIP ids of each word of a word-level vocabulary (v101jax.data.tokenizer; padding
    and the unknown word have none). CLIP splits a caption into pieces at whitespace first,
    so a caption's ids are the concatenation of its words'."""
    return [
        [] if i in (PAD_ID, UNK_ID) else tokenizer.encode(word)
        for i, word in enumerate(vocabulary)
    ]


@functools.lru_cache(maxsize=8)
def _cached_piece_table(stamp: tuple, vocabulary: tuple) -> np.ndarray:
    pieces = word_pieces(_cached_tokenizer(stamp), vocabulary)
    table = np.full((len(pieces), max([1, *map(len, pieces)])), -1, np.int32)
    for row, ids in enumerate(pieces):
        table[row, : len(ids)] = ids
    table.setflags(write=False)
    return table


def word_piece_table(path: str, vocabulary) -> np.ndarray:
    """int32 [len(vocabulary), most pieces of a word]: row w holds the CLIP ids of word w,
    then −1."""
    return _cached_piece_table(_file_stamp(path), tuple(vocabulary))


def clip_token_ids(
    tokens, table, *, length: int, sot_id: int, eot_id: int, pad_id: int
):
    """Word-level tokens int32 [B, L] → CLIP ids int32 [B, length], as
    CLIPTokenizer.encode_batch writes the caption of those words: SOT, the words' pieces,
    EOT, then pad_id; a caption of more than length − 2 pieces keeps its first ones and
    EOT. Fixed shapes (jit-friendly): the pieces [B, L·P] are moved to the front by a stable
    sort on validity."""
    if length < 2:
        raise ValueError(f"length={length} leaves no room for SOT and EOT")
    batch = tokens.shape[0]
    room = length - 2
    pieces = jnp.asarray(table)[tokens].reshape(batch, -1)
    valid = pieces >= 0
    order = jnp.argsort(jnp.logical_not(valid).astype(jnp.int32), axis=1, stable=True)
    pieces = jnp.take_along_axis(pieces, order, axis=1)
    if pieces.shape[1] < room:
        pieces = jnp.pad(pieces, ((0, 0), (0, room - pieces.shape[1])))
    count = jnp.minimum(jnp.sum(valid, axis=1), room)[:, None]
    slot = jnp.arange(room)[None, :]
    body = jnp.where(slot < count, pieces[:, :room], pad_id)
    ids = jnp.concatenate(
        [
            jnp.full((batch, 1), sot_id, jnp.int32),
            body.astype(jnp.int32),
            jnp.full((batch, 1), pad_id, jnp.int32),
        ],
        axis=1,
    )
    return jnp.where(jnp.arange(length)[None, :] == count + 1, eot_id, ids)


class FrozenCLIPEncoder(nn.Module):
    """Word-level tokens int32 [B, L] → (token features [B, clip_length, width], pooled
    [B, width], mask [B, clip_length]): TextEncoder's triple, read through a frozen CLIP text
    tower (GigaGAN's text branch).

    The words become the CLIP ids of their caption (`clip_token_ids`), which the tower in
    `weights_path` (a file of experiments.convert_clip_text_weights) encodes. Its weights are
    the variable "weights" of the "clip" collection, initialised from the file: a network's
    model_state, never trained. Learned on top: Dense projections of the token features
    ("token_projection") and of the pooled feature ("pooled_projection") to `width`. The
    mask is CLIP's (SOT … EOT): padding and unknown words reach nothing.
    """

    weights_path: str
    vocabulary: tuple  # the run's word-level vocabulary (text.vocabulary)
    clip_length: int = 32  # CLIP ids per caption, SOT and EOT included
    width: int = 64
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, tokens):
        tokenizer = clip_tokenizer(self.weights_path)
        ids = clip_token_ids(
            tokens,
            word_piece_table(self.weights_path, self.vocabulary),
            length=self.clip_length,
            sot_id=tokenizer.sot_id,
            eot_id=tokenizer.eot_id,
            pad_id=tokenizer.pad_id,
        )
        weights = self.variable(
            CLIP_COLLECTION,
            "weights",
            lambda: jax.tree.map(jnp.asarray, clip_weights(self.weights_path)),
        )
        tower = CLIPTextTransformer(
            **clip_architecture(self.weights_path),
            dtype=self.dtype,
            parent=None,  # run functionally, not as a submodule with its own params
        )
        features, pooled, mask = tower.apply({"params": weights.value}, ids)
        features, pooled = jax.lax.stop_gradient((features, pooled))
        features = nn.Dense(self.width, dtype=self.dtype, name="token_projection")(
            features
        )
        pooled = nn.Dense(self.width, dtype=self.dtype, name="pooled_projection")(
            pooled
        )
        return features.astype(jnp.float32), pooled.astype(jnp.float32), mask
