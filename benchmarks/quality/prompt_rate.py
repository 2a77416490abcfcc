"""Can the prompt tell the model how fast to speak? A probe of the length shortfall on realistic and human prompts.

    python benchmarks/quality/prompt_rate.py --data runs/speech-engines --wavs out/wav-engines-mixtok3 [--model DIR]

For each evaluation pair (the same triples as `resgen eval speech`): the prompt's phonemes are read by the project's
recogniser (or, as an oracle, taken from the corpus), the model's duration predictor predicts their frames in the
prompt's own voice, and the ratio of the prompt's real length (edge silences trimmed as the pipeline trims them) to
that prediction (`resgen.speech.pace.phoneme_pace`, unclamped) says how much faster or slower this speaker is than
the model assumes. The generated WAVs of an earlier `resgen eval speech --save-audio` run are rescaled by that ratio
to estimate the length ratio the model would reach if it applied it (durations scale the length linearly; words and
voice are not measured here). The pipeline's own pace (`--prompt-text`) is this ratio from the true transcript,
clamped to 0.5-2.
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch


def to_model_symbols(phones: list[str], symbols: dict) -> list[str]:
    """Stress-free recogniser phonemes -> the model's symbols (the unstressed form, else the primary-stressed one)."""
    out = []
    for p in phones:
        for cand in (p, "ˈ" + p, "ˌ" + p):
            if cand in symbols:
                out.append(cand)
                break
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--wavs", required=True, help="the --save-audio folder of an eval run on the same split")
    ap.add_argument("--model", default=None, help="default: the shipped speech model")
    ap.add_argument("--split", default="heldout")
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    import soundfile as sf

    import resgen
    from resgen.eval.recogniser import load_recogniser
    from resgen.eval.speech_data import CorpusSplit
    from resgen.speech.pace import phoneme_pace
    pipe = resgen.load("speech", backend="torch", model=args.model)
    rec = load_recogniser(resgen.assets_dir() / "speech-recogniser")
    split = CorpusSplit(Path(args.data), args.split)
    triples = split.triples()[: args.n or None]
    rows = defaultdict(lambda: defaultdict(list))
    for n, (i, j, _) in enumerate(triples):
        gen, sr = sf.read(Path(args.wavs) / f"{n:03d}_voice{split.voice[i]}.wav")
        heard = to_model_symbols(rec.transcribe(split.audio[j], split.sample_rate), pipe.symbols)
        truth = [p for p in split.phonemes[j] if not p.startswith("<")]
        prompt = (split.audio[j], split.sample_rate)
        r = rows[split.voice_name(i)]
        r["gen"].append(len(gen) / sr)
        r["rec"].append(len(split.audio[i]) / split.sample_rate)
        r["heard"].append(phoneme_pace(pipe, *prompt, ["<sil>", *heard, "<sil>"]))
        r["oracle"].append(phoneme_pace(pipe, *prompt, ["<sil>", *truth, "<sil>"]))
    print(f"# {args.data} {args.split}, {len(triples)} pairs; generated WAVs {args.wavs}")
    print("| voice | pairs | length ratio as generated | prompt ratio (recognised phonemes) | length ratio x it "
          "| prompt ratio (true phonemes) | length ratio x it |")
    print("|---|---|---|---|---|---|---|")
    for v, r in list(rows.items()) + [("all", None)]:
        if r is None:
            r = {k: sum((rows[u][k] for u in rows), []) for k in ("gen", "rec", "heard", "oracle")}
        g, rec_s = np.array(r["gen"]), np.array(r["rec"])
        h, o = np.array(r["heard"]), np.array(r["oracle"])
        print(f"| {v} | {len(g)} | {g.sum() / rec_s.sum():.2f} | {np.median(h):.2f} "
              f"| {(g * h).sum() / rec_s.sum():.2f} | {np.median(o):.2f} | {(g * o).sum() / rec_s.sum():.2f} |")


if __name__ == "__main__":
    main()
