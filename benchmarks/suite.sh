#!/usr/bin/env bash
# The benchmark suite behind benchmarks/RESULTS.md, on whatever device JAX finds.
#   bash benchmarks/suite.sh [quick]     (PYTHON=... to choose the interpreter)
# "quick" skips the CIFAR-10-size model (use it on CPU).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
run() { echo "+ $*"; "$PY" "$@" 2>&1 | grep -v -E "^(I|W)[0-9]{4} |^WARNING: All log|^E0000"; }

run -m benchmarks.train_step --config=configs/ddim.py --repeats=20
run -m benchmarks.train_step --config=configs/ddim.py --repeats=20 --batch=128
run -m benchmarks.train_step --config=configs/ddim.py --repeats=20 --batch=128 --steps_per_call=8
run -m benchmarks.sampler --config=configs/ddim.py --num_samples=256 \
  --runs=ddim:10,ddim:50,ddim:250,ddim:1000,ddpm:1000 --python_loop
if [ "${1:-}" != quick ]; then
  run -m benchmarks.train_step --config=configs/ddpm.py:cifar10 --repeats=10
  run -m benchmarks.train_step --config=configs/ddpm.py:cifar10 --repeats=10 \
    --set model.dtype=bfloat16
  run -m benchmarks.train_step --config=configs/ddpm.py:cifar10 --repeats=10 \
    --set model.dtype=bfloat16 model.remat=True
  run -m benchmarks.sampler --config=configs/ddpm.py:cifar10 --num_samples=128 \
    --runs=ddim:50,ddpm:1000 --python_loop
fi
