"""Compare onnxruntime with PyTorch on fresh random inputs; print the largest differences."""
from __future__ import annotations

import numpy as np
import torch

from resgen.core.backends import OrtPredict
from .onnx_denoiser import example_inputs


@torch.no_grad()
def parity(denoiser, onnx_path, shapes=((1, None), (4, None), (16, None)), seed: int = 123,
           task: str = "image") -> list[dict]:
    """-> one row per (batch, positions): max |ORT - torch| of logits and means."""
    ort = OrtPredict(onnx_path, provider="cpu")
    rows = []
    for i, (batch, positions) in enumerate(shapes):
        tokens, cond, *prev = example_inputs(denoiser.cfg, batch, positions, seed=seed + i, task=task)
        if task == "speech":
            ref = denoiser(tokens, torch.zeros(batch, dtype=torch.long), cond, prev=prev[0] if prev else None)
        else:
            ref = denoiser(tokens, cond)
        got = ort(tokens, cond, *prev)
        rows.append({"batch": batch, "positions": tokens.shape[1],
                     "logits": float((ref.logits - got.logits).abs().max()),
                     "means": float((ref.means - got.means).abs().max())})
    return rows


def print_rows(rows):
    print("| batch | positions | max abs diff logits | max abs diff means |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['positions']} | {r['logits']:.2e} | {r['means']:.2e} |")
    worst = max(max(r["logits"], r["means"]) for r in rows)
    print(f"largest difference: {worst:.2e}" + ("" if np.isfinite(worst) else " (not finite!)"))
