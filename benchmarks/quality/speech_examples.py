"""Listen and look: a few pairs of a speech split as the evaluation makes them, side by side as mel pictures (one PNG
a pair) and WAVs, each panel with its phoneme error from the project's recogniser.

    python benchmarks/quality/speech_examples.py --data runs/speech-data-270v --split heldout --pairs 0,1 \
        --models "before=out/speech-before,after=assets/speech" --img docs/img --audio docs/audio

Panels: the recording, its tokenizer resynthesis at full depth, then each model's generation of the same text from
the same prompt with the same seed as `resgen eval speech` (pair n is sampled with seed + n, torch backend,
HiFi-GAN, the model's sampler defaults), so each panel is the very sample the evaluation scored. With --takes K each
model gives K panels, seeds seed + n + 100 t for t < K (the takes of benchmarks/quality/speech_takes.py); with
--similarity each title also gives resemblyzer's similarity to the evaluation's reference utterance.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from resgen.eval.speech_data import SPLITS


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="runs/speech-data-270v")
    ap.add_argument("--split", default="heldout", choices=SPLITS)
    ap.add_argument("--pairs", default="0,1", help="indices into the split's evaluation pairs")
    ap.add_argument("--models", default="ResGEN=assets/speech",
                    help="name=folder,name=folder,...; folder:transcript gives that model the prompt's transcript, "
                         "folder:alone decodes its codes without the prompt's in front (the decoding before 2026-12-07), "
                         "folder:uncorrected leaves the tokenizer's error on the prompt in (before session 19)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="torch", choices=("torch", "onnx", "auto"),
                    help="where the denoiser and HiFi-GAN run (onnx: a model folder's own vocoder.onnx, e.g. part int8)")
    ap.add_argument("--takes", type=int, default=1, help="panels per model: seeds seed + n + 100 t, t < takes")
    ap.add_argument("--similarity", action="store_true", help="resemblyzer similarity to the reference in each title")
    ap.add_argument("--img", default="docs/img")
    ap.add_argument("--audio", default="docs/audio")
    ap.add_argument("--prefix", default="speech")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if args.takes < 1:
        ap.error("--takes must be at least 1")
    torch.set_num_threads(args.threads)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import resgen
    from resgen.eval.recogniser import load_recogniser, per
    from resgen.eval.speech_data import CorpusSplit
    from resgen.speech.audio import log_mel, save_audio
    rec = load_recogniser(resgen.assets_dir() / "speech-recogniser")
    split = CorpusSplit(Path(args.data), args.split)
    triples = split.triples()
    models = {name: spec.split(":") for name, spec in (m.split("=", 1) for m in args.models.split(","))}
    pipes = {name: resgen.load("speech", backend=args.backend, model_dir=spec[0]) for name, spec in models.items()}
    first = next(iter(pipes.values()))
    Path(args.img).mkdir(parents=True, exist_ok=True)
    Path(args.audio).mkdir(parents=True, exist_ok=True)
    judge = None
    if args.similarity:
        from resgen.eval.speech_metrics import SpeakerEncoder, cosine
        judge = SpeakerEncoder()
    for n in (int(x) for x in args.pairs.split(",")):
        i, j, k = triples[n]
        ref = rec.reference(split.phonemes[i])
        mel = log_mel(torch.from_numpy(split.audio[i]))
        with torch.no_grad():
            codes = first.tokenizer.encode(mel)[0]
        panels = [("recording", split.audio[i]),
                  (f"resynthesis d={codes.shape[-1]}", first.vocode(first.decode(codes, codes.shape[-1]), "hifigan"))]
        for name, pipe in pipes.items():
            for t in range(args.takes):
                r = pipe.generate(split.texts[i], split.audio[j], split.sample_rate, accent=split.accent(i),
                                  seed=args.seed + n + 100 * t, vocoder="hifigan",
                                  prompt_text=split.texts[j] if "transcript" in models[name][1:] else None,
                                  behind_prompt="alone" not in models[name][1:],
                                  correction=0.0 if "uncorrected" in models[name][1:] else None)
                panels.append((f"{name} take {t + 1}" if args.takes > 1 else name, r.audio))
        ref_emb = judge(split.audio[k], split.sample_rate) if judge else None
        fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.9 * len(panels) + 0.4), dpi=80)
        for ax, (name, audio) in zip(axes, panels):
            e = per([ref], [rec.transcribe(audio, split.sample_rate)])
            ax.imshow(log_mel(torch.from_numpy(np.asarray(audio, np.float32)))[0].numpy(), origin="lower",
                      aspect="auto", cmap="magma", vmin=-11.5, vmax=2.0)
            sim = (f", similarity {cosine(judge(np.asarray(audio, np.float32), split.sample_rate), ref_emb):.3f}"
                   if judge else "")
            ax.set_title(f"{name}: phoneme error {e:.2f}{sim}", fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
            tag = name.split()[0].replace("=", "") + (f"_take{name.split()[-1]}" if " take " in name else "")
            save_audio(Path(args.audio) / f"{args.prefix}_pair{n}_{tag}.wav", np.asarray(audio, np.float32))
        fig.suptitle(f"{args.split} pair {n}: \"{split.texts[i]}\" ({split.voice_name(i)})", fontsize=9)
        fig.tight_layout()
        fig.savefig(Path(args.img) / f"{args.prefix}_pair{n}.png")
        plt.close(fig)
        print(f"pair {n}: {Path(args.img) / f'{args.prefix}_pair{n}.png'}")


if __name__ == "__main__":
    main()
