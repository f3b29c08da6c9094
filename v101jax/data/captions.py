"""Captions written from what an image is and what its pixels measure, for text-to-image
training without a caption set on disk (data.captions = "templates").

Fashion-MNIST: the class and two attributes measured from the pixels,
  size        the fraction of the 28×28 frame the garment covers (pixels > 25 of 255),
  brightness  the garment's mean intensity over those pixels,
each split at its class's terciles on the train split (a "small" coat is small for a coat):
level 0 names the low word (small, dark), 2 the high one (large, bright), 1 names nothing.
Every image gets one caption per template ("a small dark ankle boot", "this coat is
bright", …). Toy 2-D rings: the mode's compass direction ("the north east mode", …).
A folder of the user's images reads each image's captions from a text file beside it
(data.captions = "files", v101jax.data.folders.read_captions).

An image's *description* is what its captions say, as one int: class · 9 + size level · 3 +
brightness level (the mode for rings). Two captions with the same description say the same
thing in other words, so a matching-aware discriminator's mismatched captions are drawn from
other descriptions, never the image's own. A folder image's description numbers its set of
captions: images captioned alike share one.
"""

import itertools

import numpy as np

from v101jax.data import tokenizer

FASHION_NOUNS = (
    "t-shirt",
    "trousers",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
# Attribute name → (word of level 0, word of level 2); level 1 is unnamed.
ATTRIBUTES = {"size": ("small", "large"), "brightness": ("dark", "bright")}
NUM_LEVELS = 3
_INK = 25  # a pixel above this (of 255) belongs to the garment
FASHION_TEMPLATES = 4
RING_DIRECTIONS = (
    "east",
    "north east",
    "north",
    "north west",
    "west",
    "south west",
    "south",
    "south east",
)
RING_TEMPLATES = ("the {} mode", "a point in the {}", "{}")


def measure_attributes(images) -> np.ndarray:
    """float32 [N, 2]: (size, brightness) of uint8 images [N, H, W] or [N, H, W, 1]."""
    images = np.asarray(images).reshape(len(images), -1).astype(np.float32)
    ink = images > _INK
    count = ink.sum(axis=1)
    size = count / images.shape[1]
    brightness = (images * ink).sum(axis=1) / np.maximum(count, 1)
    return np.stack([size, brightness], axis=-1).astype(np.float32)


def attribute_thresholds(values, labels, num_classes: int) -> np.ndarray:
    """float32 [K, A, 2]: each class's 1/3 and 2/3 quantiles of each attribute."""
    thresholds = np.zeros((num_classes, values.shape[1], 2), np.float32)
    for k in range(num_classes):
        of_class = values[labels == k]
        if len(of_class):
            thresholds[k] = np.quantile(of_class, [1 / 3, 2 / 3], axis=0).T
    return thresholds


def attribute_levels(values, labels, thresholds) -> np.ndarray:
    """int32 [N, A] in {0, 1, 2}: each value against its class's terciles."""
    t = thresholds[labels]  # [N, A, 2]
    return ((values > t[..., 0]).astype(np.int32) + (values > t[..., 1])).astype(
        np.int32
    )


def adjectives(levels) -> list[str]:
    """The words of named levels, size before brightness: (0, 2) → ["small", "bright"]."""
    named = []
    for (low, high), level in zip(ATTRIBUTES.values(), levels, strict=True):
        if level != 1:
            named.append(low if level == 0 else high)
    return named


def fashion_caption(label: int, levels, template: int) -> str:
    """Caption `template` (0 … FASHION_TEMPLATES − 1) of a class with attribute levels."""
    noun = FASHION_NOUNS[label]
    adjs = adjectives(levels)
    phrase = " ".join(adjs + [noun])
    article = "an" if phrase[0] in "aeiou" else "a"
    if template == 0:
        return f"{article} {phrase}"
    if template == 1:
        return f"a photo of {article} {phrase}"
    if template == 2:
        return f"{noun}, {' and '.join(adjs)}" if adjs else noun
    if template == 3:
        if not adjs:
            return f"this is {article} {noun}"
        return f"this {noun} is {' and '.join(adjs)}"
    raise ValueError(f"template {template} is not in 0 … {FASHION_TEMPLATES - 1}")


def ring_caption(mode: int, template: int) -> str:
    return RING_TEMPLATES[template].format(RING_DIRECTIONS[mode])


def fashion_description(labels, levels) -> np.ndarray:
    """int32 [N]: class · 9 + size level · 3 + brightness level."""
    levels = np.asarray(levels)
    return (
        np.asarray(labels) * NUM_LEVELS**2 + levels[:, 0] * NUM_LEVELS + levels[:, 1]
    ).astype(np.int32)


def all_captions(source: str) -> list[str]:
    """Every caption a source's templates can write (what its vocabulary is built from)."""
    if source == "ring":
        return [
            ring_caption(m, t)
            for m in range(len(RING_DIRECTIONS))
            for t in range(len(RING_TEMPLATES))
        ]
    levels = list(itertools.product(range(NUM_LEVELS), repeat=len(ATTRIBUTES)))
    return [
        fashion_caption(k, lv, t)
        for k in range(len(FASHION_NOUNS))
        for lv in levels
        for t in range(FASHION_TEMPLATES)
    ]


def vocabulary(source: str) -> tuple[str, ...]:
    """The tokenizer vocabulary of a source's templated captions (deterministic)."""
    return tokenizer.build_vocabulary(all_captions(source))


def fashion_captions(images, labels, thresholds, tok: tokenizer.Tokenizer):
    """(captions int32 [N, FASHION_TEMPLATES, L], description int32 [N]) of uint8 images."""
    levels = attribute_levels(measure_attributes(images), labels, thresholds)
    description = fashion_description(labels, levels)
    # Captions depend only on the description: encode each of the 90 once.
    table = np.stack(
        [
            tok.encode_batch(
                [
                    fashion_caption(d // 9, (d // 3 % 3, d % 3), t)
                    for t in range(FASHION_TEMPLATES)
                ]
            )
            for d in range(len(FASHION_NOUNS) * NUM_LEVELS**2)
        ]
    )
    return table[description], description


def ring_captions(labels, tok: tokenizer.Tokenizer):
    """(captions int32 [N, len(RING_TEMPLATES), L], description = the mode [N])."""
    table = np.stack(
        [
            tok.encode_batch([ring_caption(m, t) for t in range(len(RING_TEMPLATES))])
            for m in range(len(RING_DIRECTIONS))
        ]
    )
    labels = np.asarray(labels, np.int32)
    return table[labels], labels


def parse_fashion_prompt(text: str) -> tuple[int | None, tuple[int | None, ...]]:
    """(class or None, (size level or None, brightness level or None)) named by a prompt:
    what its samples are scored against. A class is named by its noun ("ankle boot" before
    "boot"-less nouns), a level by its word."""
    padded = " " + " ".join(tokenizer.words(text)) + " "
    label = None
    # Longest nouns first, so "t-shirt" is not read as "shirt".
    for k in sorted(range(len(FASHION_NOUNS)), key=lambda k: -len(FASHION_NOUNS[k])):
        if f" {FASHION_NOUNS[k]} " in padded:
            label = k
            break
    found = []
    said = set(tokenizer.words(text))
    for low, high in ATTRIBUTES.values():
        level = 0 if low in said else 2 if high in said else None
        found.append(level)
    return label, tuple(found)


def parse_ring_prompt(text: str) -> int | None:
    """The mode a ring prompt names (the longest direction it contains), or None."""
    padded = " " + " ".join(tokenizer.words(text)) + " "
    for m in sorted(
        range(len(RING_DIRECTIONS)), key=lambda m: -len(RING_DIRECTIONS[m])
    ):
        if f" {RING_DIRECTIONS[m]} " in padded:
            return m
    return None


def file_captions(lines, per_image: int, tok: tokenizer.Tokenizer):
    """(captions int32 [N, per_image, L], description int32 [N]) of each image's caption
    lines (a list of N non-empty lists): an image with fewer lines repeats them in turn, one
    with more keeps its first `per_image`. Words outside the vocabulary become UNK and long
    captions are cut (tokenizer.encode with strict=False)."""
    chosen = [[own[i % len(own)] for i in range(per_image)] for own in lines]
    # Captions that read the same word for word are the same caption.
    said = [
        " | ".join(" ".join(tokenizer.words(c)) for c in sorted(set(own)))
        for own in chosen
    ]
    _, description = np.unique(np.asarray(said, dtype=object), return_inverse=True)
    tokens = tok.encode_batch([c for own in chosen for c in own], strict=False)
    return (
        tokens.reshape(len(lines), per_image, tok.max_length),
        description.astype(np.int32).reshape(len(lines)),
    )
