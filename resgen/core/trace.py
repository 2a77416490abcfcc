"""StepTrace: what one sampling step did, and the `.npz` trace file format.

Trace file (numpy .npz, written by `save_traces`, read by `load_traces`); T steps, B samples:
  codes       int16 (T, B, N, D)  tokens after the step (0 where still masked)
  mask        bool  (T, B, N, D)  True = still masked after the step
  revealed    bool  (T, B, N, D)  revealed at this step
  confidence  float32 (T, B, N, D) confidence (log-prob, no noise) of the token predicted for each
                                  slot that was masked before the step; NaN for slots already known
  pred_codes  int16 (T, B, N, D)  the step's full guess: known tokens + predictions for masked slots
  component   int16 (T, B, N)     mixture component drawn at each position
  masked      int32 (T,)          slots still masked after the step (per sample)
  Optional (the ResGEN sampler writes them; older files and the per-token baseline have none):
  pred_sum    float16 (T, B, N, E) the vector drawn from the mixture at each position (RVQ latent units): the
                                  predicted sum of its masked embeddings, before re-quantisation
  top_components int16 (T, B, N, K') the K' (at most TOP_COMPONENTS) heaviest mixture components after guidance,
  top_weights float16 (T, B, N, K') and their weights
  meta        str (JSON)          task, shapes, sampler settings, seed, labels, grid layout
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

TRACE_FORMAT = "resgen-trace/1"
TOP_COMPONENTS = 4


@dataclass(frozen=True)
class StepTrace:
    step: int                 # 0-based index of this step
    steps: int                # T
    codes: torch.Tensor       # (B, N, D) int64, 0 where masked
    mask: torch.Tensor        # (B, N, D) bool, after the step
    revealed: torch.Tensor    # (B, N, D) bool
    confidence: torch.Tensor  # (B, N, D) float, NaN where known before the step
    pred_codes: torch.Tensor  # (B, N, D) int64
    component: torch.Tensor   # (B, N) int64
    pred_sum: torch.Tensor | None = None        # (B, N, E) float, the drawn vector (RVQ latent units)
    top_components: torch.Tensor | None = None  # (B, N, K') int64, heaviest mixture components after guidance
    top_weights: torch.Tensor | None = None     # (B, N, K') float, their weights

    @property
    def masked(self) -> int:
        return int(self.mask[0].sum())


_FIELDS = {"codes": np.int16, "mask": np.bool_, "revealed": np.bool_, "confidence": np.float32,
           "pred_codes": np.int16, "component": np.int16}
_OPTIONAL = {"pred_sum": np.float16, "top_components": np.int16, "top_weights": np.float16}


def trace_arrays(traces: list[StepTrace]) -> dict[str, np.ndarray]:
    """StepTraces -> the arrays of a trace file (see the module docstring), without meta."""
    arrays = {k: np.stack([getattr(t, k).cpu().numpy() for t in traces]).astype(dt)
              for k, dt in _FIELDS.items()}
    for k, dt in _OPTIONAL.items():
        if all(getattr(t, k) is not None for t in traces):
            arrays[k] = np.stack([getattr(t, k).float().cpu().numpy() for t in traces]).astype(dt)
    arrays["masked"] = np.array([t.masked for t in traces], dtype=np.int32)
    return arrays


def save_trace_arrays(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write arrays from `trace_arrays` (or `load_traces`) and meta as one .npz, atomically."""
    path = Path(path)
    out = {k: np.asarray(arrays[k]).astype(dt) for k, dt in _FIELDS.items()}
    out.update({k: np.asarray(arrays[k]).astype(dt) for k, dt in _OPTIONAL.items() if k in arrays})
    out["masked"] = np.asarray(arrays["masked"], dtype=np.int32)
    out["meta"] = np.array(json.dumps({"format": TRACE_FORMAT, "steps": len(out["codes"]), **meta}))
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **out)
    tmp.replace(path)


def save_traces(path: str | Path, traces: list[StepTrace], meta: dict) -> None:
    """Write traces as one .npz (see the module docstring); `path` is written atomically."""
    save_trace_arrays(path, trace_arrays(traces), meta)


def load_traces(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a trace file -> (arrays, meta)."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files if k != "meta"}
        meta = json.loads(str(f["meta"]))
    if meta.get("format") != TRACE_FORMAT:
        raise ValueError(f"{path} is not a {TRACE_FORMAT} trace file")
    return arrays, meta
