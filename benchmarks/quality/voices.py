"""Are the engine corpus's speakers distinct, and do the transformed ones still speak clearly?

    python benchmarks/quality/voices.py --data runs/speech-engines --recogniser runs/recogniser-mixed [--per-voice 6]

For every voice of the training split (and the held-out one), the mean resemblyzer embedding of up to --per-voice
utterances. Rows by kind of voice (Kokoro, Kokoro blend, flite, transformed): how many; the cosine of each voice to
its nearest other voice (distinct speakers sit well below 1; for scale, two utterances of one espeak voice score
about 0.85-0.95 to each other); for transformed voices, the cosine to the voice they were made from; and the phoneme
error rate of the recogniser on the voice's utterances (a transform that garbled the words would raise it), next to
the same utterances of the source voices. Whether they sound like people is for the ear: docs/speech-engines.md
links examples.
"""
from __future__ import annotations

import argparse
import platform
from collections import defaultdict

import numpy as np
import torch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="runs/speech-engines")
    ap.add_argument("--split", default="train", choices=("train", "heldout"))
    ap.add_argument("--recogniser", default=None, help="default: assets/speech-recogniser")
    ap.add_argument("--per-voice", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    import resgen
    from resgen.eval.recogniser import load_recogniser, per
    from resgen.eval.speech_data import CorpusSplit
    from resgen.eval.speech_metrics import SpeakerEncoder
    split = CorpusSplit(args.data, args.split)
    rec = load_recogniser(args.recogniser or resgen.assets_dir() / "speech-recogniser")
    enc = SpeakerEncoder()
    ids = sorted(set(split.voice.tolist()))
    utts = {v: np.nonzero(split.voice == v)[0][: args.per_voice].tolist() for v in ids}
    emb = {}
    for v in ids:
        e = np.mean([enc(split.audio[i], split.sample_rate) for i in utts[v]], 0)
        emb[v] = e / np.linalg.norm(e)
    hyp = {v: rec.transcribe_all([split.audio[i] for i in utts[v]], split.sample_rate) for v in ids}
    ref = {v: [rec.reference(split.phonemes[i]) for i in utts[v]] for v in ids}
    key_of = {v: split.voices[v].get("key", split.voices[v]["name"]) for v in ids}
    by_key = {k: v for v, k in key_of.items()}

    def kind(v):
        meta = split.voices[v]
        return ("transformed" if meta.get("kind") == "transformed" else
                "Kokoro blend" if "+" in meta["name"] else meta.get("engine", "?"))

    rows = defaultdict(list)
    for v in ids:
        others = [float(emb[v] @ emb[u]) for u in ids if u != v]
        src = by_key.get(split.voices[v].get("source", ""))
        rows[kind(v)].append((max(others), float(emb[v] @ emb[src]) if src is not None else np.nan,
                              per(ref[v], hyp[v]), per(ref[src], hyp[src]) if src is not None else np.nan))
    print(f"# voices of {args.data} ({args.split}); {platform.processor() or platform.machine()}, torch "
          f"{torch.__version__}; {args.per_voice} utterances a voice; recogniser "
          f"{args.recogniser or 'assets/speech-recogniser'}")
    print("| voices | n | nearest other voice, cosine (mean / max) | to its source voice | PER | PER of the source |")
    print("|---|---|---|---|---|---|")
    for k, r in sorted(rows.items()):
        a = np.array(r)
        src = f"{np.nanmean(a[:, 1]):.3f}" if not np.isnan(a[:, 1]).all() else "-"
        psrc = f"{np.nanmean(a[:, 3]):.3f}" if not np.isnan(a[:, 3]).all() else "-"
        print(f"| {k} | {len(r)} | {a[:, 0].mean():.3f} / {a[:, 0].max():.3f} | {src} | {a[:, 2].mean():.3f} | {psrc} |")


if __name__ == "__main__":
    main()
