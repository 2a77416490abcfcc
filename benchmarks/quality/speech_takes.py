"""Several takes of the same text and prompt: how much do they differ in voice, and what does the speaker model
(resemblyzer, the evaluation's) prefer among them?

For each of the first --n pairs of `resgen eval speech`'s protocol (target i, prompt j, reference k), --takes takes
are generated with the model's defaults and seeds n, n + 100, n + 200, ... Each take is scored by resemblyzer against
the prompt, the reference, the voice's other utterances (their mean embedding, never i, j or k) and the other voices
of the split (the mean of their cosines to each voice's mean embedding), and by the project's phoneme recogniser
(PER and CTC loss per phoneme of the intended phonemes). Printed: the mean over takes; choosing the take nearest the
prompt by resemblyzer (what best-of-N would give if the evaluation's own speaker model chose; an upper bound for a
selector of our own, not a product lever); the oracle (the take nearest the reference); choosing by the recogniser;
and the correlations, within each pair, between the scores.

    python benchmarks/quality/speech_takes.py --data runs/speech-data-270v --split val --n 40 --takes 4 --threads 2
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

COLUMNS = ("prompt", "reference", "voice's other utterances", "other voices", "PER", "CTC per phoneme")


def score_takes(args) -> np.ndarray:
    """-> (pairs, takes, 6) scores in the order of COLUMNS."""
    import torch
    import torch.nn.functional as F

    import resgen
    from resgen.core.paths import assets_dir
    from resgen.eval.recogniser import BLANK, greedy_decode, load_recogniser, per
    from resgen.eval.speech_data import CorpusSplit
    from resgen.eval.speech_metrics import SpeakerEncoder, cosine
    from resgen.speech.audio import log_mel
    if args.threads:
        torch.set_num_threads(args.threads)
    split = CorpusSplit(Path(args.data), args.split)
    triples = split.triples()[: args.n]
    pipe = resgen.load("speech", backend="torch", model_dir=args.model)
    rec, enc = load_recogniser(assets_dir() / "speech-recogniser"), SpeakerEncoder()
    real = np.array([enc(a, split.sample_rate) for a in split.audio])
    out = np.zeros((len(triples), args.takes, len(COLUMNS)))
    for n, (i, j, k) in enumerate(triples):
        v = split.voice[i]
        own = real[[u for u in range(len(real)) if split.voice[u] == v and u not in (i, j, k)]].mean(0)
        others = [real[split.voice == w].mean(0) for w in np.unique(split.voice) if w != v]
        ref = rec.reference(split.phonemes[i])
        ids = torch.tensor(rec.to_ids(split.phonemes[i]))
        for t in range(args.takes):
            r = pipe.generate(split.texts[i], split.audio[j], split.sample_rate, accent=split.accent(i), seed=n + 100 * t)
            e = enc(r.audio, r.sample_rate)
            mel = log_mel(torch.from_numpy(r.audio))[0]                        # the pipeline's 22.05 kHz
            with torch.no_grad():
                lp, length = rec.net(mel[None], torch.tensor([mel.shape[-1]]))
            ctc = F.ctc_loss(lp.transpose(0, 1), ids[None], length, torch.tensor([len(ids)]), blank=BLANK)
            heard = [rec.symbols[s - 1] for s in greedy_decode(lp, length)[0]]    # the same network pass
            out[n, t] = [cosine(e, real[j]), cosine(e, real[k]), cosine(e, own),
                         np.mean([cosine(e, o) for o in others]),
                         per([ref], [heard]), float(ctc) / len(ids)]
        print(f"pair {n + 1}/{len(triples)}", flush=True)
    return out


def report(s: np.ndarray) -> dict:
    P, T, _ = s.shape
    rows = {"mean over takes": s.mean((0, 1))}
    for N in range(2, T + 1):
        rows[f"best of {N} by resemblyzer to the prompt"] = s[np.arange(P), s[:, :N, 0].argmax(1)].mean(0)
    rows[f"oracle of {T}: nearest the reference"] = s[np.arange(P), s[:, :, 1].argmax(1)].mean(0)
    rows[f"best of {T} by the recogniser (CTC)"] = s[np.arange(P), s[:, :, 5].argmin(1)].mean(0)
    print(f"\n{P} pairs x {T} takes; resemblyzer similarity to ... and the recogniser's scores")
    print("| takes | " + " | ".join(COLUMNS) + " |\n|---|" + "---|" * len(COLUMNS))
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(f"{x:.4f}" for x in r) + " |")
    centred = s - s.mean(1, keepdims=True)
    corr = {b: float(np.corrcoef(centred[..., 0].ravel(), centred[..., c].ravel())[0, 1])
            for c, b in enumerate(COLUMNS) if c}
    corr["reference ~ PER"] = float(np.corrcoef(centred[..., 1].ravel(), centred[..., 4].ravel())[0, 1])
    print("\nwithin-pair correlation with the similarity to the prompt: "
          + ", ".join(f"{k} {v:+.3f}" for k, v in corr.items()))
    return {"rows": {k: dict(zip(COLUMNS, map(float, v))) for k, v in rows.items()}, "correlations": corr}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="runs/speech-data-270v")
    p.add_argument("--split", default="val", choices=("val", "heldout"))
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--takes", type=int, default=4)
    p.add_argument("--model", default=None)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    if args.takes < 2:
        raise SystemExit("--takes must be at least 2")
    res = report(score_takes(args))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), **res}, indent=2))


if __name__ == "__main__":
    main()
