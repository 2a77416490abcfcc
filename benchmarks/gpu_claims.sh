#!/usr/bin/env bash
# Train every model of the paper-claims table (issue 6) on one CUDA GPU inside a wall-clock budget:
# image tokenizers with D=4 and D=16, then five denoisers at once with one recipe and one step
# count: ResGEN on D=4, 8 (the shipped tokenizer) and 16, the autoregressive baseline and the
# per-token baseline (both on the shipped D=8 tokens). Needs only what a CUDA PyTorch machine has.
#
#   RESGEN_FASHION_DIR=.data/fashion-mnist TRAIN_S=300 benchmarks/gpu_claims.sh
#   python benchmarks/gpu_claims_receive.py <files_at> runs/claims   # back here: fp32 folders
#
# A device call carries at most 64 MiB of working tree and runs at most 600 s: move the speech
# weights and assets/image/denoiser.* out of the tree for the call (only assets/image's tokenizer
# and config are read), carry .data/fashion-mnist, and keep TRAIN_S + tokenizers + calibration
# under the limit. Tokenizers trained beforehand (on a CPU, 1,500 steps like the shipped one) are
# reused: carry runs/claims/tok4 and runs/claims/tok16 (tokenizer.json + tokenizer.safetensors). Checked here on the CPU with tiny settings (TRAIN_S=5 TOK_STEPS=3
# RECIPE="--batch-size 8 ..." EXTRA="--synthetic --threads 1"): every stage ran and the receiver
# rebuilt five loadable model folders; not yet run on a GPU.
#
# The step count S is the same for all five: 100 calibration steps of each (all at once) time a
# step of the slowest, and S fills TRAIN_S at that rate (every run then resumes to S; the warm-up
# and the data order do not depend on --steps, so each equals one plain `--steps S` run).
# Returned (at most 8 files): each model's weights in float16 (under 16 MB each) and one tar.gz of
# configs, tokenizers and logs.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/resgen-gpu-claims}
PY=${PY:-python3}
TRAIN_S=${TRAIN_S:-300}
CAL=${CAL:-100}
TOK_STEPS=${TOK_STEPS:-1500}
RUNS=${RUNS:-runs/claims}
RECIPE=${RECIPE:-"--batch-size 256 --lr 1e-3 --ema 0.9995 --cond-drop 0.1 --seed 0"}
EXTRA=${EXTRA:-}
mkdir -p "$OUT" "$RUNS"
exec > >(tee -a "$OUT/gpu_claims_log.txt") 2>&1
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"

say "1. tokenizers D=4 and D=16 ($TOK_STEPS steps each, at once; kept where $RUNS/tok<D> already has one)"
pids=""
for D in 4 16; do
    [ -f "$RUNS/tok$D/tokenizer.safetensors" ] && { echo "tok$D: reusing $RUNS/tok$D"; continue; }
    $PY -m resgen train image-tokenizer --depth $D --out "$RUNS/tok$D" --steps "$TOK_STEPS" --seed 0 $EXTRA \
        > "$RUNS/tok$D.txt" 2>&1 & pids="$pids $!"
done
[ -n "$pids" ] && wait $pids; pids=""
tail -n 1 "$RUNS/tok4/log.jsonl" "$RUNS/tok16/log.jsonl"

model() {  # name steps [--stop-at S]
    local name=$1 steps=$2; shift 2
    case $name in
        R4)  $PY -m resgen train image --tokenizer "$RUNS/tok4" --out "$RUNS/R4" --steps "$steps" $RECIPE $EXTRA "$@" ;;
        R8)  $PY -m resgen train image --tokenizer assets/image --out "$RUNS/R8" --steps "$steps" $RECIPE $EXTRA "$@" ;;
        R16) $PY -m resgen train image --tokenizer "$RUNS/tok16" --out "$RUNS/R16" --steps "$steps" $RECIPE $EXTRA "$@" ;;
        AR)  $PY -m resgen train image-ar --tokenizer assets/image --out "$RUNS/AR" --steps "$steps" $RECIPE $EXTRA "$@" ;;
        PT)  $PY -m resgen train image-per-token --tokenizer assets/image --out "$RUNS/PT" --steps "$steps" $RECIPE $EXTRA "$@" ;;
    esac
}
NAMES="R4 R8 R16 AR PT"

say "2. calibration: $CAL steps of each model, all at once"
for n in $NAMES; do model $n 1000000 --stop-at "$CAL" > "$RUNS/${n}_cal.txt" 2>&1 & pids="$pids $!"; done
wait $pids; pids=""
S=$($PY - "$RUNS" "$TRAIN_S" "$CAL" $NAMES <<'EOF'
import json, sys
runs, budget, cal, names = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
dts = []
for n in names:
    rows = {r["step"]: r["elapsed_s"] for r in map(json.loads, open(f"{runs}/{n}/log.jsonl"))}
    dts.append((rows[cal] - rows[cal // 2]) / (cal - cal // 2))
print(max(cal + 100, cal + int(budget / max(dts)) // 100 * 100))
EOF
) || { say "calibration failed"; tail -n 5 "$RUNS"/*_cal.txt; exit 1; }
say "3. training all five to $S steps (about ${TRAIN_S}s)"
export -f model; export PY RUNS RECIPE EXTRA
for n in $NAMES; do
    timeout $(( TRAIN_S * 3 / 2 + 60 )) bash -c "model $n $S" > "$RUNS/${n}_train.txt" 2>&1 & pids="$pids $!"
done
wait $pids
for n in $NAMES; do echo "$n: $(tail -n 1 "$RUNS/$n/log.jsonl")"; done

say "4. returning float16 weights + one archive"
$PY - "$RUNS" "$OUT" <<'EOF'
import sys
from pathlib import Path
from safetensors.torch import load_file, save_file
runs, out = Path(sys.argv[1]), Path(sys.argv[2])
for name, weights in (("R4", "denoiser"), ("R8", "denoiser"), ("R16", "denoiser"), ("AR", "ar"), ("PT", "per_token")):
    path = runs / name / f"{weights}.safetensors"
    if path.exists():
        sd = load_file(str(path))
        save_file({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, str(out / f"{name}.fp16.safetensors"))
EOF
tar czf "$OUT/claims.tar.gz" "$RUNS"/*/*.json "$RUNS"/*/log.jsonl "$RUNS"/tok*/tokenizer.safetensors "$RUNS"/*.txt 2>/dev/null
ls -la "$OUT"
say "done"
