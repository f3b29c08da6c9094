"""Feature extractors for sample-quality metrics, and streaming feature summaries.

Two extractors, each with an identity string (its name and the digest of its weights) that is
stored beside any statistics computed with it:
  inception                 InceptionV3 pool3 features with the standard FID weights (which the
                            user converts once): FID/KID/IS comparable with published numbers.
  fashion_mnist_classifier  this project's shipped Fashion-MNIST CNN: domain-only numbers that
                            compare runs of this project, available on any machine.
"none" (what "auto" resolves to on other data without InceptionV3 weights) scores no
features: only an algorithm's own held-out metrics (PSNR, cycle L1, …) remain.
"""

import dataclasses
from collections.abc import Callable, Iterable

import jax
import numpy as np

from v101jax.core.errors import ConfigError
from v101jax.metrics import fashion_classifier, inception, weights_io
from v101jax.metrics.statistics import RunningMoments

EXTRACTORS = ("inception", "fashion_mnist_classifier")
NO_EXTRACTOR = "none"


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
    name: str
    identity: str  # name@weights-digest: cached statistics are only reused under this
    metric_prefix: (
        str  # "" for InceptionV3 (FID, KID, IS); "fmnist_" for the domain CNN
    )
    # Required image shape (None = any: resized). Larger images whose height and width
    # exceed it by an even margin are centre-cropped to it: padded data (data.pad) is
    # scored on the region the extractor was trained on.
    input_shape: tuple[int, ...] | None
    apply: Callable  # jitted: images [N, H, W, C] in [-1, 1] → {"features", "logits"}

    def check_images(self, shape: tuple[int, ...], where: str) -> None:
        if self.input_shape is not None and not _crops_to(
            tuple(shape), self.input_shape
        ):
            raise ConfigError(
                f"the {self.name} extractor scores {self.input_shape} images (or larger ones "
                f"padded evenly); {where} are {tuple(shape)}. Set eval.inception_weights to "
                "score other images."
            )


def _crops_to(shape, target) -> bool:
    margins = [s - t for s, t in zip(shape[:2], target[:2])]
    return (
        len(shape) == len(target)
        and shape[2:] == target[2:]
        and all(m >= 0 and m % 2 == 0 for m in margins)
    )


def center_crop(images, size: tuple[int, int]):
    """images [N, H, W, C] → their central size[0] × size[1] region."""
    top, left = (images.shape[1] - size[0]) // 2, (images.shape[2] - size[1]) // 2
    return images[:, top : top + size[0], left : left + size[1]]


def is_fashion_mnist(data_cfg) -> bool:
    """Whether the config's real images are Fashion-MNIST's (also the targets of the paired
    `fashion_edges` source and the two class domains of `fashion_domains`)."""
    return data_cfg.source in ("fashion_mnist", "fashion_edges", "fashion_domains") or (
        data_cfg.source == "tfds" and data_cfg.tfds_name == "fashion_mnist"
    )


def resolve_name(eval_cfg, data_cfg) -> str:
    """The extractor `eval.extractor` names; "auto" picks InceptionV3 when its weights are
    given, else the Fashion-MNIST classifier on Fashion-MNIST, else "none"."""
    name = eval_cfg.extractor
    if name == "auto":
        if eval_cfg.inception_weights:
            return "inception"
        if is_fashion_mnist(data_cfg):
            return "fashion_mnist_classifier"
        return NO_EXTRACTOR
    if name not in EXTRACTORS + (NO_EXTRACTOR,):
        raise ConfigError(
            f"eval.extractor={name!r} is not one of: auto, {', '.join(EXTRACTORS)}, "
            f"{NO_EXTRACTOR}"
        )
    return name


def no_features_error(data_cfg, what: str) -> ConfigError:
    """The error for scoring `what` when no feature extractor applies to the data."""
    return ConfigError(
        f"{what} needs a feature extractor, and data.source={data_cfg.source!r} has none "
        "without InceptionV3 weights: set eval.inception_weights (README, Evaluation), or "
        "eval.every_steps=0 to train without evaluation"
    )


def make_extractor(name: str, *, inception_weights: str = "") -> FeatureExtractor:
    if name == "inception":
        variables = inception.load_variables(inception_weights)
        model = inception.InceptionV3()

        def apply_inception(images):
            return model.apply(variables, inception.preprocess(images))

        return FeatureExtractor(
            name=name,
            identity=f"{name}@{weights_io.file_digest(inception_weights)}",
            metric_prefix="",
            input_shape=None,
            apply=jax.jit(apply_inception),
        )
    if name == "fashion_mnist_classifier":
        params, _ = fashion_classifier.load_params()
        model = fashion_classifier.FashionMNISTClassifier()
        return FeatureExtractor(
            name=name,
            identity=f"{name}@{weights_io.file_digest(fashion_classifier.WEIGHTS_PATH)}",
            metric_prefix="fmnist_",
            input_shape=(28, 28, 1),
            apply=jax.jit(
                lambda images: model.apply(
                    {"params": params}, center_crop(images, (28, 28))
                )
            ),
        )
    raise ConfigError(f"eval.extractor={name!r} is not one of: {', '.join(EXTRACTORS)}")


@dataclasses.dataclass
class FeatureSummary:
    """What the metrics need of one image set: feature mean and covariance over all images,
    the first `max_features` feature vectors (KID, precision/recall) and all logits (IS)."""

    count: int
    mean: np.ndarray
    covariance: np.ndarray
    features: np.ndarray
    logits: np.ndarray


def summarise(
    extractor: FeatureExtractor,
    batches: Iterable[np.ndarray],
    *,
    batch_size: int,
    max_features: int,
) -> FeatureSummary:
    """Runs `extractor` over image batches ([-1, 1] float or uint8) with O(batch) memory.

    Every call of the compiled extractor sees `batch_size` images (a short last batch is
    padded and the padding dropped), so it compiles once.
    """
    moments, kept, logits = None, [], []
    num_kept = 0
    for images in batches:
        images = np.asarray(images)
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 127.5 - 1.0
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size].astype(np.float32)
            n = len(chunk)
            if n < batch_size:
                pad = np.zeros((batch_size - n, *chunk.shape[1:]), np.float32)
                chunk = np.concatenate([chunk, pad])
            out = jax.device_get(extractor.apply(chunk))
            feats = np.asarray(out["features"][:n], np.float64)
            if moments is None:
                moments = RunningMoments(feats.shape[1])
            moments.update(feats)
            if num_kept < max_features:
                kept.append(feats[: max_features - num_kept])
                num_kept += len(kept[-1])
            logits.append(np.asarray(out["logits"][:n], np.float32))
    if moments is None or moments.count < 2:
        raise ValueError("feature statistics need at least 2 images")
    return FeatureSummary(
        count=moments.count,
        mean=moments.mean,
        covariance=moments.covariance,
        features=np.concatenate(kept),
        logits=np.concatenate(logits),
    )
