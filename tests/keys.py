"""The fast-compiling threefry for tests whose checks do not depend on which random numbers
are drawn.

XLA's CPU backend compiles jax's default partitionable threefry about ten times slower than
the original form (CycleGAN's smoke init: 73 s against 7 s; a 28×28 U-Net init: 120 s against
a few; benchmarks/RESULTS.md). A module that imports `fast_compiling_keys_fixture` runs every
test under the original form; a module-scoped fixture must enter `fast_compiling_keys()`
itself (autouse function fixtures start later).
"""

import functools

import jax
import pytest

fast_compiling_keys = functools.partial(jax.threefry_partitionable, False)


@pytest.fixture(autouse=True)
def fast_compiling_keys_fixture():
    """Every test of the importing module traces under the same threefry (a jitted function
    retraces when it changes)."""
    with fast_compiling_keys():
        yield
