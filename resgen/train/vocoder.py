"""Fine-tune the HiFi-GAN vocoder on the corpora's recordings:
`resgen train vocoder --data runs/speech-data-270v,runs/speech-engines --init assets/speech --out runs/vocoder`.

The shipped generator is HiFi-GAN's `universal` checkpoint, trained on other people's voices from the
recorded mels only. Here it learns the project's own voices, and the mels it is actually given: a share
--decoded-share of each batch is the tokenizer's reconstruction of the recording (encoded and decoded at
--depth), the rest the recording's own log-mel; the target is always the recorded waveform.

With --kernels (say 3,7) the generator trained is a smaller student: the --init generator with only those residual
blocks kept in each stage (resgen/speech/vocoder.py `student_of`; dropping the 11-tap blocks halves the multiply-adds).
--target teacher then makes the --init generator's own audio on the same mel the target (distillation: the student
learns to sound like the shipped vocoder on the mels it will be given, not like the recordings), and --features W
adds W x the mean relative L1 between each upsampling stage's output and the teacher's (both generators keep the
same upsamplers and widths, so the student is told where, not only that, it goes wrong).

Each item is a --segment-frame crop (on the tokenizer's code grid, so the codes are the utterance's own)
with --margin frames of context on each side for the STFT and the tokenizer, dropped before the loss.
Loss: L1 between log-mels (the model's 80 bands) plus a multi-resolution STFT loss (spectral convergence
and log-magnitude L1 at FFT sizes 512, 1024 and 2048, full band). With --adversarial W > 0 a small
waveform discriminator (resgen/train/wave_critic.py) adds W x (least-squares adversarial + feature
matching) terms.
Shapes: audio (B, S) with S = F * 256; mel (B, 80, F).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

from resgen.speech.audio import log_mel
from resgen.speech.vocoder import load_hifigan, student_of
from resgen.train.loop import LoopConfig, train
from resgen.train.wave_critic import CriticisedVocoder, WaveCritic

HOP = 256
RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--data", default="runs/speech-data",
                   help="corpus folder(s) of `resgen data speech` / `speech-engines`, comma-separated; their train splits")
    p.add_argument("--init", default="assets/speech",
                   help="a model folder with vocoder.safetensors and the speech tokenizer (the starting point)")
    p.add_argument("--out", default="runs/vocoder")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--segment", type=int, default=32, help="mel frames per item (a multiple of the tokenizer's 4)")
    p.add_argument("--margin", type=int, default=16, help="context frames on each side, not scored")
    p.add_argument("--decoded-share", type=float, default=0.5,
                   help="share of each batch given the tokenizer's reconstruction instead of the recorded mel (0-1)")
    p.add_argument("--depth", type=int, default=0, help="the tokenizer depth to decode at (0: all of them)")
    p.add_argument("--adversarial", type=float, default=1.0, help="weight of a waveform discriminator (0: none)")
    p.add_argument("--kernels", default="",
                   help="comma-separated residual-block kernels to keep (a smaller student; default: all of --init's)")
    p.add_argument("--target", choices=("recording", "teacher"), default="recording",
                   help="what the output must sound like: the recorded waveform, or --init's vocoder on the same mel")
    p.add_argument("--features", type=float, default=1.0,
                   help="with --target teacher: weight of matching each upsampling stage's output to the teacher's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at", type=int, default=0, help="stop after this step (resume later with the same command)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--synthetic", action="store_true", help="a few seconds of synthetic tones instead of a corpus (tests)")


def stft_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss, audio (B, S): mean over resolutions of spectral convergence + log-magnitude L1."""
    total = fake.new_zeros(())
    for n_fft, hop in RESOLUTIONS:
        w = torch.hann_window(n_fft, device=fake.device, dtype=fake.dtype)
        f, r = (torch.stft(x, n_fft, hop, n_fft, window=w, return_complex=True).abs().clamp(min=1e-5)
                for x in (fake, real))
        total = total + torch.linalg.norm(r - f) / torch.linalg.norm(r).clamp(min=1e-5) + (r.log() - f.log()).abs().mean()
    return total / len(RESOLUTIONS)


