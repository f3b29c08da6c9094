"""Reference statistics of a real dataset split, computed once per extractor and cached.

The cache file stores the extractor's identity (name and weights digest) and the dataset's
description beside the statistics; a file whose identity differs from the extractor in use is
recomputed, never mixed in.
"""

import hashlib
import os

import numpy as np
from absl import logging

from v101jax.data.pipeline import SIZED_SOURCES
from v101jax.metrics.extractors import FeatureExtractor, FeatureSummary, summarise


def dataset_tag(data_cfg, split: str) -> str:
    """Names the image set: source (TFDS name, folder), split, image size, and the classes of
    a class-domain source (so another pair of domains never reuses a cached summary)."""
    source = data_cfg.source
    name = data_cfg.tfds_name.replace("/", "-") if "tfds" in source else source
    size = f"_{data_cfg.image_size}px" if source in SIZED_SOURCES else ""
    if source == "fashion_domains":
        name += "_" + "_".join(str(c) for c in data_cfg.domain_classes)
    if source in ("image_folder", "paired_folder", "unpaired_folder"):
        # The folder's name and a digest of its full path: two folders never share a cache.
        folder = os.path.abspath(data_cfg.folder)
        digest = hashlib.sha1(folder.encode()).hexdigest()[:8]
        name += f"_{os.path.basename(folder.rstrip(os.sep))}_{digest}"
        if source == "paired_folder":
            name += f"_{data_cfg.direction}"
    return f"{name}{size}_{split}"


def cache_path(stats_dir: str, tag: str, extractor: FeatureExtractor) -> str:
    return os.path.join(stats_dir, f"{tag}__{extractor.name}.npz")


def load_cached(
    path: str, extractor: FeatureExtractor, tag: str
) -> FeatureSummary | None:
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            stored = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        logging.warning("ignoring unreadable reference statistics %s: %s", path, e)
        return None
    identity, stored_tag = str(stored.get("extractor")), str(stored.get("dataset"))
    if identity != extractor.identity or stored_tag != tag:
        logging.warning(
            "reference statistics %s were computed with %s on %s, not %s on %s: recomputing",
            path,
            identity,
            stored_tag,
            extractor.identity,
            tag,
        )
        return None
    return FeatureSummary(
        count=int(stored["count"]),
        mean=stored["mean"],
        covariance=stored["covariance"],
        features=stored["features"],
        logits=stored["logits"],
    )


def reference_statistics(
    extractor: FeatureExtractor,
    data_cfg,
    *,
    split: str,
    stats_dir: str,
    batch_size: int,
    max_features: int,
    load_images,
) -> FeatureSummary:
    """The cached summary of the real `split`, else computed from `load_images()` and saved.

    `load_images` is only called on a cache miss (loading a dataset can be slow).
    """
    tag = dataset_tag(data_cfg, split)
    path = cache_path(stats_dir, tag, extractor)
    summary = load_cached(path, extractor, tag)
    if summary is not None:
        logging.info("reference statistics: %s (%d images)", path, summary.count)
        return summary
    real = load_images()
    extractor.check_images(real.shape[1:], f"the {tag} images")
    logging.info("computing reference statistics of %d %s images", len(real), tag)
    # Slice by slice: a streamed split (v101jax.data.streaming) is read a batch at a time.
    summary = summarise(
        extractor,
        (real[i : i + batch_size] for i in range(0, len(real), batch_size)),
        batch_size=batch_size,
        max_features=max_features,
    )
    os.makedirs(stats_dir, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp.npz"  # per process: several may write at once
    np.savez(
        tmp,
        extractor=np.asarray(extractor.identity),
        dataset=np.asarray(tag),
        count=np.asarray(summary.count),
        mean=summary.mean,
        covariance=summary.covariance,
        features=summary.features,
        logits=summary.logits,
    )
    os.replace(tmp, path)  # atomic: a killed run never leaves a half-written cache
    logging.info("wrote %s", path)
    return summary
