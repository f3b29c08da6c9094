"""Commands print a few readable lines: progress, checkpoints, grids; library logs stay out."""

import re


def test_smoke_training_prints_a_short_readable_log(trained_smoke_run):
    output = (trained_smoke_run.parent / "output.txt").read_text()
    lines = output.splitlines()
    assert len(lines) <= 30, output[-3000:]
    assert re.search(r"step 2/2  loss [\d.]+  [\d.]+ steps/s  ETA ", output), output
    assert "saved checkpoint step 2" in output
    assert "step_000002.png" in output
    assert "orbax" not in output and "checkpoint_manager.py" not in output, output
