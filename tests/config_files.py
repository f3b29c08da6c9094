"""The config files the tests iterate over."""

import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Command configs (experiments.stylize's) configure a command, not a training run.
COMMAND_CONFIGS = ("configs/gatys.py",)
# Runnable training configs: every configs/*.py with a get_config but the command configs
# (shared-defaults modules, base.py and gan_base.py, are not runnable experiments).
TRAINING_CONFIGS = sorted(
    os.path.relpath(p, ROOT)
    for p in glob.glob(os.path.join(ROOT, "configs", "*.py"))
    if os.path.basename(p) != "__init__.py"
    and not p.endswith("base.py")
    and os.path.relpath(p, ROOT) not in COMMAND_CONFIGS
)
