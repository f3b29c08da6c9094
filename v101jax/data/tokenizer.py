"""A word-level tokenizer for captions: lower-cased words and punctuation marks, one id each.

Hand-written because the captions here are short, templated English with a closed vocabulary
that must be saved with the run (its config's `text.vocabulary`); sub-word tokenizers
(SentencePiece, CLIP's BPE) need a trained model file that cannot be downloaded here.

Ids: 0 is padding, 1 an unknown word; the vocabulary's words follow from 2. A caption is
encoded to a fixed length, padded with 0 at the end, so `ids != 0` is its mask.
"""

import collections
import re

import numpy as np

from v101jax.core.errors import ConfigError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
SPECIALS = (PAD, UNK)
# A word (letters and digits, with inner hyphens or apostrophes: "t-shirt", "boot's") or one
# punctuation mark.
_WORD = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*|[^\sa-z0-9]")


def words(text: str) -> list[str]:
    """The words of `text`, lower-cased: "A dark T-shirt." → ["a", "dark", "t-shirt", "."]."""
    return _WORD.findall(text.lower())


def build_vocabulary(texts, min_count: int = 1) -> tuple[str, ...]:
    """The words of `texts` seen at least `min_count` times, most frequent first (ties in
    alphabetical order), after the special tokens: a deterministic vocabulary."""
    counts = collections.Counter(w for t in texts for w in words(t))
    kept = sorted(
        (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
    )
    return SPECIALS + tuple(kept)


class Tokenizer:
    """Maps captions to int32 ids [max_length] and back, for one vocabulary (specials first)."""

    def __init__(self, vocabulary, max_length: int):
        vocabulary = tuple(vocabulary)
        if vocabulary[:2] != SPECIALS:
            raise ConfigError(
                f"a vocabulary starts with {SPECIALS}; this one starts with {vocabulary[:2]}"
            )
        if len(set(vocabulary)) != len(vocabulary):
            raise ConfigError("the vocabulary lists a word twice")
        if max_length < 1:
            raise ConfigError(f"text.max_length={max_length} must be ≥ 1")
        self.vocabulary = vocabulary
        self.max_length = max_length
        self._ids = {w: i for i, w in enumerate(vocabulary)}

    def __len__(self) -> int:
        return len(self.vocabulary)

    def unknown_words(self, text: str) -> list[str]:
        """The words of `text` the vocabulary lacks, in order of appearance, once each."""
        return list(dict.fromkeys(w for w in words(text) if w not in self._ids))

    def encode(self, text: str, *, strict: bool = True) -> np.ndarray:
        """`text` as int32 ids [max_length], padded with 0.

        strict: a ConfigError for a word outside the vocabulary or a caption longer than
        max_length (a prompt must say only what the model was trained to read); otherwise
        unknown words become UNK and long captions are cut.
        """
        tokens = words(text)
        if strict:
            unknown = self.unknown_words(text)
            if unknown:
                raise ConfigError(
                    f"{text!r}: {', '.join(repr(w) for w in unknown)} not in the run's "
                    f"vocabulary of {len(self) - len(SPECIALS)} words (e.g. "
                    f"{', '.join(self.vocabulary[2:12])})"
                )
            if len(tokens) > self.max_length:
                raise ConfigError(
                    f"{text!r} has {len(tokens)} words; the run reads at most "
                    f"{self.max_length} (text.max_length)"
                )
        ids = np.zeros(self.max_length, np.int32)
        found = [self._ids.get(w, UNK_ID) for w in tokens[: self.max_length]]
        ids[: len(found)] = found
        return ids

    def encode_batch(self, texts, *, strict: bool = True) -> np.ndarray:
        """int32 [len(texts), max_length]."""
        return np.stack([self.encode(t, strict=strict) for t in texts]).reshape(
            len(texts), self.max_length
        )

    def decode(self, ids) -> str:
        """The words of `ids` joined by spaces, padding dropped."""
        return " ".join(self.vocabulary[int(i)] for i in np.asarray(ids) if i != PAD_ID)
