"""OpenAI CLIP's byte-level BPE tokenizer, read from Hugging Face's vocab.json and merges.txt.

Hand-written from the algorithm of OpenAI's simple_tokenizer.py because Hugging Face's
`tokenizers` and `transformers` packages are not dependencies of this project. A caption is
cleaned (HTML entities unescaped twice, Unicode NFC, runs of whitespace made one space,
lower-cased), split into words, digits and punctuation runs, each piece written as its UTF-8
bytes in a printable alphabet of 256 characters (`bytes_to_unicode`, so every string has a
spelling), and each piece merged by the ranked BPE merges, its last symbol marked `</w>`.

Differences from OpenAI's tokenizer, on text outside plain Unicode prose only:
- CLIP's split pattern uses \\p{L} and \\p{N}, which the standard `re` lacks: letters are
  matched by [^\\W\\d_] (word characters other than decimal digits and "_") and digits by
  \\d. [^\\W\\d_] also takes the numeric symbols that are not decimal digits ("²", "₀",
  "½") as letters, so its runs are split again at them, each its own piece as in CLIP's
  pattern; what remains is the difference between Python's Unicode tables and those of the
  `regex` module.
- `ftfy.fix_text`'s repairs beyond NFC (mojibake, curly quotes, ligatures, full-width forms)
  are not made. (Hugging Face's CLIPTokenizer makes neither these nor the HTML unescaping.)

Ids (OpenAI's vocabulary): 49406 <|startoftext|>, 49407 <|endoftext|>. `encode_batch` writes
SOT, the caption, EOT, then padding (EOT by default, as OpenAI's CLIP; open_clip's checkpoints
pad with 0); CLIPTextTransformer masks whatever follows the first EOT.
"""

import functools
import html
import itertools
import json
import re
import unicodedata

import numpy as np

from v101jax.core.errors import ConfigError

SOT, EOT = "<|startoftext|>", "<|endoftext|>"
END_OF_WORD = "</w>"
DEFAULT_LENGTH = 77  # CLIP's context length
# The specials are cut out of a caption first, wherever they stand (as Hugging Face's
# tokenizer; OpenAI's pattern finds them only where a piece starts).
_SPECIALS = re.compile(r"(<\|startoftext\|>|<\|endoftext\|>)")
# OpenAI's pattern with \p{L} → [^\W\d_] and \p{N} → \d (see the module docstring):
# English contractions, a run of letters, one digit, a run of anything else but whitespace.
_PIECE = re.compile(
    r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+", re.IGNORECASE
)


@functools.cache
def bytes_to_unicode() -> dict[int, str]:
    """Byte → printable character: the printable Latin-1 bytes stand for themselves, the other
    68 (controls, space, soft hyphen, …) for chr(256 + n) in byte order, so a BPE symbol is
    never whitespace or a control character."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    others = [b for b in range(256) if b not in table]
    table.update({b: chr(256 + n) for n, b in enumerate(others)})
    return dict(sorted(table.items()))


def clean(text: str) -> str:
    """OpenAI's clean-up of a caption, without ftfy (see the module docstring)."""
    text = html.unescape(html.unescape(text))
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def split_pieces(text: str) -> list[str]:
    """The pre-tokens of `text` after `clean`: "It's 42!" → ["it", "'s", "4", "2", "!"]."""
    pieces = []
    for part in _SPECIALS.split(clean(text)):
        if part in (SOT, EOT):
            pieces.append(part)
            continue
        for piece in _PIECE.findall(part):
            # A letter run holding numeric symbols (see the module docstring).
            if piece.isalnum() and not piece.isalpha():
                pieces += _split_numbers(piece)
            else:
                pieces.append(piece)
    return pieces


def _split_numbers(run: str) -> list[str]:
    """A run of letters and numbers as \\p{L}+ runs and single \\p{N} characters."""
    pieces, letters = [], ""
    for c in run:
        if unicodedata.category(c).startswith("N"):
            pieces += [letters, c] if letters else [c]
            letters = ""
        else:
            letters += c
    return pieces + [letters] if letters else pieces


