#!/usr/bin/env bash
# Train the TTS model on one CUDA GPU inside a fixed wall-clock budget. Needs only compact data:
#   .data/speech/tokens_train.npz   (resgen train speech writes it to <out>/tokens_train.npz)
#   .data/speech/tokenizer/         (tokenizer.json + tokenizer.safetensors of the speech tokenizer)
# and what a CUDA PyTorch machine has. Results (model shards, config, log) go to $OUT.
#   TRAIN_S=400 benchmarks/gpu_speech.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/resgen-gpu-speech}
PY=${PY:-python3}
TRAIN_S=${TRAIN_S:-400}
CAL=${CAL:-100}
DATA=${DATA:-.data/speech}
RUN=${RUN:-runs/gpu-speech}
ARGS=${ARGS:-"--batch-size 64 --lr 5e-4 --width 192 --layers 6 --heads 4 --ema 0.9995 --seed 0"}
mkdir -p "$OUT" "$RUN"
exec > >(tee -a "$OUT/gpu_speech_log.txt") 2>&1
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
train() { $PY -m resgen train speech --tokens "$DATA/tokens_train.npz" --tokenizer "$DATA/tokenizer" --out "$RUN" $ARGS "$@"; }

say "calibration: $CAL steps"
train --steps 1000000 --stop-at "$CAL" > "$RUN/cal.txt" 2>&1 || { tail -5 "$RUN/cal.txt"; exit 1; }
STEPS=$($PY - "$RUN/log.jsonl" "$TRAIN_S" "$CAL" <<'PYEOF'
import json, sys
rows = {r["step"]: r["elapsed_s"] for r in map(json.loads, open(sys.argv[1]))}
budget, cal = float(sys.argv[2]), int(sys.argv[3])
dt = (rows[cal] - rows[cal // 2]) / (cal - cal // 2)
print(max(cal + 100, cal + int(budget / dt) // 100 * 100))
PYEOF
) || exit 1
say "training to $STEPS steps"
timeout $(( TRAIN_S * 3 / 2 + 60 )) bash -c "$(declare -f train); PY=$PY DATA=$DATA RUN=$RUN ARGS='$ARGS' train --steps $STEPS" > "$RUN/train.txt" 2>&1
tail -n 3 "$RUN/log.jsonl"
cp "$RUN/config.json" "$OUT/speech_config.json"
# a returned file may have 16 MB at most: four shards of about equal size, merged by the receiver
$PY - "$RUN/model.safetensors" "$OUT" <<'PYEOF'
import sys
from safetensors.torch import load_file, save_file
sd = load_file(sys.argv[1]); parts = [{} for _ in range(4)]; size = [0] * 4
for k in sorted(sd, key=lambda k: -sd[k].numel()):
    i = size.index(min(size)); parts[i][k] = sd[k]; size[i] += sd[k].numel() * sd[k].element_size()
for i, part in enumerate(parts):
    save_file(part, f"{sys.argv[2]}/model.part{i}.safetensors")
print("shards (bytes):", size)
PYEOF
cp "$RUN/log.jsonl" "$OUT/speech_log.jsonl"
say "done"
