"""Where does resynthesis lose the voice: in the residual quantiser, or in the encoder and decoder around it?

    python benchmarks/quality/tokenizer_ceiling.py --data runs/speech-engines --split val \
        --tokenizers assets/speech,runs/tok-adv [--n 40] [--threads 1]

For the first n (target, prompt, reference) triples of a split (the pairs of `resgen eval speech`), each target
recording is sent through HiFi-GAN alone, and through each tokenizer: the continuous latent decoded without
quantising it, and the codes at depths 4 and 8. It prints the speaker similarity (resemblyzer) of each to the
voice's reference utterance, as `resgen eval speech` scores it, and the log-mel L1 of each reconstruction. If the
continuous latent scores like depth 8, the codes lose nothing the encoder kept: the encoder and decoder set the
ceiling. A tokenizer is a model folder (config.json) or a training run (tokenizer.json).
"""
from __future__ import annotations

import argparse
import platform
from pathlib import Path

import numpy as np
import torch


@torch.no_grad()
def variants(tok, mel: torch.Tensor) -> dict[str, torch.Tensor]:
    """mel (1, 80, F), F a multiple of the downsampling -> reconstructions (80, F) by name."""
    z = tok.encode_latent(mel)
    codes = tok.rvq.encode(z)
    return {"continuous latent": tok.decode_latent(z)[0], "codes d=4": tok.decode(codes, 4)[0],
            "codes d=8": tok.decode(codes)[0]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--tokenizers", default="assets/speech", help="comma list of tokenizer folders")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--vocoder", default="assets/speech/vocoder.safetensors")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from resgen.eval.speech_data import CorpusSplit
    from resgen.eval.speech_metrics import SpeakerEncoder, cosine
    from resgen.speech.audio import MelConfig, log_mel, resample
    from resgen.speech.tokenizer import load_tokenizer
    from resgen.speech.vocoder import load_hifigan, vocode
    split = CorpusSplit(Path(args.data), args.split)
    triples = split.triples()[: args.n]
    enc, voc = SpeakerEncoder(), load_hifigan(args.vocoder)
    toks = {t: load_tokenizer(Path(t)) for t in args.tokenizers.split(",") if t}
    sr = MelConfig.sample_rate
    sims: dict[str, list[float]] = {"recordings": [], "vocoder only": []}
    l1s: dict[str, list[float]] = {}
    refs: dict[int, np.ndarray] = {}

    def speak(mel):
        return vocode(mel[None], "hifigan", voc)[0].numpy()

    for i, _, k in triples:
        refs.setdefault(k, enc(split.audio[k], split.sample_rate))
        sims["recordings"].append(cosine(enc(split.audio[i], split.sample_rate), refs[k]))
        audio = split.audio[i] if split.sample_rate == sr else resample(split.audio[i], split.sample_rate, sr)
        mel = log_mel(torch.from_numpy(audio))
        sims["vocoder only"].append(cosine(enc(speak(mel[0]), sr), refs[k]))
        for t, tok in toks.items():
            padded = tok.pad_frames(mel)
            for name, rec in variants(tok, padded).items():
                row = f"{t}: {name}"
                sims.setdefault(row, []).append(cosine(enc(speak(rec), sr), refs[k]))
                l1s.setdefault(row, []).append(float((rec - padded[0]).abs().mean()))
    print(f"machine: {platform.processor() or platform.machine()}; torch {torch.__version__}; {args.data} "
          f"{args.split}: {len(triples)} pairs from {len({int(split.voice[i]) for i, _, _ in triples})} voices")
    print("\n| speech | speaker similarity (mean ± sd) | log-mel L1 |")
    print("|---|---|---|")
    for row, v in sims.items():
        l1 = f"{np.mean(l1s[row]):.3f}" if row in l1s else "-"
        print(f"| {row} | {np.mean(v):.3f} ± {np.std(v):.3f} | {l1} |")


if __name__ == "__main__":
    main()
