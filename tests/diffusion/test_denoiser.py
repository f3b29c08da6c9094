"""The denoiser shared by the discrete and score-SDE algorithms lives below them: both declare
its hooks, and v101jax/diffusion imports nothing from the layers above."""

import ast
import pathlib

from v101jax.algorithms import diffusion, score_sde
from v101jax.diffusion import denoiser

DIFFUSION_DIR = pathlib.Path(denoiser.__file__).parent
ABOVE = ("v101jax.algorithms", "v101jax.training", "experiments")


def test_both_diffusion_algorithms_declare_the_shared_hooks():
    for module in (diffusion, score_sde):
        assert module.ALGORITHM.num_sample_classes is denoiser.num_sample_classes
        assert module.ALGORITHM.sampling_inputs is denoiser.sampling_inputs


def test_the_diffusion_package_imports_no_layer_above_it():
    paths = sorted(DIFFUSION_DIR.glob("*.py"))
    assert len(paths) > 5
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            bad = [n for n in names if n.startswith(ABOVE)]
            assert not bad, (path.name, bad)
