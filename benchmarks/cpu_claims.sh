#!/usr/bin/env bash
# The paper-claims models that a 2-core CPU can train in about an hour and a half (issue 6):
# image tokenizers with D=4 and D=16 (the recipe of the shipped D=8 one), then four denoisers with
# one recipe (1,000 steps of batch 64, the shipped architecture: width 192, 6 blocks): ResGEN on
# D=4, 8 (the shipped tokenizer) and 16, and the per-token baseline on the shipped tokens. The
# autoregressive baseline is left out: a step of it costs about 8x a ResGEN step here (its depth
# transformer reads every one of the N*D tokens), see benchmarks/gpu_claims.sh.
#
#   benchmarks/cpu_claims.sh            # all at once, one thread each (both cores busy)
#   benchmarks/cpu_claims.sh eval       # then the table (about 45 min on 2 threads)
#
# Measured here (2-core AMD EPYC): tokenizers 29-33 min (both at once), denoisers 48-59 min of
# training each (four at once).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-runs/claims}
STEPS=${STEPS:-1000}
export OMP_NUM_THREADS=1
mkdir -p "$RUNS"

if [ "${1:-train}" = eval ]; then
    exec $PY benchmarks/paper_claims.py --no-shipped --depth 8="$RUNS/R8c" --depth 4="$RUNS/R4c" \
        --depth 16="$RUNS/R16c" --per-token "$RUNS/PTc" --ar "$RUNS/none" --cfg 1.5 --top-p 1.0 \
        --n-per-class 100 --n-ref 2000 --repeats 3 --threads 2 --json "$RUNS/claims_cpu.json"
fi

R="--steps $STEPS --batch-size 64 --lr 1e-3 --ema 0.999 --cond-drop 0.1 --seed 0 --threads 1 --width 192 --layers 6 --heads 6"
pids=""
for D in 4 16; do
    [ -f "$RUNS/tok$D/tokenizer.safetensors" ] && continue
    $PY -m resgen train image-tokenizer --depth $D --out "$RUNS/tok$D" --steps 1500 --seed 0 --threads 1 \
        > "$RUNS/tok$D.txt" 2>&1 & pids="$pids $!"
done
$PY -m resgen train image --tokenizer assets/image --out "$RUNS/R8c" $R > "$RUNS/R8c.txt" 2>&1 & p8=$!
$PY -m resgen train image-per-token --tokenizer assets/image --out "$RUNS/PTc" $R > "$RUNS/PTc.txt" 2>&1 & ppt=$!
[ -n "$pids" ] && wait $pids
$PY -m resgen train image --tokenizer "$RUNS/tok4" --out "$RUNS/R4c" $R > "$RUNS/R4c.txt" 2>&1 & p4=$!
$PY -m resgen train image --tokenizer "$RUNS/tok16" --out "$RUNS/R16c" $R > "$RUNS/R16c.txt" 2>&1 & p16=$!
wait $p8 $ppt $p4 $p16
for n in R4c R8c R16c PTc; do echo "$n: $(tail -n 1 "$RUNS/$n/log.jsonl")"; done
