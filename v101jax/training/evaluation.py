"""Evaluation of generated samples against a real split, in the loop or from a command.

The metrics (Fréchet distance, KID, Inception Score, precision/recall, class accuracy) run on
the features of the extractor `config.eval.extractor` resolves to; the real split's statistics
are cached per extractor in `eval.stats_dir` (default WORKDIR/eval_stats).
"""

import copy
import os
from collections.abc import Iterable

import numpy as np
from absl import logging

from v101jax.data import load_dataset, sample_shape
from v101jax.metrics import extractors, reference, scoring
from v101jax.training import sampling
from v101jax.training.progress import log_progress


class Evaluator:
    """Scores image sets or a model's samples; builds the extractor once (fails early)."""

    def __init__(self, config, workdir: str | None = None):
        self.config = config
        ev = config.eval
        scoring.check_metric_names(ev.metrics)
        name = extractors.resolve_name(ev, config.data)
        self.extractor = extractors.make_extractor(
            name, inception_weights=ev.inception_weights
        )
        self.stats_dir = ev.stats_dir or os.path.join(workdir or ".", "eval_stats")
        self._real = None

    def reference(self) -> extractors.FeatureSummary:
        """The real split's feature summary (computed at the first call, then cached)."""
        if self._real is None:
            ev = self.config.eval
            data_cfg = copy.deepcopy(self.config.data)
            with data_cfg.unlocked():
                data_cfg.split = ev.reference_split
            self._real = reference.reference_statistics(
                self.extractor,
                data_cfg,
                split=ev.reference_split,
                stats_dir=self.stats_dir,
                batch_size=ev.batch_size,
                max_features=ev.max_features,
                load_images=lambda: load_dataset(data_cfg, seed=self.config.seed)["x"],
            )
        return self._real

    def score_images(self, batches: Iterable[np.ndarray], labels=None) -> dict:
        """Metrics of images (uint8 or [-1, 1] float, NHWC) given as batches.

        `labels` (the classes conditional samples were drawn for) add class accuracy when
        the extractor is the dataset's own classifier.
        """
        ev = self.config.eval
        real = self.reference()

        def checked(batches):
            for b in batches:
                self.extractor.check_images(np.shape(b)[1:], "the samples")
                yield b

        fake = extractors.summarise(
            self.extractor,
            checked(batches),
            batch_size=ev.batch_size,
            max_features=ev.max_features,
        )
        if self.extractor.metric_prefix == "":
            labels = None  # InceptionV3's ImageNet classes are not the dataset's labels
        return scoring.score(
            real, fake, ev, prefix=self.extractor.metric_prefix, labels=labels
        )

    def score_model(self, sample, state, key) -> dict:
        """Draws eval.num_samples samples with `sample(state, key, n[, labels])` and scores
        them; conditional models draw classes 0…K−1 in turn and are scored for class
        accuracy too."""
        ev = self.config.eval
        self.extractor.check_images(
            sample_shape(self.config.data), "this run's samples"
        )
        labels = sampling.class_labels(self.config, ev.num_samples)
        chunks = sampling.sample_chunks(
            sample, state, ev.num_samples, ev.batch_size, key, labels=labels
        )
        results = self.score_images(
            log_progress(chunks, ev.num_samples, label="eval: sampled", unit="images"),
            labels=labels,
        )
        logging.info(
            "eval (%d samples): %s",
            ev.num_samples,
            "  ".join(f"{k}={v:.4g}" for k, v in results.items()),
        )
        return results
