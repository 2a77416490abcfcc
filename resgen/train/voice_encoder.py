"""Train the voice encoder that picks the best of N takes (resgen/speech/voice_match.py), on the training voices
only: `resgen train voice-encoder --data runs/speech-data-270v,runs/speech-engines --out runs/voice`.

Each item is a random --crop-frame window of a training utterance, labelled with its voice (every corpus's voices
are classes of their own). Loss: additive angular margin softmax (ArcFace: cos(theta + m), scale s) over the
training voices. With --tokenizer, a share --decoded-share of each batch is the tokenizer's reconstruction of the
crop (encoded and decoded at all depths) instead of the recorded mel: best-of-N compares tokenizer mels, so the
encoder learns to hear voices through the tokenizer too. At the end the EMA weights are written (float16) with, for
every corpus's validation split (voices never trained on), leave-one-out speaker identification (nearest voice by
the mean embedding of its other utterances) and the equal error rate of same-voice verification, on the recordings
and on their reconstructions.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from resgen.core.config import dumps, to_dict
from resgen.core.weights import save_module
from resgen.speech.voice_match import VoiceEncoder, VoiceEncoderConfig
from resgen.train.loop import LoopConfig, train
from resgen.train.speech_tokenizer import corpus_folders, corpus_mels, pooled_mels, synthetic_mels


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--data", default="runs/speech-data",
                   help="corpus folder(s) of `resgen data speech` / `speech-engines`, comma-separated; their train splits")
    p.add_argument("--out", default="runs/voice", help="run folder (checkpoints, log, weights)")
    p.add_argument("--tokenizer", default="", help="a model folder whose speech tokenizer reconstructs a share of "
                                                   "each batch (empty: recordings only)")
    p.add_argument("--decoded-share", type=float, default=0.5)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--crop", type=int, default=128, help="mel frames per item (128 = 1.5 s)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=192)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--envelope-sigma", type=float, default=0.0,
                   help="smooth each frame over this many mel bands first, so the encoder hears the spectral envelope "
                        "(timbre) rather than the harmonics (pitch); 0 = the full log-mel")
    p.add_argument("--margin", type=float, default=0.2, help="angular margin m (radians)")
    p.add_argument("--scale", type=float, default=30.0, help="logit scale s")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at", type=int, default=0, help="stop after this step (resume later with the same command)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--synthetic", action="store_true", help="a few synthetic 'voices' instead of a corpus (tests)")


class MarginSoftmax(nn.Module):
    """The encoder with a class-weight table: (mel (B, 80, F), voice (B,)) -> additive angular margin loss."""

    def __init__(self, encoder: VoiceEncoder, classes: int, margin: float, scale: float):
        super().__init__()
        self.encoder = encoder
        self.classes = nn.Parameter(torch.randn(classes, encoder.cfg.dim) * 0.1)
        self.margin, self.scale = margin, scale

    def forward(self, mel: torch.Tensor, voice: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cos = self.encoder(mel) @ F.normalize(self.classes, dim=-1).T                 # (B, classes)
        theta = cos.gather(1, voice[:, None]).clamp(-1 + 1e-6, 1 - 1e-6).acos()
        target = torch.cos(theta + self.margin)
        logits = cos.scatter(1, voice[:, None], target) * self.scale
        return F.cross_entropy(logits, voice), (cos.argmax(-1) == voice).float().mean()


def crops(mels: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor, idx: torch.Tensor, crop: int,
          gen: torch.Generator) -> torch.Tensor:
    """A random window of `crop` frames of each utterance idx (a shorter one repeated to fill it) -> (B, 80, crop)."""
    r = torch.rand(len(idx), generator=gen, device=gen.device).cpu()
    out = torch.empty(len(idx), mels.shape[0], crop)
    for k, i in enumerate(idx.tolist()):
        n = int(lengths[i])
        s = int(starts[i]) + int(r[k] * max(0, n - crop + 1))
        x = mels[:, s:s + min(n, crop)].float()
        out[k] = x.repeat(1, math.ceil(crop / x.shape[1]))[:, :crop]
    return out


def reconstruct(tokenizer, mel: torch.Tensor) -> torch.Tensor:
    """The tokenizer's reconstruction of mel (B, 80, F) at all depths, cut or padded back to F frames."""
    with torch.no_grad():
        rec = tokenizer.decode(tokenizer.encode(mel))
    return F.pad(rec, (0, max(0, mel.shape[-1] - rec.shape[-1])), mode="replicate")[..., : mel.shape[-1]]


