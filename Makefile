# The two entry points of the README. Both set everything up first (idempotent).
PY := .venv/bin/python

.PHONY: setup demo test lint peer-setup

setup:
	@bash scripts/setup.sh

# A short DDIM run on Fashion-MNIST (about 15 minutes on 2 CPU cores); writes
# runs/ddim/samples/step_XXXXXX.png. Re-running resumes (and stops at once when done).
demo: setup
	$(PY) -m experiments.main --config=configs/ddim.py --workdir=runs/ddim

lint: setup
	$(PY) -m ruff check v101jax experiments configs tests benchmarks sweeps
	$(PY) -m ruff format --check -q v101jax experiments configs tests benchmarks sweeps

# Lint, then the test suite on two workers (pytest-xdist; a module's tests stay on one
# worker so its fixtures are built once). pytest's exit code 5 ("no tests collected") is
# reported and counts as a failure: this suite always has tests, so collecting none means it
# broke.
test: setup lint
	@$(PY) -m pytest -q -n 2 --dist loadscope --durations=30 tests; rc=$$?; \
	if [ $$rc = 5 ]; then echo "test: pytest collected no tests" >&2; fi; exit $$rc

# The PyTorch peers of benchmarks/peer.py (a benchmark-only extra, never a dependency of the
# package or its tests): a separate .venv-peer with v101jax, torch 2.13.0 and diffusers. On
# Python 3.12 PyPI's torch 2.13.0 is its CUDA build (about 7 GB installed), which runs on the CPU.
peer-setup: setup
	@if [ ! -x .venv-peer/bin/python ]; then .venv/bin/python -m venv .venv-peer; fi
	.venv-peer/bin/python -m pip install -q -e ".[peer]"
