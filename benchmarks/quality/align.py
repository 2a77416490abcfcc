"""How close the forced aligner's phoneme boundaries (resgen/eval/align.py) come to espeak's own phoneme events, on
corpus speech whose voices the recogniser never heard (the validation or held-out split of `resgen data speech`).

    python benchmarks/quality/align.py --data runs/speech-data-270v --split heldout [--n 0]

Rows: the aligner with each boundary rule ("mid": halfway through the blank run between two phonemes' CTC spikes;
"start": at the next phoneme's spike), and an even split of espeak's own speech span into the phonemes (a baseline
given the true silences). Columns: the inner boundaries' mean and median absolute error (ms), the share within 20 and
50 ms, and the leading and trailing silence edges' mean absolute error.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

MS = 256 / 22050 * 1000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="runs/speech-data-270v")
    ap.add_argument("--split", default="heldout", choices=("heldout", "val", "train"))
    ap.add_argument("--n", type=int, default=0, help="first n utterances (0 = all)")
    ap.add_argument("--recogniser", default=None, help="default: assets/speech-recogniser")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from resgen import assets_dir
    from resgen.eval.align import RULES, Aligner, boundary_errors
    from resgen.eval.recogniser import load_recogniser
    from resgen.eval.speech_data import CorpusSplit
    c = CorpusSplit(args.data, args.split)
    rec = load_recogniser(args.recogniser or assets_dir() / "speech-recogniser")
    n = args.n or len(c.audio)
    rows, t0 = [], time.perf_counter()
    segmentations = {rule: [] for rule in RULES}
    for rule in RULES:
        aligner = Aligner(rec, rule)
        segmentations[rule] = [aligner.align(c.audio[i], c.phonemes[i])[1] for i in range(n)]
    even = []
    for i in range(n):
        ref = np.asarray(c.durations[i])
        cuts = np.round(np.linspace(ref[0], ref.sum() - ref[-1], len(ref) - 1)).astype(int)
        even.append(np.diff(np.concatenate([[0], cuts, [ref.sum()]])).tolist())
    for name, segs in [(f"aligner, rule {r}", segmentations[r]) for r in RULES] + [("even split, espeak's silences", even)]:
        e = [boundary_errors(c.durations[i], segs[i]) * MS for i in range(n)]
        inner = np.concatenate([x[1:-1] for x in e])
        lead, trail = np.array([x[0] for x in e]), np.array([x[-1] for x in e])
        rows.append((name, inner.mean(), np.median(inner), np.mean(inner <= 20), np.mean(inner <= 50), lead.mean(),
                     trail.mean()))
    print(f"# forced alignment vs espeak's phoneme events: {args.split} split of {args.data}, {n} utterances, "
          f"{sum(len(c.durations[i]) - 3 for i in range(n))} inner boundaries; {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}; {time.perf_counter() - t0:.1f} s")
    print("| segmentation | inner: mean ms | median ms | within 20 ms | within 50 ms | leading silence edge: mean ms | "
          "trailing silence edge: mean ms |\n|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.1f} | {r[6]:.1f} |")


if __name__ == "__main__":
    main()
