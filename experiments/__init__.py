"""Command-line entry points: train (main), sample/export."""
