"""Scores computed from a classifier's predictions on samples: Inception Score and the
class accuracy of conditional samples."""

import numpy as np


def _softmax(logits) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def inception_score(logits, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) ‖ p(y))) over `splits` consecutive chunks: (mean, std).

    Salimans et al. (2016); p(y) is the chunk's mean prediction, as in the original code.
    With confident, uniformly spread predictions it equals the number of classes; with
    identical predictions it is 1.
    """
    probs = _softmax(logits)
    n = probs.shape[0]
    if n < splits:
        raise ValueError(f"inception_score needs ≥ splits={splits} samples, got {n}")
    scores = []
    for chunk in np.array_split(probs, splits):
        marginal = chunk.mean(axis=0, keepdims=True)
        # 0·log 0 = 0: clip only inside the log.
        kl = np.sum(
            chunk * (np.log(np.clip(chunk, 1e-30, None)) - np.log(marginal)), axis=1
        )
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def class_accuracy(logits, labels, num_classes: int) -> dict:
    """Accuracy of a classifier's predictions against the labels the samples were asked for.

    Returns {"class_accuracy": mean over samples, "class_accuracy/<k>": per class k} (classes
    without samples are left out).
    """
    pred = np.argmax(np.asarray(logits), axis=1)
    labels = np.asarray(labels)
    result = {"class_accuracy": float(np.mean(pred == labels))}
    for k in range(num_classes):
        mask = labels == k
        if mask.any():
            result[f"class_accuracy/{k}"] = float(np.mean(pred[mask] == k))
    return result
