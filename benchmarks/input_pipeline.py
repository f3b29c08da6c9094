"""Host input throughput: the in-memory pipeline against data.streaming, on an image folder.

    python -m benchmarks.input_pipeline [--num_images=4096] [--stored=32,64] [--workers=0,1,2,4]

Writes Fashion-MNIST's test images as RGB JPEG files (on a 32×32 canvas, then at each
--stored size) into a temporary folder once, then times `BatchIterator` (batch 128, images
read at 32×32×3 as the CIFAR-10 U-Net takes them) over --steps batches: the in-memory source
(after its load, timed apart) and the streamed one with each worker count. Images/s is what
the training loop could be fed; compare it with the step rate of the model to be fed
(benchmarks/RESULTS.md: the CIFAR-10 U-Net trains at 3 069 images/s on one H100 in float32,
5 043 in bfloat16).
"""

import argparse
import os
import tempfile
import time


def write_folder(root: str, count: int, stored: int) -> str:
    import numpy as np
    from PIL import Image

    from configs import base
    from v101jax.data import fashion_mnist

    folder = os.path.join(root, f"fmnist_{stored}", "train")
    if os.path.isdir(folder) and len(os.listdir(folder)) >= count:
        return os.path.dirname(folder)
    os.makedirs(folder, exist_ok=True)
    images, _ = fashion_mnist.load(
        base.get_base_config().data.fashion_mnist_dir, "test"
    )
    for i in range(count):
        canvas = np.pad(images[i % len(images)].reshape(28, 28), 2)  # 28 → 32
        im = Image.fromarray(canvas).convert("RGB")
        if stored != 32:
            im = im.resize((stored, stored), Image.BICUBIC)
        im.save(os.path.join(folder, f"{i:06d}.jpg"), quality=95)
    return os.path.dirname(folder)


def time_batches(dataset, steps: int, batch: int) -> float:
    """Images/s of `steps` batches drawn from a BatchIterator (after a first batch)."""
    from v101jax.data import BatchIterator

    it = BatchIterator(dataset, global_batch_size=batch, seed=0, prefetch=2)
    try:
        next(it)
        start = time.perf_counter()
        for _ in range(steps):
            next(it)
        return steps * batch / (time.perf_counter() - start)
    finally:
        it.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_images", type=int, default=4096)
    parser.add_argument("--stored", default="32,64", help="sizes of the files")
    parser.add_argument("--workers", default="0,1,2,4")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument(
        "--root", default=os.path.join(tempfile.gettempdir(), "v101jax_input")
    )
    args = parser.parse_args()

    from configs import base
    from v101jax.data import load_dataset

    print(f"cpus={os.cpu_count()} images={args.num_images} batch={args.batch}")
    for stored in (int(s) for s in args.stored.split(",")):
        folder = write_folder(args.root, args.num_images, stored)
        cfg = base.get_base_config().data
        cfg.source, cfg.folder = "image_folder", folder
        cfg.image_size, cfg.channels = 32, 3
        start = time.perf_counter()
        whole = load_dataset(cfg)
        load = time.perf_counter() - start
        rate = time_batches(whole, args.steps, args.batch)
        print(
            f"stored {stored}px  in-memory: load {load:.1f} s "
            f"({args.num_images / load:.0f} images/s), then {rate:.0f} images/s"
        )
        cfg.streaming = True
        for workers in (int(w) for w in args.workers.split(",")):
            cfg.stream_workers = workers
            rate = time_batches(load_dataset(cfg), args.steps, args.batch)
            print(
                f"stored {stored}px  streaming, {workers} worker processes: {rate:.0f}"
                " images/s"
            )


if __name__ == "__main__":
    main()
