"""All requested metrics of one generated set against the real reference set."""

from v101jax.core.errors import ConfigError
from v101jax.metrics import distances, scores
from v101jax.metrics.extractors import FeatureSummary

METRICS = ("fd", "kid", "is", "pr")


def check_metric_names(names) -> None:
    unknown = sorted(set(names) - set(METRICS))
    if unknown:
        raise ConfigError(
            f"eval.metrics has unknown {', '.join(unknown)}; choose from: {', '.join(METRICS)}"
        )


def score(
    real: FeatureSummary,
    fake: FeatureSummary,
    eval_cfg,
    *,
    prefix: str,
    labels=None,
) -> dict[str, float]:
    """{metric: value}; names carry the extractor's prefix ("fmnist_fd"; "fid" for Inception).

    `labels`: the classes conditional samples were asked for; adds class accuracy.
    """
    names = tuple(eval_cfg.metrics)
    check_metric_names(names)
    out = {}
    if "fd" in names:
        key = "fid" if prefix == "" else f"{prefix}fd"
        out[key] = distances.frechet_distance(
            real.mean, real.covariance, fake.mean, fake.covariance
        )
    if "kid" in names:
        out[f"{prefix}kid"], out[f"{prefix}kid_std"] = distances.kernel_distance(
            real.features,
            fake.features,
            num_subsets=eval_cfg.kid_subsets,
            subset_size=eval_cfg.kid_subset_size,
        )
    if "is" in names:
        splits = min(eval_cfg.is_splits, fake.count)
        out[f"{prefix}is"], out[f"{prefix}is_std"] = scores.inception_score(
            fake.logits, splits
        )
    if "pr" in names:
        out[f"{prefix}precision"], out[f"{prefix}recall"] = distances.precision_recall(
            real.features, fake.features, k=eval_cfg.pr_k
        )
    if labels is not None:
        accuracy = scores.class_accuracy(fake.logits, labels, fake.logits.shape[1])
        out.update({f"{prefix}{k}": v for k, v in accuracy.items()})
    return out
