"""Is one model's speech different from another's on the same pairs? A paired bootstrap over two evaluation JSONs.

    python benchmarks/quality/paired.py out/h-espeak-shipped.json out/h-espeak-mix.json [--row ResGEN]
    python benchmarks/quality/paired.py A_seed0.json,A_seed100.json B_seed0.json,B_seed100.json
    python benchmarks/quality/paired.py A.json B.json --skip 40     # only the pairs after the first 40

Both files come from `resgen eval speech --json` on the same split and pairs (same seed; the tool refuses sides whose
seeds or splits differ). For each per-utterance
score (phoneme error, speaker similarity, identification hit) it prints the mean of A and of B and the mean paired
difference B - A with a 95% interval from 10,000 resamples of the pairs (seed 0). An interval that holds 0 is a
difference these pairs cannot tell from noise.

A side may be a comma list of runs of the same pairs with different `--seed`s: each pair's score is then its mean
over those runs. `--skip N` leaves out the first N pairs: a model chosen on the 40-pair validation runs (`--n 40`) is
compared without that choice's luck on the split's other pairs (the first N of a full run are the same pairs with the
same seeds as an `--n N` run). The sampling seed alone moves the 40-pair espeak validation similarity of one model
by 0.0075 (docs/speech-intelligibility.md), as much as most levers, so a choice between settings wants two seeds or
more.
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


def load_runs(spec: str) -> list[tuple[str, dict]]:
    """"a.json" or "a.json,b.json,..." -> (file, evaluation JSON) each, or SystemExit naming a file that cannot be
    read."""
    runs = []
    for f in (f for f in spec.split(",") if f):
        try:
            with open(f) as fh:
                runs.append((f, json.load(fh)))
        except (OSError, ValueError) as e:
            raise SystemExit(f"{f}: not a readable evaluation JSON ({e})") from None
    if not runs:
        raise SystemExit("a side needs at least one evaluation JSON")
    return runs


def seeds_of(runs: list[tuple[str, dict]]) -> list:
    return [r.get("settings", {}).get("seed") for _, r in runs]


def side_scores(spec: str, row: str, runs: list[tuple[str, dict]] | None = None) -> dict[str, np.ndarray]:
    """"a.json" or "a.json,b.json,..." (runs of the same pairs, other seeds; `runs` when already loaded) ->
    per-utterance score -> (pairs,), the mean over the runs."""
    runs = runs or load_runs(spec)
    seeds = seeds_of(runs)
    if len(set(seeds)) < len(seeds):
        raise SystemExit(f"{spec}: runs with the same seed ({seeds}); a side's runs must differ in --seed")
    for f, r in runs:
        if row not in r.get("scores", {}):
            raise SystemExit(f"{f} has no row {row!r} (it has {', '.join(r.get('scores', {})) or 'none'})")
    out = {}
    for key, _ in SCORES:
        per_run = [np.asarray(r["scores"][row][key], float) for _, r in runs]
        if len({len(x) for x in per_run}) > 1:
            raise SystemExit(f"{spec}: the runs hold different numbers of pairs")
        out[key] = np.mean(per_run, 0)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--row", default="ResGEN")
    ap.add_argument("--skip", type=int, default=0, help="leave out the first N pairs")
    args = ap.parse_args(argv)
    if args.skip < 0:
        raise SystemExit("--skip takes a number of pairs, 0 or more")
    runs_a, runs_b = load_runs(args.a), load_runs(args.b)
    seeds_a, seeds_b = seeds_of(runs_a), seeds_of(runs_b)
    if sorted(map(str, seeds_a)) != sorted(map(str, seeds_b)):
        raise SystemExit(f"A's runs have seeds {seeds_a}, B's {seeds_b}: a paired comparison needs the same seeds on "
                         "both sides (the seed alone moves similarity by as much as most levers)")
    split_a, split_b = ({str(r.get("split")) for _, r in runs} for runs in (runs_a, runs_b))
    if split_a != split_b:
        raise SystemExit(f"A evaluated the split {sorted(split_a)}, B {sorted(split_b)}")
    sides = [{k: v[args.skip:] for k, v in side_scores(spec, args.row, runs).items()}
             for spec, runs in ((args.a, runs_a), (args.b, runs_b))]
    if not len(sides[0]["per_utterance"]):
        raise SystemExit(f"no pairs left after --skip {args.skip}")
    print(f"# A = {args.a}, B = {args.b}, row {args.row!r}{f', pairs after the first {args.skip}' if args.skip else ''}; "
          "paired bootstrap, 10,000 resamples, seed 0")
    print("| score (per utterance) | pairs | mean A | mean B | B - A | 95% interval |")
    print("|---|---|---|---|---|---|")
    for key, name in SCORES:
        a, b = (side[key] for side in sides)
        if len(a) != len(b):
            raise SystemExit(f"the files hold {len(a)} and {len(b)} pairs: not the same evaluation")
        d, lo, hi = paired(a, b)
        print(f"| {name} | {len(a)} | {a.mean():.3f} | {b.mean():.3f} | {d:+.4f} | {lo:+.4f} .. {hi:+.4f} |")


if __name__ == "__main__":
    main()
