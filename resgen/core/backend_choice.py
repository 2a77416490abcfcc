"""Which CPU backend `auto` runs: measured once per machine and model, then cached.

Neither backend wins everywhere: for a batch-1 denoiser call onnxruntime was slower than torch on an Intel Xeon
(4.1 ms against 3.9 ms) and faster on an AMD EPYC. So `auto` on a CPU times the model's own denoiser call at its
sampling shape (`pipe.probe_inputs()`) on both, interleaved, and keeps the faster. The choice is stored in
$RESGEN_CACHE/backend_choice.json (default ~/.cache/resgen), keyed by the CPU, core and thread counts, the torch and
onnxruntime versions and the weights' hash, so a new machine, library or model measures again.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

REPEATS = 7


def cache_file() -> Path:
    from resgen.core.paths import cache_dir
    return cache_dir() / "backend_choice.json"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(weights_sha256: str) -> str:
    import onnxruntime
    return (f"{cpu_name()} | {os.cpu_count()} cores | {torch.get_num_threads()} threads | torch {torch.__version__} | "
            f"onnxruntime {onnxruntime.__version__} | weights {weights_sha256[:16]}")


def clock(fn, inputs) -> float:
    t0 = time.perf_counter()
    fn(*inputs)
    return time.perf_counter() - t0


@torch.no_grad()
def measure(torch_fn, ort_fn, inputs, repeats: int = REPEATS) -> dict[str, float]:
    """Median seconds per call of each, after one warm-up call each, rounds interleaved."""
    torch_fn(*inputs), ort_fn(*inputs)
    t, o = [], []
    for _ in range(repeats):
        t.append(clock(torch_fn, inputs))
        o.append(clock(ort_fn, inputs))
    return {"torch": statistics.median(t), "onnx": statistics.median(o)}


def choose(pipe, ort_fn) -> tuple[str, dict]:
    """-> ("torch" or "onnx", the record) for a pipeline's denoiser at its sampling shape."""
    return choose_fastest(pipe.weights_sha256(pipe.denoiser_weights), pipe.torch_predict, ort_fn, pipe.probe_inputs())


def choose_fastest(weights_sha256: str, torch_fn, ort_fn, inputs, repeats: int = REPEATS) -> tuple[str, dict]:
    """-> ("torch" or "onnx", the record: seconds per call of each, when measured). Cached per machine_key, so
    any model with a torch and an onnxruntime form (a denoiser, the vocoder) is measured once per machine."""
    key = machine_key(weights_sha256)
    path = cache_file()
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        cache = {}
    if key in cache and cache[key].get("choice") in ("torch", "onnx"):
        return cache[key]["choice"], cache[key]
    secs = measure(torch_fn, ort_fn, inputs, repeats)
    record = {"choice": min(secs, key=secs.get), "seconds_per_call": secs, "measured": time.strftime("%Y-%m-%d %H:%M")}
    cache[key] = record
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass                                    # a read-only home: measure again next time
    return record["choice"], record
