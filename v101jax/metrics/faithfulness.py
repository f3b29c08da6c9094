"""Prompt faithfulness: whether samples show what their prompt says (v101jax.data.captions).

Fashion-MNIST  class accuracy: the shipped classifier's prediction against the class the
               prompt names; attribute accuracy: the sample's measured size and brightness
               level (at the named class's train-split terciles, or the predicted class's
               when the prompt names none) against the level the prompt names. Chance is
               1/10 and 1/3.
ring           mode accuracy: samples within 3σ of the mode the prompt names.
"""

import numpy as np

from v101jax.data import captions, toy
from v101jax.training.images import to_uint8


def fashion_faithfulness(
    samples, prompt: str, thresholds, predict_classes
) -> dict[str, float]:
    """{class_accuracy, size_accuracy, brightness_accuracy} of samples [N, 28, 28, 1] in
    [-1, 1] drawn for `prompt`, for what it names (absent keys: not named).

    thresholds: [K, A, 2] (pipeline.fashion_attribute_thresholds); predict_classes: images
    → predicted classes [N] (the shipped classifier's argmax).
    """
    label, levels = captions.parse_fashion_prompt(prompt)
    images = to_uint8(samples)
    predicted = np.asarray(predict_classes(samples))
    scores = {}
    if label is not None:
        scores["class_accuracy"] = float(np.mean(predicted == label))
    classes = predicted if label is None else np.full(len(images), label)
    measured = captions.attribute_levels(
        captions.measure_attributes(images), classes, thresholds
    )
    for a, (name, level) in enumerate(zip(captions.ATTRIBUTES, levels, strict=True)):
        if level is not None:
            scores[f"{name}_accuracy"] = float(np.mean(measured[:, a] == level))
    return scores


def ring_faithfulness(points, prompt: str, std: float) -> dict[str, float]:
    """{mode_accuracy}: the share of points [N, 2] within 3σ of the mode `prompt` names."""
    mode = captions.parse_ring_prompt(prompt)
    if mode is None:
        return {}
    nearest, within = toy.mode_assignment(np.asarray(points), toy.ring_centers(), std)
    return {"mode_accuracy": float(np.mean((nearest == mode) & within))}
