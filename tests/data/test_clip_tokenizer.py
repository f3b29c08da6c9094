"""CLIP's byte-level BPE on a vocabulary and merges small enough to work out by hand: the byte
alphabet, clean-up and splitting, merge order, SOT/EOT, padding and truncation, decoding, the
files' errors; and, where transformers is installed, against its CLIPTokenizer."""

import json

import numpy as np
import pytest

from v101jax.core.errors import ConfigError
from v101jax.data.clip_tokenizer import (
    CLIPTokenizer,
    bytes_to_unicode,
    clean,
    split_pieces,
)

# ids are the positions. "Ã" and "©" are the byte alphabet's spellings of 0xC3 and 0xA9,
# the UTF-8 bytes of "é".
TOKENS = [
    *"lowestr",  # 0-6
    *(c + "</w>" for c in "lowestr"),  # 7-13
    "lo",  # 14
    "low</w>",  # 15
    "er</w>",  # 16
    "low",  # 17
    "lower</w>",  # 18
    "Ã",  # 19
    "©</w>",  # 20
    "Ã©</w>",  # 21
    "!</w>",  # 22
    "4</w>",  # 23
    "2</w>",  # 24
    ",</w>",  # 25
    "<|startoftext|>",  # 26
    "<|endoftext|>",  # 27
    "er",  # 28
    "rs</w>",  # 29
]
VOCAB = {t: i for i, t in enumerate(TOKENS)}
MERGES = [
    "l o",
    "lo w</w>",
    "e r</w>",
    "lo w",
    "low er</w>",
    "Ã ©</w>",
    "e r",
    "r s</w>",
]
SOT, EOT = 26, 27


@pytest.fixture
def tokenizer():
    return CLIPTokenizer(VOCAB, MERGES)


def test_byte_alphabet():
    table = bytes_to_unicode()
    assert len(table) == 256 and len(set(table.values())) == 256
    assert table[ord("a")] == "a" and table[ord("~")] == "~" and table[0xE9] == "é"
    # The 68 others take chr(256 + n) in byte order (0-32, 127-160, then 0xAD): GPT-2's "Ā"
    # for 0, "Ġ" for a space, "Ń" for the soft hyphen.
    assert table[0] == "\u0100" and table[ord(" ")] == "\u0120"
    assert table[0x7F] == chr(256 + 33) and table[0xAD] == "\u0143"
    assert not any(c.isspace() for c in table.values())


def test_clean_and_split():
    assert clean("  A&amp;amp;B\n\t CAFE\u0301 ") == "a&b café"  # NFC: e + accent → é
    assert split_pieces("It's 42 o'clock_!! Lé") == [
        "it",
        "'s",
        "4",
        "2",
        "o",
        "'",
        "clock",
        "_!!",
        "lé",
    ]
    assert split_pieces('a<|endoftext|>b "<|startoftext|>"') == [
        "a",
        "<|endoftext|>",
        "b",
        '"',
        "<|startoftext|>",
        '"',
    ]
    # Numbers that are not decimal digits are \\p{N} too: one piece each, as digits.
    assert split_pieces("x₀ σ² ½e 10") == ["x", "₀", "σ", "²", "½", "e", "1", "0"]


def test_merges_by_rank(tokenizer):
    # low: l o w</w> → lo w</w> → low</w>.
    assert tokenizer.encode("low") == [15]
    # lower: l o w e r</w> → lo w e r</w> → lo w er</w> (rank 2 before lo w, rank 3)
    # → low er</w> → lower</w>.
    assert tokenizer.encode("lower") == [18]
    # lowest: lo w e s t</w> → low e s t</w>; nothing merges e, s or t.
    assert tokenizer.encode("lowest") == [17, 3, 4, 12]
    # ers: e r s</w> could merge either pair; e r (rank 6) comes before r s</w> (rank 7).
    assert tokenizer.encode("ers") == [28, 11]
    # lowers: lo w e r s</w> → low e r s</w> → low er s</w>; "low er" is no merge.
    assert tokenizer.encode("lowers") == [17, 28, 11]
    assert tokenizer.tokens("Low,  LOWER!") == [
        "low</w>",
        ",</w>",
        "lower</w>",
        "!</w>",
    ]
    assert tokenizer.encode("42") == [23, 24]
    assert tokenizer.encode("<|startoftext|>low<|endoftext|>") == [SOT, 15, EOT]


