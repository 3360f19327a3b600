#!/usr/bin/env bash
# The project's one GPU check, for a machine with a CUDA device (at most about 8 minutes):
#   1. the CUDA tests (tests/system/test_gpu.py);
#   2. one table (benchmarks/gpu_check.py): the train step against the hand-written loop in fp32,
#      bf16 and fp16 with its scaler, the deep image prior and latent search per step, and the
#      loader feeding the GPU (batches read from a folder of large PNGs vs batches already there).
# Without CUDA it says so in one line and exits 0. Extra arguments go to benchmarks/gpu_check.py
# (e.g. --steps 20 --rounds 2). PYTHON names the interpreter (default: .venv/bin/python, else python3).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu check: no CUDA device here (or no torch for $PY): skipped"
  exit 0
fi
status=0
echo "== CUDA tests"
timeout 200 "$PY" -m pytest -q -p no:cacheprovider tests/system/test_gpu.py || status=1
echo "== one table"
timeout 280 "$PY" -m benchmarks.gpu_check "$@" || status=1
exit $status
