#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]
# Without CUDA it runs GPUS CPU processes on the gloo backend; with GPUs
# visible but a Python without CUDA torch it stops (set PYTHON=...).
source "$(dirname "$0")/_dist.sh"
dist_run train.py "$2" "$1" "${@:3}"
