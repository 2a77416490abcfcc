#!/usr/bin/env bash
# The speed table on a CUDA machine, in well under 5 minutes, with what that machine already has
# (its python3 holds torch with CUDA, onnxruntime, safetensors, tqdm, numpy). No install step.
#   benchmarks/gpu.sh            -> prints the table; also writes $OUT/speed_gpu.txt when OUT is set
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
dest="${OUT:-/tmp}/speed_gpu.txt"
timeout 280 python3 benchmarks/speed.py --repeats 10 --device cuda | tee "$dest"
