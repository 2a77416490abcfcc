"""Train the CTC phoneme recogniser (the intelligibility instrument) on the corpus's training voices only:
`resgen train recogniser --data runs/speech-data-270 --out runs/recogniser`.

Each step reads a batch of whole training utterances (log-mels, padded), with two augmentations that change
neither the words nor the voice's identity much: a speaking-rate change of the whole batch (the mels stretched in
time by a factor in [1 - rate, 1 + rate]) and SpecAugment (two bands and two time spans of each utterance set to its
mean). The loss is CTC over the utterance's phonemes (stress removed, silences dropped). At the end the EMA weights
are written with the phoneme error rate on the held-out recordings (voices and sentences never trained on) and on
the same recordings paired with another utterance's phonemes (what an unintelligible or wrong utterance scores).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from resgen.core.config import dumps, to_dict
from resgen.core.weights import save_module
from resgen.eval.recogniser import (PhonemeRecogniser, Recogniser, RecogniserConfig, per, phoneme_ids,
                                    phoneme_inventory)
from resgen.eval.speech_data import split_phonemes
from resgen.train.loop import LoopConfig, train
from resgen.train.speech_tokenizer import corpus_folders, pooled_mels


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--data", default="runs/speech-data",
                   help="corpus folder from `resgen data speech`, or several as a comma list (for example the espeak "
                        "corpus and `resgen data speech-engines`'s): their training splits are pooled")
    p.add_argument("--out", default="runs/recogniser", help="run folder (checkpoints, log, weights)")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--blocks", type=int, default=8)
    p.add_argument("--kernel", type=int, default=9)
    p.add_argument("--rate", type=float, default=0.15, help="speaking-rate augmentation: stretch in [1-rate, 1+rate]")
    p.add_argument("--channel", type=float, default=0.3,
                   help="share of utterances heard through a random channel: a band limit (telephone to full band) "
                        "and a spectral tilt (0 for none)")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at", type=int, default=0, help="stop after this step (resume later with the same command)")
    p.add_argument("--threads", type=int, default=0)


def spec_augment(mel: torch.Tensor, lengths: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Two bands (up to 10 of 80) and two time spans (up to 5% of the utterance each) set to the utterance's mean."""
    B, M, T = mel.shape
    out = mel.clone()
    r = torch.rand(B, 8, generator=gen, device=gen.device).cpu()
    for b in range(B):
        n = int(lengths[b])
        mean = out[b, :, :n].mean(-1, keepdim=True)
        for k in range(2):
            w = int(r[b, k] * 10)
            f0 = int(r[b, 2 + k] * (M - w))
            out[b, f0:f0 + w, :n] = mean[f0:f0 + w]
            tw = int(r[b, 4 + k] * 0.05 * n)
            t0 = int(r[b, 6 + k] * max(1, n - tw))
            out[b, :, t0:t0 + tw] = mean
    return out


def channel_augment(mel: torch.Tensor, share: float, gen: torch.Generator,
                    floor: float = math.log(1e-5)) -> torch.Tensor:
    """A random channel for a `share` of the utterances: everything above a cutoff between 3.3 kHz (a telephone line,
    mel bin 56) and 8 kHz set to silence, and a spectral tilt of up to +-1 nat (about 9 dB) from the lowest band to
    the highest. mel (B, 80, T) log-mels; the words are unchanged, so the recogniser learns to read narrow-band and
    coloured recordings (8 kHz prompts, cheap microphones) it would otherwise never hear."""
    B, M, _ = mel.shape
    r = torch.rand(B, 3, generator=gen, device=gen.device).cpu()
    out = mel.clone()
    for b in range(B):
        if r[b, 0] >= share:
            continue
        cut = 56 + int(r[b, 1] * (M - 56 + 1))
        tilt = (2 * r[b, 2] - 1) * torch.linspace(0, 1, M)[:, None]
        out[b] = out[b] + tilt
        out[b, cut:] = floor
    return out


