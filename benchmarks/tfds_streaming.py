"""Training on a TFDS set larger than host memory: peak memory of a streamed run.

    python -m benchmarks.tfds_streaming [--data_dir=/tmp/tfds_large] [--size=256]
        [--steps=20] [--workdir=/tmp/tfds_large_run]

Writes Fashion-MNIST's 60 000 training images, upscaled to --size² RGB, as the TFDS set
`fashion_mnist_large` in ArrayRecord format (PNG-encoded; once, then reused), then trains the
DDIM smoke model (six levels) on it at --size for --steps steps with data.streaming (the same command a
user runs on CelebA or any other prepared TFDS set, printed below) while sampling the resident
memory of the training process and its decoding workers. At 256² the set is 47 GB as the
float32 array the in-memory pipeline would hold, twice this machine class's 24 GiB.
"""

import argparse
import os
import subprocess
import sys
import time

NAME = "fashion_mnist_large"


def write_set(data_dir: str, size: int) -> str:
    """The prepared set's folder (written unless already there)."""
    import numpy as np
    import tensorflow_datasets as tfds
    from PIL import Image

    from configs import base
    from v101jax.data import fashion_mnist

    folder = os.path.join(data_dir, NAME, "1.0.0")
    if os.path.exists(os.path.join(folder, "dataset_info.json")):
        return folder
    images, labels = fashion_mnist.load(
        base.get_base_config().data.fashion_mnist_dir, "train"
    )

    def examples():
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            im = Image.fromarray(image.reshape(28, 28)).convert("RGB")
            im = im.resize((size, size), Image.BICUBIC)
            yield i, {"image": np.asarray(im), "label": int(label)}

    tfds.dataset_builders.store_as_tfds_dataset(
        name=NAME,
        version="1.0.0",
        features=tfds.features.FeaturesDict(
            {
                "image": tfds.features.Image(shape=(size, size, 3)),
                "label": tfds.features.ClassLabel(num_classes=10),
            }
        ),
        split_datasets={"train": examples()},
        data_dir=data_dir,
        file_format="array_record",
    )
    return folder


def tree_rss_mib(pid: int) -> float:
    """Resident memory of process `pid` and all its descendants, MiB (Linux /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data_dir", default="/tmp/tfds_large")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--workdir", default="/tmp/tfds_large_run")
    args = parser.parse_args()

    start = time.perf_counter()
    folder = write_set(args.data_dir, args.size)
    stored = (
        sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
        / 2**30
    )
    print(
        f"{NAME}: {folder}, {stored:.2f} GiB on disk "
        f"({time.perf_counter() - start:.0f} s to write or find)"
    )
    in_memory = 60_000 * args.size**2 * 3 * 4 / 2**30
    print(f"as the in-memory pipeline's float32 array: {in_memory:.1f} GiB")

    command = [
        sys.executable,
        "-m",
        "experiments.main",
        "--config=configs/ddim.py:smoke",
        f"--workdir={args.workdir}",
        "--config.data.source=tfds",
        f"--config.data.tfds_name={NAME}",
        f"--config.data.tfds_data_dir={args.data_dir}",
        "--config.data.tfds_download=False",
        f"--config.data.image_size={args.size}",
        "--config.data.channels=3",
        "--config.data.pad=0",
        "--config.data.streaming=True",
        "--config.data.batch_size=8",
        # Five downsamplings (256 → 8), so that the U-Net's middle attention is 8×8.
        "--config.model.channel_mult=(1,1,1,2,2,2)",
        f"--config.train.num_steps={args.steps}",
        f"--config.train.log_every={max(1, args.steps // 4)}",
        "--config.train.num_sample_images=4",
    ]
    print("command:", " ".join(command[1:]))
    process = subprocess.Popen(command)
    peak = 0.0
    start = time.perf_counter()
    while process.poll() is None:
        peak = max(peak, tree_rss_mib(process.pid))
        time.sleep(0.5)
    wall = time.perf_counter() - start
    print(
        f"exit {process.returncode}; {wall:.0f} s; peak resident memory of the run and "
        f"its workers: {peak:.0f} MiB"
    )
    sys.exit(process.returncode)


if __name__ == "__main__":
    main()
