"""A contrastive image–caption encoder for captioned Fashion-MNIST (CLIP's objective, Radford
et al. 2021), trained by this project and shipped as a weights file like the classifier, and
the R-precision of text-to-image samples it gives.

Image tower: the classifier's convolutional trunk, then a projection; text tower:
v101jax.nn.text.TextEncoder over the templated captions' vocabulary, then a projection. Both
embeddings are unit vectors; a pair's logit is their cosine times a learned scale.

Templated captions repeat (90 descriptions: class × size level × brightness level), so a
batch holds many true pairs per caption. The targets of each row of the similarity matrix
are therefore every column of the same description, spread evenly (a multi-positive
InfoNCE), where CLIP's diagonal targets would push apart images and captions that match.

R-precision (Xu et al. 2018, AttnGAN's evaluation): each image's caption is ranked by cosine
similarity among itself and 99 captions of other descriptions; the score is the share of
images whose caption ranks first (chance 1/100). A caption that leaves an attribute unnamed
says its middle level, as the templates do ("a coat" is a coat of middle size and brightness).

Reproduce the shipped file with:
    python -m experiments.train_caption_encoder --out=v101jax/metrics/weights/fashion_mnist_caption_encoder.npz
"""

import functools
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from v101jax.core.errors import WeightsError
from v101jax.data import captions, tokenizer
from v101jax.metrics import fashion_classifier, weights_io
from v101jax.nn.text import TextEncoder

WEIGHTS_PATH = os.path.join(
    os.path.dirname(__file__), "weights", "fashion_mnist_caption_encoder.npz"
)
EMBED_DIM = 64
CAPTION_LENGTH = 12  # tokens the encoder reads (data.caption_length's default)
NUM_CANDIDATES = 100  # R-precision ranks the true caption among this many
_REPRODUCE = (
    "Reproduce it with: python -m experiments.train_caption_encoder "
    f"--out={os.path.relpath(WEIGHTS_PATH, os.getcwd())}"
)


def vocabulary() -> tuple[str, ...]:
    """The encoder's words: those of Fashion-MNIST's caption templates."""
    return captions.vocabulary("fashion_mnist")


def caption_tokenizer() -> tokenizer.Tokenizer:
    return tokenizer.Tokenizer(vocabulary(), CAPTION_LENGTH)


class CaptionEncoder(nn.Module):
    """Unit embeddings [N, EMBED_DIM] of images [N, 28, 28, 1] in [-1, 1] and of captions
    (int32 tokens [N, L]), and the learned logit scale."""

    vocab_size: int

    def setup(self):
        # Widths are powers of two: XLA's CPU convolutions are much slower otherwise.
        self.convs = [nn.Conv(w, (3, 3)) for w in (16, 32, 32)]
        self.image_hidden = nn.Dense(128)
        self.image_projection = nn.Dense(EMBED_DIM)
        self.text = TextEncoder(
            self.vocab_size, width=64, num_layers=1, max_length=CAPTION_LENGTH
        )
        self.text_projection = nn.Dense(EMBED_DIM)
        # CLIP's initial temperature, 0.07.
        self.log_scale = self.param(
            "log_scale", nn.initializers.constant(np.log(1 / 0.07)), ()
        )

    def encode_images(self, x):
        for i, conv in enumerate(self.convs):
            x = nn.relu(conv(x))
            if i < 2:
                x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = nn.relu(self.image_hidden(x.reshape(x.shape[0], -1)))
        return _unit(self.image_projection(x))

    def encode_captions(self, tokens):
        _, pooled, _ = self.text(tokens)
        return _unit(self.text_projection(pooled))

    def __call__(self, images, tokens):
        scale = jnp.exp(jnp.minimum(self.log_scale, np.log(100.0)))  # CLIP's cap
        return self.encode_images(images), self.encode_captions(tokens), scale


