"""text.encoder="clip": the word-level captions mapped to CLIP's BPE ids inside the network
(against CLIPTokenizer on the caption strings and hand-worked ids), the frozen tower under the
learned projections (against the tower run directly on the loaded weights), a training step of
text_gan's and GigaGAN's smoke configs that leaves the CLIP weights bitwise as loaded, their
checkpoint round trip, and the config errors.

The CLIP file is tiny and random: a vocabulary of every byte symbol (alone and word-final)
plus the merges that make "dark" one token and "coat" two, so any caption encodes and a few
give ids that can be worked out by hand."""

import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from tests.text_to_image.caption_batches import random_caption_batch
from v101jax.algorithms import text_gan
from v101jax.core.checkpoint import (
    Checkpointer,
    abstract_train_state,
    restore_latest,
)
from v101jax.core.errors import ConfigError
from v101jax.data.clip_tokenizer import CLIPTokenizer, bytes_to_unicode
from v101jax.data.tokenizer import Tokenizer
from v101jax.models.text_gan import (
    CLIP_COLLECTION,
    FrozenCLIPEncoder,
    clip_token_ids,
    word_piece_table,
)
from v101jax.nn import clip_text
from v101jax.nn.clip_text import CLIPTextTransformer

SYMBOLS = list(bytes_to_unicode().values())
MERGED = ["da", "dar", "dark</w>", "co", "coa"]
TOKENS = [*SYMBOLS, *(s + "</w>" for s in SYMBOLS), *MERGED]
SOT_ID, EOT_ID = len(TOKENS), len(TOKENS) + 1
VOCAB = {**{t: i for i, t in enumerate(TOKENS)}, "<|startoftext|>": SOT_ID}
VOCAB["<|endoftext|>"] = EOT_ID
MERGES = ["d a", "da r", "dar k</w>", "c o", "co a"]
POSITIONS = 40
WORDS = ("<pad>", "<unk>", "a", "dark", "coat", "t-shirt", "is", ".")
# Hand-worked ids: "a" → a</w>; "dark" → d a r k</w> → dark</w>; "coat" → c o a t</w> →
# coa t</w>; "t-shirt" → three pieces, "t", "-", "shirt", the last five symbols.
A, DARK, COA, T_END = (
    VOCAB["a</w>"],
    VOCAB["dark</w>"],
    VOCAB["coa"],
    VOCAB["t</w>"],
)


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory):
    """(path, params) of a random CLIP text tower with the tiny tokenizer."""
    architecture = {
        "vocab_size": EOT_ID + 1,
        "width": 16,
        "num_layers": 1,
        "num_heads": 2,
        "max_length": POSITIONS,
        "intermediate_size": 32,
        "projection_dim": 8,
        "eos_id": EOT_ID,
    }
    shapes = jax.eval_shape(
        CLIPTextTransformer(**architecture).init,
        jax.random.PRNGKey(0),
        jnp.zeros((1, POSITIONS), jnp.int32),
    )["params"]
    rng = np.random.default_rng(0)
    params = jax.tree.map(
        lambda s: (0.3 * rng.standard_normal(s.shape)).astype(np.float32), shapes
    )
    path = str(tmp_path_factory.mktemp("clip") / "clip_text.npz")
    clip_text.save_clip_text(
        path,
        params,
        architecture,
        vocab_json=json.dumps(VOCAB),
        merges_txt="#version: 0.2\n" + "\n".join(MERGES) + "\n",
    )
    return path, params


def _clip_ids(path, tokens, length, pad_id=None):
    tokenizer = clip_text.load_clip_tokenizer(path, pad_id=pad_id)
    return np.asarray(
        jax.jit(
            functools.partial(
                clip_token_ids,
                table=word_piece_table(path, WORDS),
                length=length,
                sot_id=tokenizer.sot_id,
                eot_id=tokenizer.eot_id,
                pad_id=tokenizer.pad_id,
            )
        )(jnp.asarray(tokens))
    )


