"""The contrastive image–caption encoder: its loss, R-precision, the contradicting captions,
and the shipped weights' R-precision on held-out Fashion-MNIST."""

import numpy as np
import pytest

from configs import base
from v101jax.core.errors import WeightsError
from v101jax.data import load_dataset
from v101jax.metrics import caption_encoder, weights_io


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def test_multi_positive_loss_against_a_numpy_rederivation():
    rng = np.random.default_rng(0)
    image = rng.standard_normal((5, 3))
    text = rng.standard_normal((5, 3))
    description = np.array([4, 7, 4, 1, 7])
    scale = 2.5
    logits = scale * image @ text.T
    expected = 0.0
    for lp in (_log_softmax(logits), _log_softmax(logits.T)):
        for i in range(5):
            same = np.flatnonzero(description == description[i])
            # Row i's targets: the columns of its description, 1/|same| each.
            expected -= lp[i, same].mean() / 5
    got = caption_encoder.multi_positive_loss(image, text, scale, description)
    assert float(got) == pytest.approx(expected / 2, rel=1e-5)


def test_r_precision_hand_values():
    image = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    true = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8]])
    candidates = np.array(
        [
            [[0.0, 1.0], [0.6, 0.8]],  # 1 > 0.6: ranked first
            [[0.6, 0.8], [0.0, 1.0]],  # 0 < 1: missed
            [[0.6, 0.8], [0.0, 1.0]],  # a tie with a candidate is a miss
        ]
    )
    assert caption_encoder.r_precision(image, true, candidates) == pytest.approx(1 / 3)


def test_mismatched_captions_say_another_description():
    rng = np.random.default_rng(0)
    for d in (0, 40, 89):
        found = caption_encoder.mismatched_captions(d, rng, num=2000)
        said = {caption_encoder.prompt_description(text) for text in found}
        # Every other description is drawn, the caption's own never.
        assert said == set(range(90)) - {d}
    assert caption_encoder.prompt_description("a small bright coat") == 4 * 9 + 0 + 2
    assert caption_encoder.prompt_description("this sneaker is dark") == 7 * 9 + 3 + 0
    assert caption_encoder.prompt_description("something bright") is None


@pytest.fixture(scope="module")
def test_split():
    data = base.get_base_config().data
    data.captions = "templates"
    data.split = "test"
    return load_dataset(data)


def test_shipped_encoder_ranks_held_out_captions_first(test_split):
    params, metadata = caption_encoder.load_params()
    assert float(metadata["test_r_precision"]) > 0.8
    # The first 500 held-out images against their own captions, then against a caption of
    # another description in their place: the score must follow the pairing.
    own = caption_encoder.held_out_r_precision(params, test_split, 500)
    assert own > 0.8
    d = test_split["description"][:500]
    swapped = dict(test_split)
    j = np.array([np.flatnonzero(d != d[i])[0] for i in range(500)])
    swapped["captions"] = test_split["captions"][:500][j]
    assert caption_encoder.held_out_r_precision(params, swapped, 500) < 0.1
    # Prompts: real small bright ankle boots score high for what they are, low for a
    # sandal or a boot of other attributes.
    boots = test_split["x"][test_split["description"] == 9 * 9 + 0 + 2][:100]
    assert len(boots) >= 30
    assert caption_encoder.prompt_r_precision(boots, "a small bright ankle boot") > 0.8
    assert caption_encoder.prompt_r_precision(boots, "a small bright sandal") < 0.2
    assert caption_encoder.prompt_r_precision(boots, "a large dark ankle boot") < 0.2
    assert caption_encoder.prompt_r_precision(boots, "a purple boot") is None
    assert caption_encoder.prompt_r_precision(boots, "something bright") is None


def test_weights_of_another_vocabulary_are_refused(tmp_path):
    params, metadata = caption_encoder.load_params()
    path = str(tmp_path / "other.npz")
    weights_io.save_npz(path, params, metadata={**metadata, "vocabulary": "a b c"})
    with pytest.raises(WeightsError, match="another caption vocabulary"):
        caption_encoder.load_params(path)
