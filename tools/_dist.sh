# Shared by dist_train.sh and dist_test.sh: runs TOOL under torchrun through
# nexusflow.utils.dist_run (GPU guard, one error line). Usage:
#   source _dist.sh; dist_run TOOL GPUS ARGS...
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT; PYTHON picks the Python.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-$( [ -x "$here/../.venv/bin/python" ] && echo "$here/../.venv/bin/python" || echo python)}

dist_run() {
    local tool=$1 gpus=$2
    shift 2
    PYTHONPATH="$here/..:${PYTHONPATH:-}" \
    "$PYTHON" -m nexusflow.utils.dist_run \
        --nnodes="${NNODES:-1}" \
        --node_rank="${NODE_RANK:-0}" \
        --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$gpus" \
        --master_port="${PORT:-29500}" \
        "$here/$tool" "$@" --launcher pytorch
}
