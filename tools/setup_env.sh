#!/usr/bin/env bash
# Creates .venv/ with the pinned CPU stack (torch 2.13 CPU, mmcv 2.1.0 with ops, mmdet 3.3,
# mmdet3d 1.4, nuscenes-devkit 1.2) and installs this project in editable mode.
#
# Idempotent: a stamp records the hash of every input file; a second run with nothing changed
# returns at once. The compiled mmcv wheel is cached outside the repo
# ($NEXUSFLOW_CACHE, default ~/.cache/nexusflow/wheels) so a fresh clone on the same machine
# skips the ~8 minute build.
#
# Users with their own (CUDA) environment do not need this script; see README.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${NEXUSFLOW_VENV:-$root/.venv}
cache=${NEXUSFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nexusflow/wheels}
python=${PYTHON:-python3.11}
torch_version=2.13.0
mmcv_version=2.1.0
stamp=$venv/.nexusflow-setup

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

inputs_hash() {
  cat tools/setup_env.sh setup.py requirements/*.txt | sha256sum | cut -d' ' -f1
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(inputs_hash)" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi

command -v "$python" >/dev/null 2>&1 || python=python3
"$python" - <<'PY' || die "Python 3.8-3.11 is needed (mmcv 2.1 / mmdet3d 1.4); set PYTHON=/path/to/python3.11"
import sys
sys.exit(0 if (3, 8) <= sys.version_info[:2] <= (3, 11) else 1)
PY

if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  "$python" -m venv "$venv"
fi
py=$venv/bin/python
pip() { "$py" -m pip --disable-pip-version-check "$@"; }

# Every pip call carries this constraint so nothing can replace the CPU torch.
constraints=$venv/nexusflow-constraints.txt
echo "torch==$torch_version" > "$constraints"

have_torch=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null || true)
if [ "${have_torch%%+*}" != "$torch_version" ]; then
  say "installing torch==$torch_version (CPU wheel)"
  pip install -q "torch==$torch_version" -c "$constraints"
fi

say "installing build requirements"
pip install -q -r requirements/build.txt -c "$constraints"

say "installing runtime requirements"
pip install -q -r requirements/runtime.txt -c "$constraints"
# --no-warn-conflicts: their metadata lists packages we leave out on purpose.
pip install -q --no-deps --no-warn-conflicts -r requirements/openmmlab.txt

have_mmcv=$("$py" -c 'import mmcv, mmcv.ops; print(mmcv.__version__)' 2>/dev/null | tail -1 || true)
if [ "$have_mmcv" != "$mmcv_version" ]; then
  wheel=$(ls "$cache"/mmcv-"$mmcv_version"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$wheel" ]; then
    mkdir -p "$cache"
    say "building mmcv==$mmcv_version with CPU ops (once per machine, ~8 min on 2 cores)"
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      pip wheel -q --no-build-isolation --no-deps -w "$cache" "mmcv==$mmcv_version" -c "$constraints"
    wheel=$(ls "$cache"/mmcv-"$mmcv_version"-*.whl | head -1)
  else
    say "using cached $wheel"
  fi
  pip install -q --no-deps --no-warn-conflicts "$wheel"
fi

pip install -q --no-warn-conflicts -r requirements/tests.txt -c "$constraints"
pip install -q --no-deps --no-warn-conflicts --no-build-isolation -e .

say "checking the stack"
"$py" - <<'PY'
import torch, mmcv, mmengine, mmdet, mmdet3d, nuscenes
from mmcv.ops import MultiScaleDeformableAttention  # noqa: F401  (compiled ops present)
import nexusflow  # noqa: F401
print(f'[setup] torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, '
      f'mmdet {mmdet.__version__}, mmdet3d {mmdet3d.__version__}, cuda={torch.cuda.is_available()}')
PY
inputs_hash > "$stamp"
say "ready: $venv"
