"""Adversarial training pieces: losses and penalties (`losses`), collapse diagnostics."""