def run(args) -> Path:
    from resgen.core.errors import UsageError
    if not 0 <= args.decoded_share <= 1:
        raise UsageError("--decoded-share must be in [0, 1]")
    if args.crop < 16:
        raise UsageError("--crop must be at least 16 frames")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.synthetic:
        mels, offsets, voices, corpora = *synthetic_voices(), []
    else:
        corpora = corpus_folders(args.data)
        for data in corpora:
            if not (data / "train.npz").exists():
                raise UsageError(f"no corpus at {data} (run `resgen data speech --out {data}` first)")
        mels, offsets = pooled_mels(corpora, out)
        voices = np.concatenate([np.load(d / "train.npz")["voice"].astype(np.int64) + 100_000 * k
                                 for k, d in enumerate(corpora)])
    _, labels = np.unique(voices, return_inverse=True)                       # each corpus's voices: own classes
    tokenizer = None
    if args.tokenizer:
        from resgen.speech.tokenizer import load_tokenizer
        tokenizer = load_tokenizer(Path(args.tokenizer)).requires_grad_(False)
    all_mels = torch.from_numpy(mels)
    starts, lengths = torch.from_numpy(offsets[:-1]), torch.from_numpy(np.diff(offsets))
    label_t = torch.from_numpy(labels)
    cfg = VoiceEncoderConfig(width=args.width, dim=args.dim, envelope_sigma=args.envelope_sigma)

    def loss_fn(net, idx, gen):
        x = crops(all_mels, starts, lengths, idx, args.crop, gen)
        if tokenizer is not None and args.decoded_share > 0:
            pick = torch.rand(len(idx), generator=gen, device=gen.device).cpu() < args.decoded_share
            if pick.any():
                x[pick] = reconstruct(tokenizer, x[pick])
        loss, acc = net(x.to(gen.device), label_t[idx].to(gen.device))
        return {"loss": loss, "accuracy": float(acc)}

    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, ema=args.ema, weight_decay=0.01, ckpt_every=250, warmup=200)
    torch.manual_seed(args.seed)                                   # the initial weights
    net = train(out, MarginSoftmax(VoiceEncoder(cfg), int(labels.max()) + 1, args.margin, args.scale), loss_fn,
                len(labels), loop)
    if args.stop_at and args.stop_at < args.steps:
        return out
    encoder = net.encoder.cpu().eval()
    sha = save_module(encoder.half(), out / "voice.safetensors")
    encoder.float()
    report = {str(d): val_check(encoder, d, tokenizer) for d in corpora if (d / "val.npz").exists()}
    recipe = {"data": ",".join(map(str, corpora)) or "synthetic", "steps": args.steps, "batch_size": args.batch_size,
              "crop": args.crop, "lr": args.lr, "ema": args.ema, "margin": args.margin, "scale": args.scale,
              "tokenizer": args.tokenizer, "decoded_share": args.decoded_share if args.tokenizer else 0.0,
              "seed": args.seed, "training_utterances": len(labels), "training_voices": int(labels.max()) + 1}
    (out / "voice.json").write_text(dumps({"files": {"voice.safetensors": sha}, "encoder": to_dict(cfg),
                                           "recipe": recipe, "validation": report}))
    print(f"voice encoder: {out / 'voice.safetensors'}; validation {json.dumps(report)}")
    return out


def synthetic_voices(n_voices: int = 4, per_voice: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tests: 'voices' that differ in spectral tilt, each utterance noise around it -> (mels, offsets, voice ids)."""
    mels, offsets = synthetic_mels(n_voices * per_voice, seed=3)
    voices = np.repeat(np.arange(n_voices), per_voice)
    tilt = np.linspace(-1, 1, 80)[:, None]
    for u, v in enumerate(voices):
        mels[:, offsets[u]:offsets[u + 1]] += (2 * (v / (n_voices - 1)) - 1) * 2 * tilt
    return mels, offsets, voices


def identification(emb: torch.Tensor, voice: np.ndarray) -> float:
    """Leave-one-out: each utterance against the mean embedding of every voice's other utterances."""
    hits = []
    for u in range(len(voice)):
        keep = np.arange(len(voice)) != u
        cents = {v: emb[keep & (voice == v)].mean(0) for v in np.unique(voice) if (keep & (voice == v)).any()}
        best = max(cents, key=lambda v: float(F.cosine_similarity(emb[u], cents[v], dim=0)))
        hits.append(best == voice[u])
    return float(np.mean(hits))


def equal_error_rate(emb: torch.Tensor, voice: np.ndarray) -> float:
    """Verification over every pair of utterances (same voice or not, by cosine): the error rate where false
    acceptances and false rejections are equal (0 = perfect, 0.5 = chance)."""
    sims = (emb @ emb.T).numpy()
    iu = np.triu_indices(len(voice), 1)
    score, same = sims[iu], (voice[:, None] == voice[None])[iu]
    if same.all() or not same.any():
        return float("nan")
    order = np.argsort(-score)
    far = np.cumsum(~same[order]) / (~same).sum()          # accepting the top k: false acceptances
    frr = 1 - np.cumsum(same[order]) / same.sum()          # and false rejections
    k = int(np.argmin(np.abs(far - frr)))
    return float((far[k] + frr[k]) / 2)


def val_check(encoder: VoiceEncoder, data: Path, tokenizer=None) -> dict:
    """Identification among a corpus's validation voices, on recordings (and reconstructions, given a tokenizer)."""
    mels, offsets = corpus_mels(data, "val")
    voice = np.load(data / "val.npz")["voice"]
    utts = [torch.from_numpy(mels[:, offsets[u]:offsets[u + 1]].astype(np.float32)) for u in range(len(voice))]
    emb = torch.stack([encoder.embed(m) for m in utts])
    out = {"utterances": len(utts), "voices": int(len(np.unique(voice))), "identification": identification(emb, voice),
           "eer": equal_error_rate(emb, voice)}
    if tokenizer is not None:
        rec = torch.stack([encoder.embed(reconstruct(tokenizer, m[None])[0]) for m in utts])
        out["identification_reconstructed"] = identification(rec, voice)
        out["eer_reconstructed"] = equal_error_rate(rec, voice)
    return out
