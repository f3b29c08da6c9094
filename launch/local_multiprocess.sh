#!/usr/bin/env bash
# N processes of one run on this machine (CPU collectives over gloo), as a multi-host job
# would start them. Each process reads only its own slice of every global batch.
#   bash launch/local_multiprocess.sh N CONFIG WORKDIR [--config.x=y ...]
set -euo pipefail
cd "$(dirname "$0")/.."
n=$1; config=$2; workdir=$3; shift 3
port=${PORT:-$((20000 + RANDOM % 20000))}
pids=()
for ((i = 0; i < n; i++)); do
  .venv/bin/python -m experiments.main --config="$config" --workdir="$workdir" \
    --config.distributed.num_processes="$n" --config.distributed.process_id="$i" \
    --config.distributed.coordinator_address="127.0.0.1:$port" "$@" \
    > "$workdir.process_$i.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
echo "logs: $workdir.process_*.log (exit $status)"
exit $status
