"""Is one model's speech different from another's on the same pairs? A paired bootstrap over two evaluation JSONs.

    python benchmarks/quality/paired.py out/h-espeak-shipped.json out/h-espeak-mix.json [--row ResGEN]

Both files come from `resgen eval speech --json` on the same split and pairs (same seed). For each per-utterance
score (phoneme error, speaker similarity, identification hit) it prints the mean of A and of B and the mean paired
difference B - A with a 95% interval from 10,000 resamples of the pairs (seed 0). An interval that holds 0 is a
difference these pairs cannot tell from noise.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

SCORES = (("per_utterance", "PER"), ("similarity_utterance", "similarity"), ("hit_utterance", "identification"))


def paired(a: np.ndarray, b: np.ndarray, resamples: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """-> (mean of b - a, 2.5th and 97.5th percentile of its bootstrap distribution)."""
    d = b - a
    idx = np.random.default_rng(seed).integers(0, len(d), (resamples, len(d)))
    lo, hi = np.percentile(d[idx].mean(1), [2.5, 97.5])
    return float(d.mean()), float(lo), float(hi)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--row", default="ResGEN")
    args = ap.parse_args(argv)
    rows = [json.load(open(f))["scores"][args.row] for f in (args.a, args.b)]
    print(f"# A = {args.a}, B = {args.b}, row {args.row!r}; paired bootstrap, 10,000 resamples, seed 0")
    print("| score (per utterance) | pairs | mean A | mean B | B - A | 95% interval |")
    print("|---|---|---|---|---|---|")
    for key, name in SCORES:
        a, b = (np.asarray(r[key], float) for r in rows)
        if len(a) != len(b):
            raise SystemExit(f"the files hold {len(a)} and {len(b)} pairs: not the same evaluation")
        d, lo, hi = paired(a, b)
        print(f"| {name} | {len(a)} | {a.mean():.3f} | {b.mean():.3f} | {d:+.4f} | {lo:+.4f} .. {hi:+.4f} |")


if __name__ == "__main__":
    main()
