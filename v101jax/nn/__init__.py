"""Reusable Flax Linen layers: embeddings, attention, residual blocks, the U-Net."""
