#!/usr/bin/env bash
# Train the models of the paper-claims table (issue 6) on one CUDA GPU inside a wall-clock budget,
# and sample their FID sets there: image tokenizers with D=4 and D=16, then up to five denoisers at
# once with one recipe and one step count: ResGEN on D=4, 8 (the shipped tokenizer) and 16, the
# autoregressive baseline and the per-token baseline (both on the shipped D=8 tokens). Needs only
# what a CUDA PyTorch machine has.
#
#   call 1: RESGEN_FASHION_DIR=.data/fashion-mnist STEPS=4800 DEADLINE=470 benchmarks/gpu_claims.sh
#   call 2, on the same warm machine: SKIP_TRAIN=1 SAMPLE_SETS="t2:--steps,16,--temperature,2,--cfg,1.5" \
#           benchmarks/gpu_claims.sh
#   here:   python benchmarks/gpu_claims_receive.py <files_at of call 1> runs/claims   # fp32 model folders
#           python benchmarks/gpu_claims_receive.py <files_at of call 2> runs/claims   # + runs/claims/codes/<set>/
#           python benchmarks/paper_claims.py ... --codes runs/claims/codes/t2 (README, "The paper's claims")
#
# Limits of a device call: it carries at most 64 MiB of working tree and runs at most 600 s; at most
# 8 files come back, 16 MiB each, 64 MiB in all. So: move the speech weights, assets/image-*/ and
# assets/image/denoiser.onnx out of the tree for the call, carry .data/fashion-mnist and the
# tokenizers (runs/claims/tok4 and tok16: tokenizer.safetensors + tokenizer.json or config.json,
# e.g. copied from assets/image-d4 and -d16; trained here when missing, 1,500 steps like the
# shipped one). Five models' float16 weights fill 47 MB of the 64, so the FID sets (10k samples a
# set, uint8 tokens, 2-10 MB compressed) come back from a second call (SKIP_TRAIN=1) on the same
# machine, packed into tar files of at most 15 MiB.
#
# Step count: STEPS fixes it (the same for every model). Without STEPS, CAL calibration steps of
# each model (all at once) time a step of the slowest and S fills TRAIN_S at that rate; this
# underestimates the AR model, whose calibration ends after the others' and so runs partly alone:
# on an H200 (2026-11-28) it calibrated at 0.076 s a step but took 0.20 s with all five running,
# while ResGEN D=8 took 0.074 s, the per-token model 0.12 s. Every run resumes its calibration
# checkpoint; the warm-up and data order do not depend on --steps, so each equals one plain
# `--steps S` run. DEADLINE (seconds after the start) stops every training run; a run stopped there
# keeps its last checkpoint (every 250 steps) and its folder says how many steps it had.
# NAMES picks the models (default all five), e.g. NAMES=AR STEPS=4800 to train the AR baseline alone;
# R_EXTRA adds flags to the ResGEN rows only (NAMES="R8 AR" R_EXTRA="--sigma 1.0": the wider MoG
# components that won at the CPU budget, README "Trained on the CPU", against the AR baseline).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/resgen-gpu-claims}
PY=${PY:-python3}
TRAIN_S=${TRAIN_S:-300}
DEADLINE=${DEADLINE:-0}   # seconds after the start by which every training run is stopped (0: none)
CAL=${CAL:-100}
TOK_STEPS=${TOK_STEPS:-1500}
RUNS=${RUNS:-runs/claims}
RECIPE=${RECIPE:-"--batch-size 256 --lr 1e-3 --ema 0.9995 --cond-drop 0.1 --seed 0"}
EXTRA=${EXTRA:-}
R_EXTRA=${R_EXTRA:-}      # more flags for the ResGEN rows only, e.g. R_EXTRA="--sigma 1.0"
NAMES=${NAMES:-"R4 R8 R16 AR PT"}
STEPS=${STEPS:-}
SKIP_TRAIN=${SKIP_TRAIN:-0}
SAMPLE_SETS=${SAMPLE_SETS:-}
mkdir -p "$OUT" "$RUNS"
exec > >(tee -a "$OUT/gpu_claims_log.txt") 2>&1
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"

