"""Evaluation of generated samples against a real split, in the loop or from a command.

The metrics (Fréchet distance, KID, Inception Score, precision/recall, class accuracy) run on
the features of the extractor `config.eval.extractor` resolves to; the real split's statistics
are cached per extractor in `eval.stats_dir` (default WORKDIR/eval_stats).
"""

import copy
import functools
import os
from collections.abc import Iterable

import jax
import numpy as np
from absl import logging

from v101jax.algorithms import get_algorithm
from v101jax.data import load_dataset, real_images
from v101jax.metrics import extractors, reference, scoring
from v101jax.training import sampling
from v101jax.training.progress import log_progress


class Evaluator:
    """Scores image sets or a model's samples; builds the extractor once (fails early)."""

    def __init__(self, config, workdir: str | None = None, held_out=None):
        self.config = config
        self.held_out = held_out or sampling.HeldOut(config)
        ev = config.eval
        scoring.check_metric_names(ev.metrics)
        name = extractors.resolve_name(ev, config.data)
        self.extractor = None  # "none": only the algorithm's held-out metrics
        if name != extractors.NO_EXTRACTOR:
            self.extractor = extractors.make_extractor(
                name, inception_weights=ev.inception_weights
            )
        elif get_algorithm(config.algorithm).evaluate is None:
            raise extractors.no_features_error(
                config.data, f"evaluating algorithm {config.algorithm!r}"
            )
        else:
            logging.warning(
                "no feature extractor for data.source=%r: evaluation reports the "
                "algorithm's held-out metrics only (set eval.inception_weights for FID)",
                config.data.source,
            )
        self.stats_dir = ev.stats_dir or os.path.join(workdir or ".", "eval_stats")
        self._real = None
        self._evaluate = None

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
                # A paired source's targets, an unpaired one's two domains.
                load_images=lambda: real_images(
                    data_cfg, load_dataset(data_cfg, seed=self.config.seed)
                ),
            )
        return self._real

    def score_images(self, batches: Iterable[np.ndarray], labels=None) -> dict:
        """Metrics of images (uint8 or [-1, 1] float, NHWC) given as batches.

        `labels` (the classes conditional samples were drawn for) add class accuracy when
        the extractor is the dataset's own classifier.
        """
        ev = self.config.eval
        if self.extractor is None:
            raise extractors.no_features_error(self.config.data, "scoring samples")
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

    def score_model(self, sample, state, key, phase=None) -> dict:
        """Draws eval.num_samples samples with `sample(state, key, n, inputs=, phase=)` and
        scores them. Their inputs are the algorithm's `sampling_inputs` (conditional models
        draw classes 0…K−1 in turn and are scored for class accuracy too); an algorithm with
        an `evaluate` hook adds its held-out metrics (`held_out_metrics`)."""
        ev = self.config.eval
        results = {}
        if self.extractor is not None:
            inputs = sampling.default_inputs(self.config, ev.num_samples, self.held_out)
            labels = None if inputs is None else inputs.get("labels")
            chunks = sampling.sample_chunks(
                sample,
                state,
                ev.num_samples,
                ev.batch_size,
                key,
                inputs=inputs,
                phase=phase,
            )
            results = self.score_images(
                log_progress(
                    chunks, ev.num_samples, label="eval: sampled", unit="images"
                ),
                labels=labels,
            )
            logging.info(
                "eval (%d samples): %s",
                ev.num_samples,
                "  ".join(f"{k}={v:.4g}" for k, v in results.items()),
            )
        algorithm = get_algorithm(self.config.algorithm)
        if algorithm.evaluate is not None:
            if self._evaluate is None:  # compiled once, reused by every evaluation
                self._evaluate = jax.jit(
                    functools.partial(algorithm.evaluate, self.config)
                )
            batch = self.held_out(min(ev.num_samples, self.held_out.size()))
            results.update(
                held_out_metrics(
                    algorithm,
                    self.config,
                    state,
                    batch,
                    key,
                    ev.batch_size,
                    evaluate=self._evaluate,
                )
            )
        return results


def held_out_metrics(
    algorithm, config, state, batch: dict, rng, batch_size: int = 500, *, evaluate=None
) -> dict[str, float]:
    """The algorithm's `evaluate` hook averaged over the examples of `batch` in chunks of
    `batch_size` (weighted by chunk size): PSNR/SSIM, ELBO and the like. `evaluate` is the
    hook already jitted with `config` bound (a caller that evaluates repeatedly keeps one),
    else it is compiled here."""
    fn = evaluate or jax.jit(functools.partial(algorithm.evaluate, config))
    count = len(next(iter(batch.values())))
    totals = {}
    for i, start in enumerate(range(0, count, batch_size)):
        chunk = {k: v[start : start + batch_size] for k, v in batch.items()}
        out = fn(state, chunk, jax.random.fold_in(rng, i))
        n = len(next(iter(chunk.values())))
        for k, v in out.items():
            totals[k] = totals.get(k, 0.0) + float(v) * n
    return {k: v / count for k, v in totals.items()}
