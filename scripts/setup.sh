#!/usr/bin/env bash
# Idempotent set-up: the Fashion-MNIST Debian package and a virtual environment in .venv
# with v101jax installed in editable mode. A second run reuses what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! dpkg -s dataset-fashion-mnist >/dev/null 2>&1 && [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing the Debian package dataset-fashion-mnist"
    (apt-get install -y -qq dataset-fashion-mnist || { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; }) >/dev/null
  else
    echo "setup: Fashion-MNIST is missing; install it with: sudo apt-get install dataset-fashion-mnist" >&2
  fi
fi

# jax 0.12 needs Python 3.12 or newer: take $PYTHON if set, else the first such interpreter
# among python3, python3.12, python3.13 and pyenv's installed versions.
is_new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }
if [ -x .venv/bin/python ] && ! is_new_enough .venv/bin/python; then
  echo "setup: .venv has Python older than 3.12; recreating it"
  rm -rf .venv .setup-stamp
fi
if [ ! -x .venv/bin/python ]; then
  py=""
  for candidate in ${PYTHON:-} python3 python3.12 python3.13 \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
    if is_new_enough "$candidate"; then py=$candidate; break; fi
  done
  if [ -z "$py" ]; then
    echo "setup: no Python 3.12 or newer found (set PYTHON=/path/to/python3.12)" >&2
    exit 1
  fi
  "$py" -m venv .venv
fi
# Reinstall only when setup.py changed since the last install.
if [ ! -f .setup-stamp ] || [ setup.py -nt .setup-stamp ]; then
  echo "setup: installing v101jax and its dependencies into .venv (log: .venv/install.log)"
  if ! { .venv/bin/python -m pip install -q --upgrade pip &&
         .venv/bin/python -m pip install -q -e ".[test]"; } >.venv/install.log 2>&1; then
    tail -n 30 .venv/install.log >&2
    echo "setup: pip install failed; see .venv/install.log" >&2
    exit 1
  fi
  .venv/bin/python -c "import v101jax, jax, flax, optax, orbax.checkpoint, clu.metric_writers"
  touch .setup-stamp
fi