def run(args) -> Path:
    from resgen.core.errors import UsageError
    corpora = corpus_folders(args.data)
    for data in corpora:
        if not (data / "train.npz").exists():
            raise UsageError(f"no corpus at {data} (run `resgen data speech --out {data}` first)")
    if not 0 <= args.channel <= 1:
        raise UsageError("--channel must be in [0, 1]")
    if not 0 <= args.rate < 0.5:
        raise UsageError("--rate must be in [0, 0.5)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metas = [json.loads((data / "corpus.json").read_text()) for data in corpora]
    symbols = phoneme_inventory([s for m in metas for s in m["symbols"]])    # the union of the corpora's
    cfg = RecogniserConfig(symbols=symbols, width=args.width, blocks=args.blocks, kernel=args.kernel)
    mels, offsets = pooled_mels(corpora, out)                                # each corpus's frames after the last's
    targets = [phoneme_ids(p, symbols) for data in corpora for p in split_phonemes(data, "train")]
    all_mels = torch.from_numpy(mels)                                         # (80, total) float16
    starts, lengths = torch.from_numpy(offsets[:-1]), torch.from_numpy(np.diff(offsets))

    def loss_fn(net, idx, gen):
        dev = gen.device
        ids = idx.tolist()
        n = lengths[idx]
        batch = torch.zeros(len(ids), 80, int(n.max()))
        for k, i in enumerate(ids):
            batch[k, :, :n[k]] = all_mels[:, starts[i]:starts[i] + n[k]].float()
        stretch = 1 + args.rate * (2 * torch.rand(1, generator=gen, device=dev).item() - 1)
        if abs(stretch - 1) > 1e-3:
            new_t = max(8, int(round(batch.shape[-1] * stretch)))
            batch = F.interpolate(batch, size=new_t, mode="linear", align_corners=False)
            n = (n.float() * new_t / lengths[idx].max()).round().long().clamp(min=1, max=new_t)
        batch = spec_augment(channel_augment(batch, args.channel, gen), n, gen)
        lp, out_len = net(batch.to(dev), n.to(dev))
        tgt = [torch.tensor(targets[i]) for i in ids]
        loss = F.ctc_loss(lp.transpose(0, 1).float(), torch.cat(tgt).to(dev), out_len,
                          torch.tensor([len(t) for t in tgt], device=dev), blank=0, zero_infinity=True)
        return {"loss": loss}

    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, ema=args.ema, weight_decay=0.01, ckpt_every=250, warmup=300)
    torch.manual_seed(args.seed)                                   # the initial weights
    model = train(out, PhonemeRecogniser(cfg), loss_fn, len(targets), loop)
    if args.stop_at and args.stop_at < args.steps:
        return out
    model = model.cpu().eval()
    sha = save_module(model, out / "recogniser.safetensors")
    report = {str(data): heldout_check(Recogniser(model), data) for data in corpora if (data / "heldout.npz").exists()}
    report = report[str(corpora[0])] if len(corpora) == 1 else report
    recipe = {"data": ",".join(map(str, corpora)), "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "ema": args.ema,
              "rate": args.rate, "channel": args.channel, "seed": args.seed, "training_utterances": len(targets),
              "training_voices": sum(len({v["name"] for v in m["voices"] if v["split"] == "train"}) for m in metas)}
    (out / "recogniser.json").write_text(dumps({"files": {"recogniser.safetensors": sha},
                                                "recogniser": to_dict(cfg), "recipe": recipe, "heldout": report}))
    print(f"recogniser: {out / 'recogniser.safetensors'}; held-out {report}")
    return out


def heldout_check(rec: Recogniser, data: Path) -> dict:
    """PER on the held-out recordings, against their own phonemes and against another utterance's."""
    from resgen.eval.speech_data import CorpusSplit
    held = CorpusSplit(data, "heldout")
    refs = [rec.reference(p) for p in held.phonemes]
    hyps = rec.transcribe_all(held.audio, held.sample_rate)
    shifted = refs[1:] + refs[:1]
    return {"utterances": len(refs), "per": per(refs, hyps), "per_wrong_sentence": per(shifted, hyps)}
