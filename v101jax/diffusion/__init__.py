"""Diffusion: noise schedules, the forward process and its posterior, samplers."""