def synthetic_audio(n: int = 6, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Tones with a few harmonics and vibrato, int16 -> (audio (S,), offsets (U+1,))."""
    g = np.random.default_rng(seed)
    parts = []
    for _ in range(n):
        t = np.arange(int(22050 * g.uniform(0.8, 1.2))) / 22050
        f0 = g.uniform(90, 250) * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
        phase = 2 * np.pi * np.cumsum(f0) / 22050
        x = sum(np.sin(k * phase) / k for k in range(1, 6)) * 0.2
        parts.append((x * 32767).astype(np.int16))
    return np.concatenate(parts), np.cumsum([0] + [len(p) for p in parts])


def pooled_audio(corpora: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """The train splits' recordings of several corpora, int16, one after another -> (audio (S,), offsets (U+1,))."""
    from resgen.core.errors import UsageError
    audios, offsets, shift = [], [np.zeros(1, np.int64)], 0
    for data in corpora:
        if not (data / "train.npz").exists():
            raise UsageError(f"no training split at {data} (run `resgen data speech --out {data}` first)")
        rate = int(json.loads((data / "corpus.json").read_text())["sample_rate"])
        if rate != 22050:
            raise UsageError(f"{data} is at {rate} Hz; the vocoder needs 22050 Hz")
        f = np.load(data / "train.npz")
        audios.append(f["audio"])
        offsets.append(f["audio_offsets"][1:].astype(np.int64) + shift)
        shift += int(f["audio_offsets"][-1])
    return np.concatenate(audios), np.concatenate(offsets)


class Windows:
    """Draws crops of recordings: a window on the tokenizer's code grid of --segment frames plus margins."""

    def __init__(self, audio: np.ndarray, offsets: np.ndarray, segment: int, margin: int, grid: int):
        self.audio, self.offsets = audio, offsets
        self.segment, self.margin, self.grid = segment, margin, grid
        frames = np.diff(offsets) // HOP
        self.usable = np.nonzero(frames >= segment)[0]          # utterances long enough for one segment
        self.frames = frames

    def __len__(self) -> int:
        return len(self.usable)

    def draw(self, item: int, u: float) -> tuple[torch.Tensor, int, int]:
        """-> (window audio (S_w,) float, first scored frame within it, number of scored frames)."""
        i = int(self.usable[item])
        slots = (int(self.frames[i]) - self.segment) // self.grid + 1
        f0 = min(int(u * slots), slots - 1) * self.grid
        a = max(0, f0 - self.margin) // self.grid * self.grid
        b = min(int(self.frames[i]), f0 + self.segment + self.margin)
        x = self.audio[self.offsets[i] + a * HOP: self.offsets[i] + b * HOP].astype(np.float32) / 32768
        return torch.from_numpy(x), f0 - a, self.segment


def run(args) -> Path:
    from resgen.core.errors import UsageError
    from resgen.speech.tokenizer import load_tokenizer
    from resgen.train.speech_tokenizer import corpus_folders
    init = Path(args.init)
    hifigan = load_hifigan(init / "vocoder.safetensors")                  # a one-line error when missing
    tokenizer = load_tokenizer(init).eval().requires_grad_(False)
    grid = tokenizer.cfg.downsample
    depth = args.depth or tokenizer.cfg.rvq.depth
    if not 0 < depth <= tokenizer.cfg.rvq.depth:
        raise UsageError(f"--depth must be between 1 and {tokenizer.cfg.rvq.depth} (0: all)")
    if args.segment <= 0 or args.segment % grid or args.margin < 0:
        raise UsageError(f"--segment must be a positive multiple of {grid}, --margin at least 0")
    if not 0 <= args.decoded_share <= 1 or args.adversarial < 0 or args.features < 0:
        raise UsageError("--decoded-share must be within 0-1, --adversarial and --features at least 0")
    try:
        kernels = tuple(int(k) for k in args.kernels.split(",")) if args.kernels else ()
    except ValueError:
        raise UsageError(f"--kernels takes comma-separated numbers such as 3,7, not {args.kernels!r}") from None
    try:
        student = student_of(hifigan, kernels) if kernels else hifigan
    except ValueError as e:
        raise UsageError(f"--kernels: {e}") from None
    if args.target == "teacher" and student is hifigan:
        raise UsageError("--target teacher needs a smaller student (--kernels)")
    teacher = hifigan.eval().requires_grad_(False) if args.target == "teacher" else None
    audio, offsets = synthetic_audio() if args.synthetic else pooled_audio(corpus_folders(args.data))
    windows = Windows(audio, offsets, args.segment, args.margin, grid)
    if len(windows) < args.batch_size:
        raise UsageError(f"only {len(windows)} recordings are at least {args.segment} frames long")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def loss_fn(net, idx, gen):
        dev = gen.device
        b = len(idx)
        u = torch.rand(b, generator=gen, device=dev).cpu().tolist()
        decoded = (torch.rand(b, generator=gen, device=dev) < args.decoded_share).cpu().tolist()
        mels, wavs = [], []
        for k, item in enumerate(idx.tolist()):
            x, s, n = windows.draw(item, u[k])
            mel = log_mel(x)                                              # (1, 80, F_w)
            if decoded[k]:
                with torch.no_grad():
                    mel = tokenizer.decode(tokenizer.encode(mel), depth)[..., :mel.shape[-1]]
            mels.append(mel[0, :, s:s + n])
            wavs.append(x[s * HOP:(s + n) * HOP])
        mel, wav = torch.stack(mels).to(dev), torch.stack(wavs).to(dev)
        feats = None
        if teacher is not None:
            with torch.no_grad():
                wav, feats = teacher.to(dev)(mel, stages=True)
        core = net.module if hasattr(net, "module") else net
        stages = feats is not None and args.features > 0
        fake, terms = net(mel, wav, stages) if isinstance(core, CriticisedVocoder) else (net(mel, stages), {})
        if stages:
            fake, got = fake
        mel_l1 = (log_mel(fake) - log_mel(wav)).abs().mean()
        stft = stft_loss(fake, wav)
        out = {"loss": mel_l1 + stft, "mel_l1": mel_l1.detach(), "stft": stft.detach()}
        if stages:                    # each stage's output against the teacher's, relative to the teacher's size
            feat = sum((g - t).abs().mean() / t.abs().mean().clamp(min=1e-6) for g, t in zip(got, feats)) / len(got)
            out["loss"] = out["loss"] + args.features * feat
            out["features"] = feat.detach()
        if terms:
            out["loss"] = out["loss"] + terms["critic"] + args.adversarial * (terms["adv"] + 2 * terms["fm"])
            out.update({k: v.detach() for k, v in terms.items()})
        return out

    def export(model, step):
        generator = model.generator if isinstance(model, CriticisedVocoder) else model
        save_file({k: v.half() for k, v in generator.state_dict().items()}, str(out / "vocoder.safetensors"))
        (out / "vocoder.json").write_text(json.dumps({"init": str(init), "step": step, "data": str(args.data),
                                                     "decoded_share": args.decoded_share, "depth": depth,
                                                     "kernels": list(generator.cfg.resblock_kernels),
                                                     "target": args.target, "features": args.features}, indent=1))

    model: nn.Module = student.train()
    if args.adversarial > 0:
        torch.manual_seed(args.seed)                                      # the critic's initial weights
        model = CriticisedVocoder(student, WaveCritic())
    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, ckpt_every=100, log_every=max(1, min(10, args.steps)),
                      warmup=min(100, args.steps // 5))
    train(out, model, loss_fn, len(windows), loop, on_checkpoint=export)
    return out
