#!/usr/bin/env bash
# The paper-claims models on a 2-core CPU (issue 6), all with one recipe (1,000 steps of batch 64,
# lr 1e-3, EMA 0.999, seed 0): image tokenizers with D=4 and D=16 (the recipe of the shipped D=8
# one), ResGEN on D=4, 8 (the shipped tokenizer) and 16 and the per-token baseline on the shipped
# tokens (the shipped architecture: width 192, 6 blocks), and the autoregressive baseline on the
# shipped tokens (resgen/baselines/ar.py defaults: 6 spatial + 3 depth blocks, width 192).
#
#   benchmarks/claims/cpu.sh            # tokenizers, then the four masked models at once, one thread each
#   benchmarks/claims/cpu.sh ar         # the AR baseline alone, two threads
#   benchmarks/claims/cpu.sh eval       # the full table, all five models (about an hour on 2 threads)
#   benchmarks/claims/cpu.sh eval-ar    # ResGEN D=8 against the AR baseline only (about 25 min)
#   benchmarks/claims/cpu.sh ar-shipped # instead of `ar`: the AR baseline's CPU-recipe weights as once
#                                       # shipped (commit 06080ee, float16; needs the git history)
#
# SIGMA is the ResGEN rows' MoG component std (resgen train image --sigma): 1.0, the README's current
# CPU table (2026-12-02); SIGMA=0.25 repeats the first CPU table, whose ResGEN rows had the shipped
# model's std.
#
# Measured here (2-core AMD EPYC): tokenizers 29-33 min (both at once), masked denoisers 48-59 min
# of training each (four at once); the AR baseline alone 4.3-4.8 s a step on two threads (its depth
# transformer reads every one of the N*D = 512 tokens of an image), 80 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/claims}
STEPS=${STEPS:-1000}
SIGMA=${SIGMA:-1.0}
export OMP_NUM_THREADS=1
mkdir -p "$RUNS"

EVAL="--cfg 1.5 --top-p 1.0 --n-per-class 100 --n-ref 2000 --repeats 5 --threads 2"
case "${1:-train}" in
    eval)
        exec $PY benchmarks/claims/paper_claims.py --no-shipped --depth 8="$RUNS/R8c" --depth 4="$RUNS/R4c" \
            --depth 16="$RUNS/R16c" --per-token "$RUNS/PTc" --ar "$RUNS/ARc" $EVAL --json "$RUNS/claims_cpu.json" ;;
    eval-ar)
        exec $PY benchmarks/claims/paper_claims.py --no-shipped --depth 8="$RUNS/R8c" --ar "$RUNS/ARc" \
            --per-token "$RUNS/none" $EVAL --json "$RUNS/claims_cpu_ar.json" ;;
    ar)
        exec env OMP_NUM_THREADS=2 $PY -m resgen train image-ar --tokenizer assets/image --out "$RUNS/ARc" \
            --steps "$STEPS" --batch-size 64 --lr 1e-3 --ema 0.999 --cond-drop 0.1 --seed 0 --threads 2 ;;
    ar-shipped)
        mkdir -p "$RUNS/ARc"
        for f in ar.json ar.safetensors; do git show "06080ee:assets/image-ar/$f" > "$RUNS/ARc/$f"; done
        exit 0 ;;
    train) ;;
    *) echo "usage: $0 [train|ar|ar-shipped|eval|eval-ar]" >&2; exit 2 ;;
esac

R="--steps $STEPS --batch-size 64 --lr 1e-3 --ema 0.999 --cond-drop 0.1 --seed 0 --threads 1 --width 192 --layers 6 --heads 6"
RS="$R --sigma $SIGMA"      # the ResGEN rows (the per-token baseline has no mixture)
pids=""
for D in 4 16; do
    [ -f "$RUNS/tok$D/tokenizer.safetensors" ] && continue
    $PY -m resgen train image-tokenizer --depth $D --out "$RUNS/tok$D" --steps 1500 --seed 0 --threads 1 \
        > "$RUNS/tok$D.txt" 2>&1 & pids="$pids $!"
done
$PY -m resgen train image --tokenizer assets/image --out "$RUNS/R8c" $RS > "$RUNS/R8c.txt" 2>&1 & p8=$!
$PY -m resgen train image-per-token --tokenizer assets/image --out "$RUNS/PTc" $R > "$RUNS/PTc.txt" 2>&1 & ppt=$!
[ -n "$pids" ] && wait $pids
$PY -m resgen train image --tokenizer "$RUNS/tok4" --out "$RUNS/R4c" $RS > "$RUNS/R4c.txt" 2>&1 & p4=$!
$PY -m resgen train image --tokenizer "$RUNS/tok16" --out "$RUNS/R16c" $RS > "$RUNS/R16c.txt" 2>&1 & p16=$!
wait $p8 $ppt $p4 $p16
for n in R4c R8c R16c PTc; do echo "$n: $(tail -n 1 "$RUNS/$n/log.jsonl")"; done