def test_word_tokens_map_to_the_clip_ids_of_their_caption(clip_file):
    path, _ = clip_file
    tokenizer = CLIPTokenizer(VOCAB, MERGES)
    assert tokenizer.encode("coat") == [COA, T_END]
    words = Tokenizer(WORDS, 10)
    captions = [
        "a dark coat",
        "a t-shirt is dark .",
        "",
        "dark dark dark dark dark dark dark dark dark dark",  # 10 pieces
        "coat coat coat coat coat coat",  # 12 pieces: cut to 10
    ]
    tokens = words.encode_batch(captions)
    # An unknown word (id 1) inside a caption maps to nothing, as if it were not there.
    tokens[0] = [2, 1, 3, 1, 4, 0, 0, 0, 0, 0]
    ids = _clip_ids(path, tokens, 12)
    np.testing.assert_array_equal(ids, tokenizer.encode_batch(captions, 12))
    np.testing.assert_array_equal(
        ids[0], [SOT_ID, A, DARK, COA, T_END, EOT_ID, *[EOT_ID] * 6]
    )
    np.testing.assert_array_equal(ids[2], [SOT_ID, *[EOT_ID] * 11])
    np.testing.assert_array_equal(ids[3], [SOT_ID, *[DARK] * 10, EOT_ID])
    np.testing.assert_array_equal(ids[4], [SOT_ID, *[COA, T_END] * 5, EOT_ID])
    # Padded with 0 (open_clip's checkpoints) instead of EOT: EOT still ends each caption.
    np.testing.assert_array_equal(
        _clip_ids(path, tokens, 12, pad_id=0),
        CLIPTokenizer(VOCAB, MERGES, pad_id=0).encode_batch(captions, 12),
    )
    # Room for more pieces than three words can have (3 × 7): the rest is padding.
    wide = _clip_ids(path, tokens[:2, :3], 38)
    np.testing.assert_array_equal(
        wide, tokenizer.encode_batch(["a dark", "a t-shirt is"], 38)
    )
    # Cut short: SOT, the first pieces, EOT.
    np.testing.assert_array_equal(
        _clip_ids(path, tokens[1:2], 6),
        [[SOT_ID, A, T_END, VOCAB["-</w>"], VOCAB["s"], EOT_ID]],
    )


