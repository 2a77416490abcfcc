"""How much does a speech split's mean depend on which voices it holds? A bootstrap over voices of one evaluation JSON.

    python benchmarks/quality/voice_draws.py out/s21-test-base.json --data runs/speech-data-test --split test \
        [--row ResGEN --row "resynthesis d=8"] [--voices 10] [--bar 0.83]

The JSON comes from `resgen eval speech --json` on that corpus and split (the pairs are rebuilt from the corpus, as the
evaluation builds them; the tool refuses a JSON whose pair or voice count differs). For each row it prints the mean
similarity and PER, then, from 20,000 resamples (seed 0): the 95% interval of the mean when the split's voices are
drawn again with replacement (what this population of voices says), and the interval of the mean of a split of
`--voices` of them drawn without replacement (what a smaller split, like the 10-voice held-out one, would say), with
the share of such draws whose similarity reaches `--bar`. (Row names may hold commas, "ResGEN, mean of 5 seeds", so
each row is its own `--row`.)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from resgen.eval.speech_data import SPLITS, CorpusSplit  # noqa: E402


def draws(per_voice: list[np.ndarray], k: int, replace: bool, resamples: int = 20_000, seed: int = 0) -> np.ndarray:
    """Means over the pairs of k voices drawn from per_voice (each an array of that voice's pair scores)."""
    rng = np.random.default_rng(seed)
    sums = np.array([v.sum() for v in per_voice])
    counts = np.array([len(v) for v in per_voice])
    picks = (rng.integers(0, len(per_voice), (resamples, k)) if replace
             else np.argsort(rng.random((resamples, len(per_voice))), axis=1)[:, :k])
    return sums[picks].sum(1) / counts[picks].sum(1)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--data", required=True, help="the corpus folder the evaluation read")
    ap.add_argument("--split", default="heldout", choices=SPLITS)
    ap.add_argument("--row", action="append", help="a row of the JSON (repeat for more; default ResGEN)")
    ap.add_argument("--voices", type=int, default=10, help="voices in the smaller split")
    ap.add_argument("--bar", type=float, default=0.83, help="the similarity a draw is counted against")
    args = ap.parse_args(argv)
    res = json.loads(Path(args.json).read_text())
    split = CorpusSplit(Path(args.data), args.split)
    triples = split.triples()[: res["pairs"]]
    if len(triples) != res["pairs"]:
        raise SystemExit(f"{args.json} holds {res['pairs']} pairs, the {args.split} split of {args.data} "
                         f"{len(triples)}: not this corpus")
    voice = np.array([int(split.voice[i]) for i, _, _ in triples])
    voices = sorted(set(voice.tolist()))
    if res.get("voices", len(voices)) != len(voices):
        raise SystemExit(f"{args.json} holds pairs of {res['voices']} voices, these {len(voices)}: not this corpus")
    if not 1 <= args.voices <= len(voices):
        raise SystemExit(f"--voices must be between 1 and the split's {len(voices)}")
    print(f"# {args.json}: {len(triples)} pairs of {len(voices)} voices; 20,000 draws (seed 0)")
    print(f"| row | PER | similarity | 95%: {len(voices)} voices drawn again | 95%: {args.voices} of them | "
          f"share of {args.voices}-voice draws >= {args.bar:g} |")
    print("|---|---|---|---|---|---|")
    for row in args.row or ["ResGEN"]:
        if row not in res["scores"]:
            raise SystemExit(f"no row {row!r} in {args.json} (rows: {', '.join(res['scores'])})")
        sim = np.asarray(res["scores"][row]["similarity_utterance"], dtype=float)
        per_voice = [sim[voice == v] for v in voices]
        every, some = draws(per_voice, len(voices), True), draws(per_voice, args.voices, False)
        lo, hi = np.percentile(every, [2.5, 97.5])
        slo, shi = np.percentile(some, [2.5, 97.5])
        print(f"| {row} | {res['scores'][row]['per']:.3f} | {sim.mean():.4f} | {lo:.4f} .. {hi:.4f} | "
              f"{slo:.4f} .. {shi:.4f} | {np.mean(some >= args.bar):.2f} |")


if __name__ == "__main__":
    main()
