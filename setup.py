"""v101jax: classic image-generation models in JAX/Flax, trained from one config."""

from setuptools import find_packages, setup

setup(
    name="v101jax",
    version="0.1.0",
    description="Classic image-generation models in JAX/Flax: GANs, diffusion, VAEs, and more.",
    packages=find_packages(include=["v101jax", "v101jax.*"]),
    # The Fashion-MNIST classifier behind the domain feature distance (experiments.train_classifier).
    package_data={"v101jax.metrics": ["weights/*.npz"]},
    python_requires=">=3.12",
    install_requires=[
        "jax>=0.12.1,<0.13",
        "jaxlib>=0.12.1,<0.13",
        "flax>=0.12.12,<0.13",
        "optax>=0.2.8,<0.3",
        "orbax-checkpoint>=0.12.8,<0.13",
        "ml-collections>=1.1,<2",
        "clu>=0.0.12",
        # clu's metric writers import TensorFlow and TensorBoard for event files.
        "tensorflow-cpu>=2.21,<2.22",
        "tensorboard>=2.20",
        "tensorflow-datasets>=4.9.10,<5",
        # TFDS's random-access ArrayRecord format (data.streaming of TFDS sets), and what TFDS
        # needs to write such a set (importlib_resources is an undeclared TFDS import).
        "array-record>=0.8",
        "importlib_resources>=6",
        "einops>=0.8",
        # Adaptive ODE solvers for the probability-flow sampler and likelihoods.
        "diffrax>=0.7.2,<0.8",
        "numpy>=1.26",
        "pillow>=10",
        "scikit-learn>=1.4",
        "absl-py>=2",
        # The sweep command's plot of a metric against the swept value.
        "matplotlib>=3.8",
        # Its bundled photos (style transfer's offline images) and the tests' reference
        # PSNR/SSIM.
        "scikit-image>=0.24",
    ],
    extras_require={
        # pytest-xdist: the suite runs on two workers to fit CI's time budget.
        "test": [
            "pytest>=8",
            "pytest-xdist>=3.6",
            "ruff==0.17.6",
        ],
        # benchmarks/peer.py's PyTorch peers (`make peer-setup`); nothing else imports them.
        "peer": ["torch==2.13.0", "diffusers"],
    },
)