class CLIPTokenizer:
    """Captions → CLIP token ids and back, for one vocabulary and its merges.

    vocabulary: token → id, tokens in the byte alphabet (e.g. "hello</w>", "Ġ"); must hold
    <|startoftext|> and <|endoftext|>. merges: "a b" strings (or (a, b) pairs) in rank order,
    each merged symbol in the vocabulary. pad_id: the id after EOT in `encode_batch`
    (default EOT's).
    """

    def __init__(self, vocabulary: dict, merges, *, pad_id: int | None = None):
        self.vocabulary = {str(k): int(v) for k, v in vocabulary.items()}
        for special in (SOT, EOT):
            if special not in self.vocabulary:
                raise ConfigError(f"the CLIP vocabulary lacks {special}")
        self._tokens = {i: t for t, i in self.vocabulary.items()}
        if len(self._tokens) != len(self.vocabulary):
            raise ConfigError("the CLIP vocabulary gives two tokens the same id")
        self.ranks = {}
        for rank, merge in enumerate(merges):
            pair = tuple(merge.split()) if isinstance(merge, str) else tuple(merge)
            if len(pair) != 2:
                raise ConfigError(f"merge {rank} ({merge!r}) is not two symbols")
            if "".join(pair) not in self.vocabulary:
                raise ConfigError(
                    f"merge {rank} ({' '.join(pair)!r}) makes {''.join(pair)!r}, which "
                    "the vocabulary lacks: vocab.json and merges.txt are from different "
                    "tokenizers"
                )
            self.ranks.setdefault(pair, rank)
        self.sot_id, self.eot_id = self.vocabulary[SOT], self.vocabulary[EOT]
        self.pad_id = self.eot_id if pad_id is None else int(pad_id)
        if self.pad_id not in self._tokens:
            raise ConfigError(f"pad_id={self.pad_id} is no id of the vocabulary")
        self._byte_symbols = bytes_to_unicode()
        self._symbol_bytes = {c: b for b, c in self._byte_symbols.items()}
        self._cache = {SOT: [SOT], EOT: [EOT]}

    @classmethod
    def from_texts(cls, vocab_json: str, merges_txt: str, **kwargs) -> "CLIPTokenizer":
        """From the contents of Hugging Face's vocab.json and merges.txt (whose first line, a
        "#version: …" header, is skipped)."""
        try:
            vocabulary = json.loads(vocab_json)
        except ValueError as e:
            raise ConfigError(f"vocab.json is not JSON: {e}") from None
        if not isinstance(vocabulary, dict):
            raise ConfigError("vocab.json is not a JSON object of token → id")
        lines = merges_txt.splitlines()
        if lines and lines[0].startswith("#version"):
            lines = lines[1:]
        return cls(vocabulary, [ln for ln in lines if ln.strip()], **kwargs)

    @classmethod
    def from_files(cls, vocab_path: str, merges_path: str, **kwargs) -> "CLIPTokenizer":
        """From a Hugging Face CLIP folder's vocab.json and merges.txt."""
        texts = []
        for path in (vocab_path, merges_path):
            try:
                with open(path, encoding="utf-8") as f:
                    texts.append(f.read())
            except OSError as e:
                raise ConfigError(f"cannot read {path}: {e.strerror}") from None
        return cls.from_texts(*texts, **kwargs)

    def __len__(self) -> int:
        return len(self.vocabulary)

    def bpe(self, piece: str) -> list[str]:
        """The vocabulary tokens of one pre-token (in the byte alphabet): its characters,
        the last marked </w>, merged pair by pair, lowest rank first."""
        if piece in self._cache:
            return self._cache[piece]
        word = [*piece[:-1], piece[-1] + END_OF_WORD]
        while len(word) > 1:
            pairs = set(itertools.pairwise(word))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self._cache[piece] = word
        return word

    def tokens(self, text: str) -> list[str]:
        """The vocabulary tokens of `text`, without SOT/EOT."""
        out = []
        for piece in split_pieces(text):
            if piece not in (SOT, EOT):
                piece = "".join(self._byte_symbols[b] for b in piece.encode("utf-8"))
            out += self.bpe(piece)
        return out

    def encode(self, text: str) -> list[int]:
        """The ids of `text`, without SOT/EOT."""
        tokens = self.tokens(text)
        missing = [t for t in tokens if t not in self.vocabulary]
        if missing:
            raise ConfigError(
                f"{text!r}: {missing[0]!r} is not in the CLIP vocabulary (vocab.json and "
                "merges.txt from different tokenizers?)"
            )
        return [self.vocabulary[t] for t in tokens]

    def encode_batch(self, texts, length: int = DEFAULT_LENGTH) -> np.ndarray:
        """int32 [len(texts), length]: SOT, the caption's ids, EOT, then pad_id. A caption
        too long is cut and its last id replaced by EOT (as open_clip), so every row ends
        its text with EOT."""
        if length < 2:
            raise ConfigError(f"length={length} leaves no room for SOT and EOT")
        ids = np.full((len(texts), length), self.pad_id, np.int32)
        for row, text in enumerate(texts):
            tokens = [self.sot_id, *self.encode(text), self.eot_id][:length]
            tokens[-1] = self.eot_id
            ids[row, : len(tokens)] = tokens
        return ids

    def decode(self, ids, skip_special: bool = True) -> str:
        """The text of `ids`, a word per </w>. skip_special: a leading SOT is dropped and the
        text ends at the first EOT (what follows is padding)."""
        ids = [int(i) for i in np.asarray(ids).reshape(-1)]
        if skip_special:
            if ids and ids[0] == self.sot_id:
                ids = ids[1:]
            if self.eot_id in ids:
                ids = ids[: ids.index(self.eot_id)]
        unknown = [i for i in ids if i not in self._tokens]
        if unknown:
            raise ConfigError(f"id {unknown[0]} is not in the CLIP vocabulary")
        symbols = "".join(self._tokens[i] for i in ids)
        data = bytes(self._symbol_bytes.get(c, ord("?")) for c in symbols)
        return data.decode("utf-8", errors="replace").replace(END_OF_WORD, " ").strip()
