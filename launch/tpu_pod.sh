#!/usr/bin/env bash
# One run on a Cloud TPU pod slice: create the TPU VMs, copy this checkout to every worker,
# install, run the same command on all workers, and delete the slice when asked.
# jax.distributed finds the workers through the TPU metadata (distributed.num_processes left
# at 0). The workdir should be a bucket or shared disk every worker reaches (gs://… works
# with orbax).
#   bash launch/tpu_pod.sh create
#   bash launch/tpu_pod.sh copy
#   bash launch/tpu_pod.sh run configs/ddpm.py:cifar10 gs://BUCKET/runs/cifar [--config.x=y ...]
#   bash launch/tpu_pod.sh stop     # SIGTERM on every worker (launch/README.md: preemption)
#   bash launch/tpu_pod.sh delete
# Edit these, or set them in the environment:
set -euo pipefail
TPU_NAME=${TPU_NAME:-v101jax}
ZONE=${ZONE:-us-central2-b}
ACCELERATOR=${ACCELERATOR:-v4-32}
VERSION=${VERSION:-tpu-ubuntu2204-base}
cd "$(dirname "$0")/.."

on_all() { gcloud compute tpus tpu-vm ssh "$TPU_NAME" --zone="$ZONE" --worker=all --command="$1"; }

case "${1:-}" in
  create)
    gcloud compute tpus tpu-vm create "$TPU_NAME" --zone="$ZONE" \
      --accelerator-type="$ACCELERATOR" --version="$VERSION" ;;
  copy)
    tar czf /tmp/v101jax.tgz --exclude=.venv --exclude=.git --exclude=runs .
    gcloud compute tpus tpu-vm scp /tmp/v101jax.tgz "$TPU_NAME":~/ --zone="$ZONE" --worker=all
    on_all "mkdir -p v101jax && tar xzf v101jax.tgz -C v101jax && cd v101jax &&
      bash scripts/setup.sh && .venv/bin/pip install -q 'jax[tpu]'" ;;
  run)
    shift
    config=${1:?usage: tpu_pod.sh run CONFIG WORKDIR [--config.x=y ...]}; workdir=${2:?}; shift 2
    extra=$(printf ' %q' "$@")
    on_all "cd v101jax && nohup .venv/bin/python -m experiments.main --config=$config \
      --workdir=$workdir$extra > run.log 2>&1 &" ;;
  stop)
    on_all "pkill -TERM -f experiments.main || true" ;;
  delete)
    gcloud compute tpus tpu-vm delete "$TPU_NAME" --zone="$ZONE" --quiet ;;
  *)
    sed -n '2,16p' "$0"; exit 2 ;;
esac
