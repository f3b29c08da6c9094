"""Algorithm-agnostic machinery: train state, optimisers, EMA, parallelism, checkpoints."""
