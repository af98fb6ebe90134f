#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# Without CUDA it runs GPUS CPU processes on the gloo backend; with GPUs
# visible but a Python without CUDA torch it stops (set PYTHON=...).
source "$(dirname "$0")/_dist.sh"
dist_run test.py "$3" "$1" "$2" "${@:4}"
