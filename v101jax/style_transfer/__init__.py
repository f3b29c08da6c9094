"""Neural style transfer: Gatys et al.'s image optimisation (gatys.py)."""