def test_encoder_is_the_tower_on_the_loaded_weights_under_dense_projections(
    clip_file,
):
    path, params = clip_file
    encoder = FrozenCLIPEncoder(
        weights_path=path, vocabulary=WORDS, clip_length=16, width=12
    )
    captions = ["a dark coat", "t-shirt is a coat ."]
    tokens = jnp.asarray(Tokenizer(WORDS, 8).encode_batch(captions))
    variables = jax.jit(encoder.init)(jax.random.PRNGKey(0), tokens)
    assert set(variables) == {"params", CLIP_COLLECTION}
    assert set(variables["params"]) == {"token_projection", "pooled_projection"}
    jax.tree.map(
        np.testing.assert_array_equal, variables[CLIP_COLLECTION]["weights"], params
    )
    run = jax.jit(encoder.apply)
    features, pooled, mask = run(variables, tokens)

    ids = CLIPTokenizer(VOCAB, MERGES).encode_batch(captions, 16)
    tower = clip_text.load_clip_text(path)[0]
    want_features, want_pooled, want_mask = tower.apply({"params": params}, ids)
    p = variables["params"]
    assert features.shape == (2, 16, 12) and pooled.shape == (2, 12)
    np.testing.assert_allclose(
        features,
        np.asarray(want_features) @ p["token_projection"]["kernel"]
        + p["token_projection"]["bias"],
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        pooled,
        np.asarray(want_pooled) @ p["pooled_projection"]["kernel"]
        + p["pooled_projection"]["bias"],
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_array_equal(mask, want_mask)
    # SOT, the pieces (a, dark, coa t; t - s h i r t, i s, a, coa t, .), EOT.
    assert mask.sum() == (1 + 4 + 1) + (1 + 13 + 1)
    # More word-level padding changes nothing.
    longer = run(variables, jnp.pad(tokens, ((0, 0), (0, 5))))
    jax.tree.map(np.testing.assert_array_equal, longer, (features, pooled, mask))
    # No gradient reaches the tower's weights; the projections get one.
    grads = jax.jit(jax.grad(lambda v: jnp.sum(encoder.apply(v, tokens)[1] ** 2)))(
        variables
    )
    assert all(
        not np.any(g) for g in jax.tree.leaves(grads[CLIP_COLLECTION]["weights"])
    )
    assert np.abs(grads["params"]["pooled_projection"]["kernel"]).max() > 0


def _clip_config(name, path, **gan):
    config = text_gan.resolve_config(load_config(f"configs/{name}.py:smoke"))
    with config.unlocked():
        config.text.encoder = "clip"
        config.text.clip_weights = path
        config.text.clip_length = 24
        config.gan.update(gan)
    return config


# GAN-INT reads each caption batch twice through one encoder; GigaGAN's step is the
# slowest to compile, so it runs without GAN-INT and R1 (they do not touch the encoder).
@pytest.mark.parametrize(
    "name, gan",
    [
        ("text_gan", {}),
        ("gigagan", {"interpolation_weight": 0.0, "r1_gamma": 0.0}),
    ],
)
def test_a_training_step_leaves_the_clip_weights_as_loaded(
    clip_file, name, gan, tmp_path
):
    path, params = clip_file
    config = _clip_config(name, path, **gan)
    batch = random_caption_batch(config)
    init = functools.partial(text_gan.init, config)
    state = jax.jit(init)(jax.random.PRNGKey(0), batch)
    before = jax.device_get(state)
    state, metrics = jax.jit(functools.partial(text_gan.train_step, config))(
        state, batch, jax.random.PRNGKey(1)
    )
    assert int(state.step) == 1
    assert all(np.isfinite(float(v)) for v in metrics.values())
    for network in ("gen", "disc"):
        jax.tree.map(
            np.testing.assert_array_equal,
            state[network].model_state[CLIP_COLLECTION]["encoder"],
            {"weights": params},
        )
        changed = jax.tree.map(
            lambda a, b: bool(np.any(np.asarray(a) != b)),
            state[network].params,
            before[network].params,
        )
        # The projection of CLIP's pooled feature learns (both bodies read it).
        assert all(jax.tree.leaves(changed["encoder"]["pooled_projection"]))
    # A resumed run restores into the tree of jax.eval_shape(init): the weights are in it,
    # and come back from the checkpoint.
    if name == "text_gan":
        directory = str(tmp_path / "checkpoints")
        ckpt = Checkpointer(directory, max_to_keep=1)
        try:
            ckpt.save(1, state.checkpoint_tree())
        finally:
            ckpt.close()
        sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
        abstract, tree = abstract_train_state(
            init, jax.random.PRNGKey(0), batch, sharding
        )
        restored = restore_latest(directory, abstract, tree)
        for network in ("gen", "disc"):
            jax.tree.map(
                np.testing.assert_array_equal,
                restored[network].params,
                state[network].params,
            )
            jax.tree.map(
                np.testing.assert_array_equal,
                restored[network].model_state[CLIP_COLLECTION]["encoder"],
                {"weights": params},
            )


def test_config_errors(clip_file, tmp_path):
    path, _ = clip_file
    config = _clip_config("text_gan", path)
    text_gan.validate(config)

    def validate(**text):
        bad = config.copy_and_resolve_references()
        with bad.unlocked():
            bad.text.update(text)
        text_gan.validate(bad)

    with pytest.raises(ConfigError, match="text.encoder='bert' is not one of"):
        validate(encoder="bert")
    with pytest.raises(ConfigError, match=r"\(none given\) not found.*convert_clip"):
        validate(clip_weights="")
    with pytest.raises(
        ConfigError, match=r"clip_weights=.*absent\.npz.*not found.*convert_clip_text"
    ):
        validate(clip_weights=str(tmp_path / "absent.npz"))
    with pytest.raises(ConfigError, match=r"text.clip_length=41 must be in 2 … 40"):
        validate(clip_length=41)
    # "pullover" is 8 single-symbol pieces: 9 positions leave only 7 between SOT and EOT.
    with pytest.raises(ConfigError, match="'pullover' is 8 CLIP tokens"):
        validate(clip_length=9)
    validate(clip_length=10)
    # The own encoder needs no file, nor do configs saved before text.encoder existed.
    validate(encoder="own", clip_weights="")
    old = config.copy_and_resolve_references()
    with old.unlocked():
        del old.text["encoder"]
    old = text_gan.resolve_config(old)  # what reading a run's config.json applies
    assert old.text.encoder == "own"
    text_gan.validate(old)
    assert type(text_gan.make_networks(old)[0].encoder).__name__ == "TextEncoder"
    assert isinstance(text_gan.make_networks(config)[0].encoder, FrozenCLIPEncoder)
