#!/usr/bin/env bash
# Every GPU run of the project, one job a call, with only what a CUDA PyTorch machine already has
# (python3 with torch+CUDA, numpy, safetensors, tqdm, scipy, onnxruntime): no install step.
#
#   benchmarks/gpu/run.sh speed                 # the speed table on the GPU (benchmarks/speed.py --device cuda)
#   benchmarks/gpu/run.sh image                 # image denoiser candidates A, B in TRAIN_S seconds, sweep, speed
#   benchmarks/gpu/run.sh claims                # the paper-claims models (R4 R8 R16 AR PT) and their FID sets
#   benchmarks/gpu/run.sh speech                # the TTS model in TRAIN_S seconds from compact token data
#   benchmarks/gpu/run.sh emoji                 # the colour emoji tokenizer, classifier and denoiser (TRAIN_S seconds)
#   back here: python benchmarks/gpu/receive.py image|claims|speech|emoji <files_at> <dest>
#
# Results go to $OUT (what a device call brings back: at most 8 files, 16 MiB each, 64 MiB in all; weights
# are sharded or stored in float16 to fit, and put back together by receive.py). Each training job first
# runs CAL calibration steps, times a step, then resumes to the step count that fills TRAIN_S (or STEPS):
# the warm-up and data order do not depend on --steps, so the result equals one plain `--steps S` run.
# Every variable, its default and the runs made with it: docs/gpu-runs.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
JOB=${1:-}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/resgen-gpu-$JOB}
PY=${PY:-python3}
CAL=${CAL:-100}
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
steps_for() {  # log.jsonl budget_s cal -> total steps that fill the budget at the rate of steps cal/2..cal
    $PY - "$@" <<'PYEOF'
import json, sys
rows = {r["step"]: r["elapsed_s"] for r in map(json.loads, open(sys.argv[1])) if {"step", "elapsed_s"} <= r.keys()}
budget, cal = float(sys.argv[2]), int(sys.argv[3])
logged = sorted(s for s in rows if s <= cal)       # the trainer logs every few steps, not necessarily at cal, cal/2
if len(logged) < 2:
    sys.exit(f"calibration: {len(logged)} logged step(s) up to {cal} in {sys.argv[1]}; raise CAL")
hi = logged[-1]
lo = min(logged[:-1], key=lambda s: abs(s - hi // 2))
dt = (rows[hi] - rows[lo]) / (hi - lo)
print(max(cal + 100, cal + int(budget / dt) // 100 * 100))
PYEOF
}
finished() {  # rc log config -> 0 when the training finished or was stopped at its time limit (its last checkpoint,
              # every 250 steps, is returned); else the log's tail and 1: a failed run never returns the calibration's
    local at; at=$(grep -o '"trained_steps": [0-9]*' "$3" 2>/dev/null | grep -o '[0-9]*$')
    [ "$1" = 0 ] && return 0
    [ "$1" = 124 ] && { say "training stopped at its time limit: returning its last checkpoint, step ${at:-?}" \
        "$( [ "${at:-0}" -le "$CAL" ] && echo '(ONLY THE CALIBRATION: raise TRAIN_S or DEADLINE)')"; return 0; }
    say "training failed (exit $1):"; tail -n 5 "$2"; return 1
}
shard() {  # weights.safetensors prefix n -> n shards of about equal size, <prefix>.part<i>.safetensors
    $PY - "$@" <<'PYEOF'
import sys
from safetensors.torch import load_file, save_file
sd, n = load_file(sys.argv[1]), int(sys.argv[3]); parts = [{} for _ in range(n)]; size = [0] * n
for k in sorted(sd, key=lambda k: -sd[k].numel()):
    i = size.index(min(size)); parts[i][k] = sd[k]; size[i] += sd[k].numel() * sd[k].element_size()
for i, part in enumerate(parts):
    save_file(part, f"{sys.argv[2]}.part{i}.safetensors")
PYEOF
}

job_speed() {
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    $PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('torch', torch.__version__, torch.cuda.get_device_name(0))" || exit 1
    timeout 280 $PY benchmarks/speed.py --repeats 10 --device cuda | tee "$OUT/speed_gpu.txt"
}

job_image() {  # TRAIN_S, CANDIDATES ("A B"), A_ARGS, B_ARGS, EXTRA, SWEEP, SKIP_SWEEP, SKIP_SPEED, SLACK, RUNS
    local TRAIN_S=${TRAIN_S:-270} RUNS=${RUNS:-runs/gpu} DEVICE=${DEVICE:-cuda}
    local COMMON="--tokenizer assets/image --ema 0.9995 --seed 0 --cond-drop 0.1 ${EXTRA:-}"
    local A_ARGS=${A_ARGS:-"--width 160 --layers 6 --heads 5 --batch-size 256 --lr 1e-3"}
    local B_ARGS=${B_ARGS:-"--width 192 --layers 6 --heads 6 --batch-size 256 --lr 1e-3"}
    local CANDIDATES=${CANDIDATES:-"A B"}
    local SWEEP=${SWEEP:-"--n-per-class 100 --cfg 2,3,4 --top-p 0.9,1.0 --temperature 0.5,1,2"}
    mkdir -p "$RUNS"
    save() {
        for n in $CANDIDATES; do
            [ -f "$RUNS/$n/config.json" ] && cp "$RUNS/$n/config.json" "$OUT/${n}_config.json"
            [ -f "$RUNS/$n/denoiser.safetensors" ] && shard "$RUNS/$n/denoiser.safetensors" "$OUT/${n}_denoiser" 2
        done
        tar czf "$OUT/logs.tar.gz" "$RUNS"/*/log.jsonl "$RUNS"/*.txt 2>/dev/null || true
    }
    train() { local name=$1 steps=$2; shift 2; $PY -m resgen train image --out "$RUNS/$name" --steps "$steps" $COMMON "$@"; }
    say "1. calibration: $CAL steps of each candidate ($CANDIDATES), all at once"
    local pids="" n args
    for n in $CANDIDATES; do
        args=${n}_ARGS; train $n 1000000 ${!args} --stop-at "$CAL" > "$RUNS/${n}_cal.txt" 2>&1 & pids="$pids $!"
    done
    wait $pids
    declare -A S
    for n in $CANDIDATES; do
        S[$n]=$(steps_for "$RUNS/$n/log.jsonl" "$TRAIN_S" "$CAL") || { say "calibration of $n failed"; save; exit 1; }
        say "steps: $n=${S[$n]}"
    done
    say "2. training for about ${TRAIN_S}s"
    export -f train; export PY RUNS COMMON
    pids=""
    for n in $CANDIDATES; do
        args=${n}_ARGS
        timeout $(( TRAIN_S + ${SLACK:-60} )) bash -c "train $n ${S[$n]} ${!args}" > "$RUNS/${n}_train.txt" 2>&1 &
        pids="$pids $!"
    done
    wait $pids
    save
    if [ "${SKIP_SWEEP:-0}" != 1 ]; then
        say "3. sampling sweep (classifier accuracy, FD-clf)"
        pids=""
        for n in $CANDIDATES; do
            $PY benchmarks/quality/sampling_sweep.py --model "$RUNS/$n" --device "$DEVICE" \
                --classifier assets/image/classifier.safetensors $SWEEP > "$RUNS/sweep_$n.txt" 2>&1 & pids="$pids $!"
        done
        wait $pids
        for n in $CANDIDATES; do grep -v "sampling cfg" "$RUNS/sweep_$n.txt"; done
        save
    fi
    [ "${SKIP_SPEED:-0}" != 1 ] && { say "4. speed table"; job_speed; }
}

claims_model() {  # name steps [--stop-at S]
    local name=$1 steps=$2; shift 2
    case $name in
        R4)  $PY -m resgen train image --tokenizer "$RUNS/tok4" --out "$RUNS/R4" --steps "$steps" $RECIPE $EXTRA $R_EXTRA "$@" ;;
        R8)  $PY -m resgen train image --tokenizer assets/image --out "$RUNS/R8" --steps "$steps" $RECIPE $EXTRA $R_EXTRA "$@" ;;
        R16) $PY -m resgen train image --tokenizer "$RUNS/tok16" --out "$RUNS/R16" --steps "$steps" $RECIPE $EXTRA $R_EXTRA "$@" ;;
        AR)  $PY -m resgen train image-ar --tokenizer assets/image --out "$RUNS/AR" --steps "$steps" $RECIPE $EXTRA "$@" ;;
        PT)  $PY -m resgen train image-per-token --tokenizer assets/image --out "$RUNS/PT" --steps "$steps" $RECIPE $EXTRA "$@" ;;
    esac
}

job_claims() {  # TRAIN_S, STEPS, DEADLINE, NAMES, RECIPE, EXTRA, R_EXTRA, TOK_STEPS, SKIP_TRAIN, SAMPLE_SETS, RUNS
    local TRAIN_S=${TRAIN_S:-300} DEADLINE=${DEADLINE:-0} TOK_STEPS=${TOK_STEPS:-1500} STEPS=${STEPS:-}
    local NAMES=${NAMES:-"R4 R8 R16 AR PT"} SAMPLE_SETS=${SAMPLE_SETS:-}
    RUNS=${RUNS:-runs/claims} RECIPE=${RECIPE:-"--batch-size 256 --lr 1e-3 --ema 0.9995 --cond-drop 0.1 --seed 0"}
    EXTRA=${EXTRA:-} R_EXTRA=${R_EXTRA:-}
    mkdir -p "$RUNS"
    local pids="" n D S
    if [ "${SKIP_TRAIN:-0}" != 1 ]; then
        say "1. tokenizers D=4 and D=16 ($TOK_STEPS steps each, at once; kept where $RUNS/tok<D> has one)"
        for D in 4 16; do
            [ -f "$RUNS/tok$D/tokenizer.safetensors" ] && { echo "tok$D: reusing $RUNS/tok$D"; continue; }
            $PY -m resgen train image-tokenizer --depth $D --out "$RUNS/tok$D" --steps "$TOK_STEPS" --seed 0 $EXTRA \
                > "$RUNS/tok$D.txt" 2>&1 & pids="$pids $!"
        done
        [ -n "$pids" ] && wait $pids; pids=""
        if [ -n "$STEPS" ]; then
            S=$STEPS
        else   # the slowest model's step sets S for all (the AR model, calibrated partly alone, is underestimated)
            say "2. calibration: $CAL steps of each model, all at once"
            for n in $NAMES; do claims_model $n 1000000 --stop-at "$CAL" > "$RUNS/${n}_cal.txt" 2>&1 & pids="$pids $!"; done
            wait $pids; pids=""
            S=0
            for n in $NAMES; do
                local s; s=$(steps_for "$RUNS/$n/log.jsonl" "$TRAIN_S" "$CAL") || { say "calibration failed"; exit 1; }
                { [ "$S" = 0 ] || [ "$s" -lt "$S" ]; } && S=$s
            done
        fi
        say "3. training $NAMES to $S steps"
        export -f claims_model; export PY RUNS RECIPE EXTRA R_EXTRA
        local LIMIT=$(( TRAIN_S * 3 / 2 + 60 ))
        if [ "$DEADLINE" -gt 0 ]; then
            local LEFT=$(( DEADLINE - ($(date +%s) - T0) ))
            [ "$LEFT" -lt "$LIMIT" ] && LIMIT=$LEFT
        fi
        for n in $NAMES; do
            timeout "$LIMIT" bash -c "claims_model $n $S" > "$RUNS/${n}_train.txt" 2>&1 & pids="$pids $!"
        done
        wait $pids
        for n in $NAMES; do echo "$n: $(tail -n 1 "$RUNS/$n/log.jsonl")"; done
        say "4. returning float16 weights + one archive (configs, logs, tokenizers trained here)"
        $PY - "$RUNS" "$OUT" $NAMES <<'PYEOF'
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
PYEOF
        local toks; toks=$(for D in 4 16; do [ -f "$RUNS/tok$D/log.jsonl" ] && echo "$RUNS/tok$D/tokenizer.safetensors"; done)
        tar czf "$OUT/claims.tar.gz" "$RUNS"/*/*.json "$RUNS"/*/log.jsonl $toks "$RUNS"/*.txt 2>/dev/null
    fi
    if [ -n "$SAMPLE_SETS" ]; then   # name:flags, commas for spaces, e.g. t2:--cfg,1.5,--temperature,2
        say "5. FID sample sets (tokens only): $SAMPLE_SETS"
        local rows="" spec name flags LEFT
        for D in 8 4 16; do [ -f "$RUNS/R$D/config.json" ] && rows="$rows --depth $D=$RUNS/R$D"; done
        for spec in $SAMPLE_SETS; do
            name=${spec%%:*}; flags=${spec#*:}
            LEFT=$(( ${SAMPLE_DEADLINE:-580} - ($(date +%s) - T0) ))
            [ "$LEFT" -gt 5 ] || { say "no time left for $spec"; break; }
            timeout "$LEFT" $PY benchmarks/claims/paper_claims.py --no-shipped $rows --ar "$RUNS/AR" --per-token "$RUNS/PT" \
                --n-per-class "${N_PER_CLASS:-1000}" --batch 1000 --device "${SAMPLE_DEVICE:-cuda}" \
                --save-codes "$RUNS/codes/$name" ${flags//,/ } || say "sampling $spec stopped or failed"
        done
        $PY benchmarks/gpu/pack.py "$RUNS/codes" "$OUT" --prefix codes
    fi
}

job_speech() {  # TRAIN_S, DEADLINE, DATA (tokens_train.npz [tokens_train_1.npz ...] + tokenizer/), ARGS, RUN
    local TRAIN_S=${TRAIN_S:-400} DATA=${DATA:-.data/speech} RUN=${RUN:-runs/gpu-speech} DEADLINE=${DEADLINE:-540}
    local ARGS=${ARGS:-"--batch-size 64 --lr 5e-4 --width 192 --layers 6 --heads 4 --ema 0.9995 --seed 0 \
--cond-frames 4 --conv-kernel 5 --prompt-layout adjacent --prompt-drop 0.15"}
    mkdir -p "$RUN"
    # Every corpus's tokens (tokens_train.npz, tokens_train_1.npz, ... as `resgen train speech --data A,B` writes
    # them) go where the trainer looks for them; the corpus folders themselves are not needed then.
    [ -e "$DATA/tokens_train.npz" ] || { echo "no $DATA/tokens_train.npz"; exit 1; }
    local CORPORA="" f
    for f in "$DATA"/tokens_train*.npz; do
        cp -n "$f" "$RUN/"
        CORPORA="${CORPORA:+$CORPORA,}$DATA/corpus$(basename "$f" .npz | sed 's/tokens_train//')"
    done
    train() { $PY -m resgen train speech --data "$CORPORA" --tokenizer "$DATA/tokenizer" --out "$RUN" $ARGS "$@"; }
    say "calibration: $CAL steps"
    train --steps 1000000 --stop-at "$CAL" > "$RUN/cal.txt" 2>&1 || { tail -5 "$RUN/cal.txt"; exit 1; }
    local S; S=$(steps_for "$RUN/log.jsonl" "$TRAIN_S" "$CAL") || exit 1
    say "training to $S steps"
    export -f train; export PY DATA RUN ARGS CORPORA
    # training ends by DEADLINE seconds after the job began (0 = no deadline), so that the weights are back in $OUT
    # within one device call (600 s at most); a run stopped there returns its last checkpoint (every 250 steps)
    local LIMIT=$(( TRAIN_S * 3 / 2 + 60 )) LEFT=$(( DEADLINE - ($(date +%s) - T0) ))
    [ "$DEADLINE" -gt 0 ] && [ "$LEFT" -lt "$LIMIT" ] && LIMIT=$(( LEFT > 1 ? LEFT : 1 ))
    timeout "$LIMIT" bash -c "train --steps $S" > "$RUN/train.txt" 2>&1
    finished $? "$RUN/train.txt" "$RUN/config.json" || exit 1
    tail -n 3 "$RUN/log.jsonl"
    cp "$RUN/config.json" "$OUT/speech_config.json"
    cp "$RUN/log.jsonl" "$OUT/speech_log.jsonl"
    shard "$RUN/model.safetensors" "$OUT/model" 4
}

job_emoji() {  # TRAIN_S, DATA (emoji.npz + manifest.json of `resgen data emoji`), TOK_ARGS, CLF_ARGS, ARGS, RUN
    local TRAIN_S=${TRAIN_S:-360} DATA=${DATA:-.data/emoji} RUN=${RUN:-runs/gpu-emoji}
    local TOK_ARGS=${TOK_ARGS:-"--steps 4000 --batch-size 128 --lr 1e-3 --depth 8 --codebook-size 256 --code-dim 16 --seed 0"}
    local CLF_ARGS=${CLF_ARGS:-"--steps 2000 --batch-size 128 --seed 0"}
    local ARGS=${ARGS:-"--width 256 --layers 8 --heads 8 --batch-size 256 --lr 1e-3 --ema 0.9995 --seed 0 --augment-copies 16"}
    mkdir -p "$RUN"
    say "1. the colour tokenizer and the evaluation classifier, at once"
    $PY -m resgen train image-tokenizer --data emoji --emoji-data "$DATA" --out "$RUN/tokenizer" $TOK_ARGS \
        > "$RUN/tokenizer.txt" 2>&1 & local p1=$!
    $PY -m resgen train classifier --data emoji --emoji-data "$DATA" --out "$RUN/classifier" $CLF_ARGS \
        > "$RUN/classifier.txt" 2>&1 & local p2=$!
    wait $p1 || { tail -5 "$RUN/tokenizer.txt"; exit 1; }
    wait $p2 || tail -5 "$RUN/classifier.txt"
    train() { $PY -m resgen train image --data emoji --emoji-data "$DATA" --tokenizer "$RUN/tokenizer" --out "$RUN/model" $ARGS "$@"; }
    say "2. calibration: $CAL steps of the denoiser"
    train --steps 1000000 --stop-at "$CAL" > "$RUN/cal.txt" 2>&1 || { tail -5 "$RUN/cal.txt"; exit 1; }
    local S; S=$(steps_for "$RUN/model/log.jsonl" "$TRAIN_S" "$CAL") || exit 1
    say "3. training to $S steps"
    export -f train; export PY DATA RUN ARGS
    timeout $(( TRAIN_S * 3 / 2 + 60 )) bash -c "train --steps $S" > "$RUN/train.txt" 2>&1
    finished $? "$RUN/train.txt" "$RUN/model/config.json" || exit 1
    tail -n 3 "$RUN/model/log.jsonl"
    say "4. returning 7 files (8 with this log): weights, the denoiser in 4 shards, one archive of configs and logs"
    cp "$RUN/tokenizer/tokenizer.safetensors" "$OUT/emoji_tokenizer.safetensors"
    cp "$RUN/classifier/classifier.safetensors" "$OUT/emoji_classifier.safetensors" 2>/dev/null || true
    shard "$RUN/model/denoiser.safetensors" "$OUT/emoji_denoiser" 4
    tar czf "$OUT/emoji_meta.tar.gz" -C "$RUN" model/config.json tokenizer/tokenizer.json \
        $(cd "$RUN" && ls classifier/classifier.json */log.jsonl *.txt 2>/dev/null)
}

case "$JOB" in
    speed|image|claims|speech|emoji) ;;
    *) echo "usage: $0 speed|image|claims|speech|emoji (variables: docs/gpu-runs.md)" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu_${JOB}_log.txt") 2>&1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
"job_$JOB"
ls -la "$OUT"
say "done"