model() {  # name steps [--stop-at S]
    local name=$1 steps=$2; shift 2
    case $name in
        R4)  $PY -m resgen train image --tokenizer "$RUNS/tok4" --out "$RUNS/R4" --steps "$steps" $RECIPE $EXTRA $R_EXTRA "$@" ;;
        R8)  $PY -m resgen train image --tokenizer assets/image --out "$RUNS/R8" --steps "$steps" $RECIPE $EXTRA $R_EXTRA "$@" ;;
        R16) $PY -m resgen train image --tokenizer "$RUNS/tok16" --out "$RUNS/R16" --steps "$steps" $RECIPE $EXTRA $R_EXTRA "$@" ;;
        AR)  $PY -m resgen train image-ar --tokenizer assets/image --out "$RUNS/AR" --steps "$steps" $RECIPE $EXTRA "$@" ;;
        PT)  $PY -m resgen train image-per-token --tokenizer assets/image --out "$RUNS/PT" --steps "$steps" $RECIPE $EXTRA "$@" ;;
    esac
}

if [ "$SKIP_TRAIN" != 1 ]; then
say "1. tokenizers D=4 and D=16 ($TOK_STEPS steps each, at once; kept where $RUNS/tok<D> already has one)"
pids=""
for D in 4 16; do
    [ -f "$RUNS/tok$D/tokenizer.safetensors" ] && { echo "tok$D: reusing $RUNS/tok$D"; continue; }
    $PY -m resgen train image-tokenizer --depth $D --out "$RUNS/tok$D" --steps "$TOK_STEPS" --seed 0 $EXTRA \
        > "$RUNS/tok$D.txt" 2>&1 & pids="$pids $!"
done
[ -n "$pids" ] && wait $pids; pids=""

if [ -n "$STEPS" ]; then
    S=$STEPS
else
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
fi
say "3. training $NAMES to $S steps"
export -f model; export PY RUNS RECIPE EXTRA R_EXTRA
LIMIT=$(( TRAIN_S * 3 / 2 + 60 ))
if [ "$DEADLINE" -gt 0 ]; then
    LEFT=$(( DEADLINE - ($(date +%s) - T0) ))
    [ "$LEFT" -lt "$LIMIT" ] && LIMIT=$LEFT
fi
for n in $NAMES; do
    timeout "$LIMIT" bash -c "model $n $S" > "$RUNS/${n}_train.txt" 2>&1 & pids="$pids $!"
done
wait $pids
for n in $NAMES; do echo "$n: $(tail -n 1 "$RUNS/$n/log.jsonl")"; done

say "4. returning float16 weights + one archive (configs, logs, tokenizers trained here)"
$PY - "$RUNS" "$OUT" $NAMES <<'EOF'
import sys
from pathlib import Path
from safetensors.torch import load_file, save_file
runs, out, names = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
for name in names:
    weights = {"AR": "ar", "PT": "per_token"}.get(name, "denoiser")
    path = runs / name / f"{weights}.safetensors"
    if path.exists():
        sd = load_file(str(path))
        save_file({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, str(out / f"{name}.fp16.safetensors"))
EOF
toks=$(for D in 4 16; do [ -f "$RUNS/tok$D/log.jsonl" ] && echo "$RUNS/tok$D/tokenizer.safetensors"; done)
tar czf "$OUT/claims.tar.gz" "$RUNS"/*/*.json "$RUNS"/*/log.jsonl $toks "$RUNS"/*.txt 2>/dev/null
fi

if [ -n "$SAMPLE_SETS" ]; then
    # 5. FID sample sets (tokens only, N_PER_CLASS x 10 a set) of the models in $RUNS, with and
    # without CFG, sampled here where it is cheap; benchmarks/paper_claims.py --codes <dir> decodes
    # and scores them on the CPU. Stopped SAMPLE_DEADLINE seconds after the start; finished sets are kept.
    say "5. FID sample sets: $SAMPLE_SETS"
    rows=""
    for D in 8 4 16; do [ -f "$RUNS/R$D/config.json" ] && rows="$rows --depth $D=$RUNS/R$D"; done
    LEFT=$(( ${SAMPLE_DEADLINE:-580} - ($(date +%s) - T0) ))
    for spec in $SAMPLE_SETS; do   # name:flags, commas for spaces, e.g. t2:--cfg,1.5,--temperature,2
        name=${spec%%:*}; flags=${spec#*:}
        LEFT=$(( ${SAMPLE_DEADLINE:-580} - ($(date +%s) - T0) ))
        [ "$LEFT" -gt 5 ] || { say "no time left for $spec"; break; }
        timeout "$LEFT" $PY benchmarks/paper_claims.py --no-shipped $rows --ar "$RUNS/AR" --per-token "$RUNS/PT" \
            --n-per-class "${N_PER_CLASS:-1000}" --batch 1000 --device "${SAMPLE_DEVICE:-cuda}" \
            --save-codes "$RUNS/codes/$name" ${flags//,/ } || say "sampling $spec stopped or failed"
    done
    $PY benchmarks/gpu_return.py "$RUNS/codes" "$OUT" --prefix codes
fi
ls -la "$OUT"
say "done"
