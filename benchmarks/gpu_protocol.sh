#!/usr/bin/env bash
# The GPU side of benchmarks/RESULTS.md's comparison with PyTorch: benchmarks.peer on the demo
# U-Net and the DDPM CIFAR-10 U-Net (35.7M parameters), train step at batch 128 and 50-step
# DDIM of 128 samples, in float32 and bfloat16 compute, with model FLOPs utilisation. Give it
# 12 minutes on one H200: there the first three runs took about 9 (start-up, compiles,
# cuDNN's autotuning and PyTorch's Python-loop DDIM); name runs to split it.
#   bash benchmarks/gpu_protocol.sh [LOGDIR [RUN ...]]   (PYTHON=... chooses the interpreter)
# RUN names (cifar10_f32 cifar10_bf16 demo_f32 demo_bf16) pick some of the runs; each run's
# output also goes to LOGDIR/peer_<RUN>.log (default benchmarks/logs).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv-peer/bin/python}
LOGDIR=${1:-benchmarks/logs}
shift $(($# > 0 ? 1 : 0))
ONLY=" $* "
mkdir -p "$LOGDIR"
# JAX takes 75% of the GPU's memory by default; leave PyTorch room in the same process.
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.45}
export PYTHONUNBUFFERED=1

run() {
  local name=$1
  shift
  if [ "$ONLY" != "  " ] && [[ "$ONLY" != *" $name "* ]]; then return; fi
  echo "+ benchmarks.peer $*"
  # A stuck run costs its own slot, not the rest of the protocol.
  timeout "${RUN_TIMEOUT:-240}" "$PY" -m benchmarks.peer "$@" 2>&1 |
    grep -v -E "^(I|W)[0-9]{4} |^WARNING: All log|^E0000" | tee "$LOGDIR/peer_$name.log"
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
"$PY" -c "import jax, flax, torch, diffusers; print('jax', jax.__version__, 'flax', \
flax.__version__, 'torch', torch.__version__, 'diffusers', diffusers.__version__)"
# Which float32 arithmetic each side's convolutions use: relative error against float64
# (about 1e-7 for float32, 1e-4 to 1e-3 for TF32).
"$PY" - <<'PYEOF' 2>&1 | grep -v -E "^(I|W)[0-9]{4} |^WARNING: All log|^E0000"
import jax, numpy as np, torch
x = np.random.default_rng(0).standard_normal((8, 64, 32, 32)).astype(np.float32)
w = np.random.default_rng(1).standard_normal((64, 64, 3, 3)).astype(np.float32)
ref = torch.nn.functional.conv2d(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
                                 padding=1).numpy()
def err(out):
    return float(np.linalg.norm(np.asarray(out, np.float64) - ref) / np.linalg.norm(ref))
out = jax.lax.conv_general_dilated(x, w, (1, 1), "SAME")
print(f"float32 3x3 convolution vs float64: jax (default precision) {err(out):.1e}", end="")
torch.backends.cudnn.allow_tf32 = True
out = torch.nn.functional.conv2d(torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda(), padding=1)
print(f", torch (cudnn.allow_tf32) {err(out.cpu().numpy()):.1e}")
PYEOF
# Most informative first, so that a run cut short still has the CIFAR-10 rows.
run cifar10_f32 --config=configs/ddpm.py:cifar10 --batches=128 --samples=128 --repeats=5
run cifar10_bf16 --config=configs/ddpm.py:cifar10 --set model.dtype=bfloat16 \
  --batches=128 --samples=128 --repeats=5
run demo_f32 --config=configs/ddim.py --batches=128 --samples=128 --repeats=10
run demo_bf16 --config=configs/ddim.py --set model.dtype=bfloat16 --batches=128 \
  --samples=128 --repeats=10
