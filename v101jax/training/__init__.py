"""The generic training loop shared by every algorithm."""