def test_non_ascii_letters_are_their_utf8_bytes(tokenizer):
    assert tokenizer.tokens("é") == ["Ã©</w>"]
    assert tokenizer.encode("lé") == [0, 21]  # l Ã ©</w>: only Ã ©</w> merges
    assert tokenizer.decode([SOT, 0, 21, EOT]) == "lé"
    # A lone byte of a character decodes to the replacement character, not an error.
    assert tokenizer.decode([19]) == "\ufffd"


def test_encode_batch_pads_and_truncates_keeping_eot(tokenizer):
    np.testing.assert_array_equal(
        tokenizer.encode_batch(["low", "lowest"], length=7),
        [[SOT, 15, EOT, EOT, EOT, EOT, EOT], [SOT, 17, 3, 4, 12, EOT, EOT]],
    )
    ids = CLIPTokenizer(VOCAB, MERGES, pad_id=0).encode_batch(["low", ""], length=5)
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(ids, [[SOT, 15, EOT, 0, 0], [SOT, EOT, 0, 0, 0]])
    # SOT 17 3 4 12 18 EOT cut to five: SOT 17 3 4, then EOT in the last place.
    np.testing.assert_array_equal(
        tokenizer.encode_batch(["lowest lower"], length=5), [[SOT, 17, 3, 4, EOT]]
    )
    np.testing.assert_array_equal(
        tokenizer.encode_batch(["lowest"], length=2), [[SOT, EOT]]
    )
    with pytest.raises(ConfigError, match="no room"):
        tokenizer.encode_batch(["low"], length=1)


def test_decode(tokenizer):
    ids = tokenizer.encode_batch(["Lowest  lower, low!"], length=12)[0]
    assert tokenizer.decode(ids) == "lowest lower , low !"
    # The text ends at the first EOT, whatever pads after it (0 is "l" here).
    assert tokenizer.decode([SOT, 15, EOT, 0, 0]) == "low"
    assert (
        tokenizer.decode([SOT, 15, EOT], skip_special=False)
        == "<|startoftext|>low <|endoftext|>"
    )
    with pytest.raises(ConfigError, match="id 99"):
        tokenizer.decode([99])


def test_vocabulary_errors(tokenizer):
    with pytest.raises(ConfigError, match="'z</w>' is not in the CLIP vocabulary"):
        tokenizer.encode("low z")
    with pytest.raises(ConfigError, match="makes 'ow', which the vocabulary lacks"):
        CLIPTokenizer(VOCAB, [*MERGES, "o w"])
    with pytest.raises(ConfigError, match="lacks <\\|startoftext\\|>"):
        CLIPTokenizer({k: v for k, v in VOCAB.items() if k != "<|startoftext|>"}, [])
    with pytest.raises(ConfigError, match="same id"):
        CLIPTokenizer({**VOCAB, "extra": 0}, MERGES)
    with pytest.raises(ConfigError, match="not two symbols"):
        CLIPTokenizer(VOCAB, ["l o w"])
    with pytest.raises(ConfigError, match="pad_id=99"):
        CLIPTokenizer(VOCAB, MERGES, pad_id=99)


def test_from_files_skips_the_version_header(tmp_path):
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB), encoding="utf-8")
    (tmp_path / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(MERGES) + "\n", encoding="utf-8"
    )
    loaded = CLIPTokenizer.from_files(
        str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt")
    )
    assert loaded.ranks[("l", "o")] == 0 and len(loaded.ranks) == len(MERGES)
    assert loaded.encode("lower lé") == [18, 0, 21]
    with pytest.raises(ConfigError, match="cannot read"):
        CLIPTokenizer.from_files(str(tmp_path / "absent.json"), str(tmp_path / "m"))
    with pytest.raises(ConfigError, match="not JSON"):
        CLIPTokenizer.from_texts("{", "")


def test_matches_transformers_clip_tokenizer(tmp_path):
    transformers = pytest.importorskip("transformers")
    (tmp_path / "vocab.json").write_text(json.dumps(VOCAB), encoding="utf-8")
    (tmp_path / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(MERGES) + "\n", encoding="utf-8"
    )
    reference = transformers.CLIPTokenizer(
        str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt")
    )
    ours = CLIPTokenizer.from_files(
        str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt")
    )
    texts = ["low lower lowest ers lowers", "Lowest, LOW!", "lé  42", "", "lowest " * 6]
    want = reference(texts, padding="max_length", max_length=10, truncation=True)
    np.testing.assert_array_equal(
        ours.encode_batch(texts, length=10), np.array(want["input_ids"])
    )
