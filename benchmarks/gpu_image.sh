#!/usr/bin/env bash
# Train image denoiser candidates on one CUDA GPU inside a fixed wall-clock budget, sweep their
# sampling settings, then run the speed table (benchmarks/gpu.sh). Uses only what such a machine
# already has (python3 with torch+CUDA, numpy, safetensors, tqdm, scipy, onnxruntime).
#
#   RESGEN_FASHION_DIR=.data/fashion-mnist TRAIN_S=270 benchmarks/gpu_image.sh
#   python benchmarks/gpu_image_receive.py <files_at> runs/gpu     # back here: model folders A, B
#
# Two candidates train at once (CANDIDATES="A B"; CANDIDATES=A trains A alone, on the whole GPU),
# each with its own arguments (A_ARGS, B_ARGS); the defaults are those of the shipped model's first
# stage (A: width 160, B: width 192, 6 layers, from scratch; see assets/PROVENANCE.md). To
# train the shipped model further instead, give a candidate `--init assets/image` (and a lower
# --lr), e.g. A_ARGS="--init assets/image --batch-size 256 --lr 5e-4"; its denoiser.safetensors
# must then travel with the call. Each is first run for CAL steps, all at once, to measure its
# step time; it is then resumed with --steps chosen to fill TRAIN_S. The learning rate of the
# first 200 steps (warm-up) does not depend on --steps and the data order depends only on (seed,
# epoch), so the result equals one uninterrupted `resgen train image ... --steps S` run.
# Results (model files in shards under 16 MB, logs, tables) go to $OUT (default /tmp/resgen-gpu).
# Training is killed after TRAIN_S + SLACK seconds (default 60): a candidate slower than its
# calibration then stops before its planned steps, and its last checkpoint (every 250 steps) is
# what returns (`--stop-at` that step reproduces it). One device call runs at most 600 s:
# TRAIN_S=420 SKIP_SPEED=1 leaves room for the rest. SKIP_SWEEP=1 skips the FD-clf sweep (FD-clf
# has twice ranked settings unlike Inception FID, which then runs on a CPU afterwards).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/resgen-gpu}
PY=${PY:-python3}
TRAIN_S=${TRAIN_S:-270}
CAL=${CAL:-100}
RUNS=${RUNS:-runs/gpu}
DEVICE=${DEVICE:-cuda}
COMMON="--tokenizer assets/image --ema 0.9995 --seed 0 --cond-drop 0.1 ${EXTRA:-}"
A_ARGS=${A_ARGS:-"--width 160 --layers 6 --heads 5 --batch-size 256 --lr 1e-3"}
B_ARGS=${B_ARGS:-"--width 192 --layers 6 --heads 6 --batch-size 256 --lr 1e-3"}
CANDIDATES=${CANDIDATES:-"A B"}      # "A" alone gives one candidate the whole GPU
SWEEP=${SWEEP:-"--n-per-class 100 --cfg 2,3,4 --top-p 0.9,1.0 --temperature 0.5,1,2"}
mkdir -p "$OUT" "$RUNS"
exec > >(tee -a "$OUT/gpu_log.txt") 2>&1
T0=$(date +%s)
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__,
  torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA')"
nproc

train() {  # name steps args...
    local name=$1 steps=$2; shift 2
    $PY -m resgen train image --out "$RUNS/$name" --steps "$steps" $COMMON "$@"
}
steps_for() {  # name -> total steps that fill TRAIN_S at the measured rate
    $PY - "$RUNS/$1/log.jsonl" "$TRAIN_S" "$CAL" <<'EOF'
import json, sys
rows = {r["step"]: r["elapsed_s"] for r in map(json.loads, open(sys.argv[1]))}
budget, cal = float(sys.argv[2]), int(sys.argv[3])
lo, hi = cal // 2, cal
dt = (rows[hi] - rows[lo]) / (hi - lo)
print(max(cal + 100, cal + int(budget / dt) // 100 * 100))
EOF
}
save() {  # copy what exists so far into $OUT
    for n in A B; do
        [ -f "$RUNS/$n/config.json" ] && cp "$RUNS/$n/config.json" "$OUT/${n}_config.json"
    done
    # a returned file may have at most 16 MB: two shards each, merged by gpu_image_receive.py
    for n in A B; do
        [ -f "$RUNS/$n/denoiser.safetensors" ] && $PY - "$RUNS/$n/denoiser.safetensors" "$OUT/${n}_denoiser" <<'EOF'
import sys
from safetensors.torch import load_file, save_file
sd = load_file(sys.argv[1]); keys = sorted(sd); h = len(keys) // 2
save_file({k: sd[k] for k in keys[:h]}, f"{sys.argv[2]}.part1.safetensors")
save_file({k: sd[k] for k in keys[h:]}, f"{sys.argv[2]}.part2.safetensors")
EOF
    done
    tar czf "$OUT/logs.tar.gz" "$RUNS"/*/log.jsonl "$RUNS"/*.txt 2>/dev/null || true
}

say "1. calibration: $CAL steps of each candidate ($CANDIDATES), all at once"
pids=""
for n in $CANDIDATES; do
    args=${n}_ARGS
    train $n 1000000 ${!args} --stop-at "$CAL" > "$RUNS/${n}_cal.txt" 2>&1 & pids="$pids $!"
done
wait $pids       # (a bare `wait` would also wait for the tee above)
declare -A STEPS
for n in $CANDIDATES; do
    tail -n 3 "$RUNS/${n}_cal.txt"
    STEPS[$n]=$(steps_for $n) || { say "calibration of $n failed"; save; exit 1; }
    say "steps: $n=${STEPS[$n]}"
done

say "2. training for about ${TRAIN_S}s"
export -f train; export PY RUNS COMMON
pids=""
for n in $CANDIDATES; do
    args=${n}_ARGS
    timeout $(( TRAIN_S + ${SLACK:-60} )) bash -c "train $n ${STEPS[$n]} ${!args}" > "$RUNS/${n}_train.txt" 2>&1 &
    pids="$pids $!"
done
wait $pids
for n in $CANDIDATES; do tail -n 2 "$RUNS/$n/log.jsonl"; done
save
say "trained; files saved"

if [ "${SKIP_SWEEP:-0}" != 1 ]; then
    say "3. sampling sweep (classifier accuracy, FD-clf) on each candidate"
    pids=""
    for n in $CANDIDATES; do
        $PY benchmarks/image_sampling_sweep.py --model "$RUNS/$n" --device "$DEVICE" \
            --classifier assets/image/classifier.safetensors $SWEEP > "$RUNS/sweep_$n.txt" 2>&1 & pids="$pids $!"
    done
    wait $pids
    for n in $CANDIDATES; do grep -v "sampling cfg" "$RUNS/sweep_$n.txt"; done
    save
fi

if [ "${SKIP_SPEED:-0}" != 1 ]; then
    say "4. speed table"
    OUT="$OUT" bash benchmarks/gpu.sh
fi
save
say "done"
