"""Feature-extractor throughput: compile time and images/s of the Fashion-MNIST classifier and
InceptionV3 (28×28 grey images, resized to 299×299 for Inception), and the cost of the metrics
on the extracted features.

    python -m benchmarks.feature_extractors [--batch_size=64] [--inception_batches=3]

InceptionV3 runs with random weights (speed does not depend on their values), so this works
without the FID weights file.
"""

import argparse
import time


def _time_extractor(name, apply, images, batches):
    import jax

    t0 = time.perf_counter()
    jax.block_until_ready(apply(images))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(batches):
        jax.block_until_ready(apply(images))
    per_image = (time.perf_counter() - t0) / (batches * len(images))
    print(
        f"{name:28s} batch {len(images):4d}  first call (compile) {compile_s:6.1f} s  "
        f"{1 / per_image:8.1f} images/s"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--classifier_batches", type=int, default=50)
    parser.add_argument("--inception_batches", type=int, default=3)
    parser.add_argument("--num_features", type=int, default=5000)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    import numpy as np

    from benchmarks.common import device_name
    from v101jax.metrics import distances, extractors, inception, scores

    print(f"device: {device_name()}")
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (args.batch_size, 28, 28, 1)).astype(np.float32)
    classifier = extractors.make_extractor("fashion_mnist_classifier")
    _time_extractor(
        "fashion_mnist_classifier", classifier.apply, images, args.classifier_batches
    )

    model = inception.InceptionV3()
    variables = jax.jit(model.init)(
        jax.random.PRNGKey(0), jnp.zeros((1, 299, 299, 3), jnp.float32)
    )
    apply = jax.jit(lambda x: model.apply(variables, inception.preprocess(x)))
    _time_extractor("inception (random weights)", apply, images, args.inception_batches)

    for dim in (128, 2048):
        real = rng.normal(size=(args.num_features, dim))
        fake = rng.normal(size=(args.num_features, dim)) + 0.1
        cov_r, cov_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
        timings = {}
        t0 = time.perf_counter()
        distances.frechet_distance(real.mean(0), cov_r, fake.mean(0), cov_f)
        timings["fd"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        distances.kernel_distance(real, fake, num_subsets=100, subset_size=1000)
        timings["kid(100×1000)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        distances.precision_recall(real, fake, k=3)
        timings["precision_recall"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores.inception_score(rng.normal(size=(args.num_features, 1008)), 10)
        timings["is"] = time.perf_counter() - t0
        print(
            f"metrics on {args.num_features} × {dim} features: "
            + "  ".join(f"{k} {v:.2f} s" for k, v in timings.items())
        )


if __name__ == "__main__":
    main()