def _unit(v):
    return v / jnp.maximum(jnp.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def multi_positive_loss(image_emb, text_emb, scale, description):
    """Symmetric InfoNCE whose targets are the pairs of equal description, evenly weighted:
    mean over rows of −Σ_j p_ij log softmax(scale · cos)_ij, images → captions and back."""
    logits = scale * image_emb @ text_emb.T
    same = (description[:, None] == description[None, :]).astype(jnp.float32)
    targets = same / jnp.sum(same, axis=1, keepdims=True)
    image_to_text = optax.softmax_cross_entropy(logits, targets)
    text_to_image = optax.softmax_cross_entropy(logits.T, targets)
    return jnp.mean(image_to_text + text_to_image) / 2


def r_precision(image_emb, true_emb, candidate_emb) -> float:
    """Share of images whose own caption is more similar than every candidate.

    image_emb, true_emb: [N, D] unit vectors (each image and its caption); candidate_emb:
    [N, M, D], the M mismatched captions ranked against each image's (a tie is a miss).
    """
    image_emb, true_emb = np.asarray(image_emb), np.asarray(true_emb)
    true_sim = np.sum(image_emb * true_emb, axis=-1)
    other_sim = np.einsum("nd,nmd->nm", image_emb, np.asarray(candidate_emb))
    return float(np.mean(true_sim > other_sim.max(axis=1)))


@functools.lru_cache(maxsize=1)
def _caption_table() -> tuple[tuple[str, ...], np.ndarray]:
    """(every templated caption, its description [C]): the candidate pool."""
    texts, description = [], []
    for d in range(len(captions.FASHION_NOUNS) * captions.NUM_LEVELS**2):
        for template in range(captions.FASHION_TEMPLATES):
            texts.append(
                captions.fashion_caption(d // 9, (d // 3 % 3, d % 3), template)
            )
            description.append(d)
    return tuple(texts), np.asarray(description)


def mismatched_captions(description: int, rng, num: int = NUM_CANDIDATES - 1):
    """`num` templated captions (drawn with replacement) of descriptions other than
    `description`: captions that say another class or another size or brightness level.
    A caption that leaves an attribute unnamed says its middle level, as in training."""
    texts, described = _caption_table()
    pool = np.flatnonzero(described != description)
    return [texts[i] for i in rng.choice(pool, size=num)]


def prompt_description(prompt: str) -> int | None:
    """The description a prompt says (class · 9 + size level · 3 + brightness level, an
    unnamed attribute at its middle level), or None when it names no class."""
    label, levels = captions.parse_fashion_prompt(prompt)
    if label is None:
        return None
    size, brightness = (1 if level is None else level for level in levels)
    return label * captions.NUM_LEVELS**2 + size * captions.NUM_LEVELS + brightness


def abstract_params():
    model = CaptionEncoder(len(vocabulary()))
    return jax.eval_shape(
        model.init,
        jax.random.PRNGKey(0),
        jnp.zeros((1, 28, 28, 1), jnp.float32),
        jnp.zeros((1, CAPTION_LENGTH), jnp.int32),
    )["params"]


def load_params(path: str = WEIGHTS_PATH) -> tuple[dict, dict]:
    """(params, metadata) of the encoder stored at `path`; a WeightsError when its
    vocabulary is not the templates' (the templates changed since it was trained)."""
    params, metadata = weights_io.load_npz(
        path, abstract_params(), what="caption encoder", hint=_REPRODUCE
    )
    if metadata.get("vocabulary") != " ".join(vocabulary()):
        raise WeightsError(
            f"caption encoder weights file {path} was trained on another caption "
            f"vocabulary than the current templates'. {_REPRODUCE}"
        )
    return params, metadata


def _encoders(params):
    """(images → embeddings, tokens → embeddings), jitted, of `params`."""
    model = CaptionEncoder(len(vocabulary()))
    images = jax.jit(
        lambda x: model.apply({"params": params}, x, method=model.encode_images)
    )
    texts = jax.jit(
        lambda t: model.apply({"params": params}, t, method=model.encode_captions)
    )
    return images, texts


@functools.lru_cache(maxsize=1)
def _shipped():
    return _encoders(load_params()[0])


def embed_images(images, batch_size: int = 500) -> np.ndarray:
    """Unit embeddings [N, EMBED_DIM] of uint8 or [-1, 1] images [N, 28, 28, 1]."""
    fn = _shipped()[0]
    x = fashion_classifier.to_unit(images)
    return np.concatenate(
        [np.asarray(fn(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    )


def embed_captions(texts, batch_size: int = 500) -> np.ndarray:
    """Unit embeddings [N, EMBED_DIM] of caption strings (every word in the templates'
    vocabulary: a ConfigError names one that is not)."""
    tokens = caption_tokenizer().encode_batch(list(texts))
    fn = _shipped()[1]
    return np.concatenate(
        [
            np.asarray(fn(tokens[i : i + batch_size]))
            for i in range(0, len(tokens), batch_size)
        ]
    )


def prompt_r_precision(samples, prompt: str, seed: int = 0) -> float | None:
    """R-precision of samples [N, 28, 28, 1] drawn for `prompt`: its rank among 99
    mismatched templated captions per sample. None when the prompt has words outside the
    encoder's vocabulary, is too long, or names no class."""
    tok = caption_tokenizer()
    if tok.unknown_words(prompt) or len(tokenizer.words(prompt)) > CAPTION_LENGTH:
        return None
    description = prompt_description(prompt)
    if description is None:
        return None
    rng = np.random.default_rng(seed)
    candidates = [mismatched_captions(description, rng) for _ in range(len(samples))]
    image_emb = embed_images(samples)
    true_emb = np.broadcast_to(embed_captions([prompt]), image_emb.shape)
    flat = embed_captions([c for row in candidates for c in row])
    return r_precision(image_emb, true_emb, flat.reshape(len(samples), -1, EMBED_DIM))


def train(
    data_dir: str,
    *,
    num_steps: int = 2000,
    batch_size: int = 256,
    learning_rate: float = 2e-3,
    seed: int = 0,
    log_every: int = 500,
    num_test: int = 1000,
):
    """Trains the encoder on the train split's templated captions (one template per example
    per step, random horizontal flips); returns (params, R-precision on the first `num_test`
    test images with their first-template captions). Adam with warm-up and cosine decay; the
    batch order and templates are a pure function of `seed`."""
    from configs import base
    from v101jax.data import load_dataset

    data_cfg = base.get_base_config().data
    data_cfg.fashion_mnist_dir = data_dir
    data_cfg.captions = "templates"
    data_cfg.caption_length = CAPTION_LENGTH
    train_set = load_dataset(data_cfg)
    data_cfg.split = "test"
    test_set = load_dataset(data_cfg)
    model = CaptionEncoder(len(vocabulary()))
    params = model.init(
        jax.random.PRNGKey(seed),
        jnp.zeros((1, 28, 28, 1), jnp.float32),
        jnp.zeros((1, CAPTION_LENGTH), jnp.int32),
    )["params"]

    def loss_fn(p, x, tokens, description):
        image_emb, text_emb, scale = model.apply({"params": p}, x, tokens)
        return multi_positive_loss(image_emb, text_emb, scale, description)

    rng = np.random.default_rng(seed)

    def batch_inputs(idx):
        template = rng.integers(0, train_set["captions"].shape[1], len(idx))
        return train_set["captions"][idx, template], train_set["description"][idx]

    params = fashion_classifier.fit(
        params,
        loss_fn,
        train_set["x"],
        batch_inputs,
        num_steps=num_steps,
        batch_size=batch_size,
        learning_rate=learning_rate,
        rng=rng,
        log_every=log_every,
        what="caption encoder",
    )
    return params, held_out_r_precision(params, test_set, num_test, seed)


def held_out_r_precision(params, test_set, num: int, seed: int = 0) -> float:
    """R-precision of `params` on the first `num` images of a captioned split, each against
    its first-template caption and 99 of other descriptions (in chunks of 250 images)."""
    tok = caption_tokenizer()
    rng = np.random.default_rng(seed)
    images, texts = _encoders(params)
    hits = 0.0
    for start in range(0, num, 250):
        stop = min(start + 250, num)
        candidates = [
            c
            for d in test_set["description"][start:stop]
            for c in mismatched_captions(d, rng)
        ]
        image_emb = images(test_set["x"][start:stop])
        true_emb = texts(test_set["captions"][start:stop, 0])
        other = np.asarray(texts(tok.encode_batch(candidates)))
        hits += (stop - start) * r_precision(
            image_emb, true_emb, other.reshape(stop - start, -1, EMBED_DIM)
        )
    return hits / num
