"""Train the mel RQ-VAE on the speech corpus:
`resgen train speech-tokenizer --data runs/speech-data --out runs/speech-tokenizer`.

Each step takes a random crop of --crop mel frames from each utterance of the batch (shorter ones
are padded with silence); the loss is L1 + MSE between standardised log-mels plus 0.25 x the
commitment term, with half of each batch decoded from a random depth (quantiser dropout).

`--init DIR --decoder-only` fine-tunes only the decoder of an existing tokenizer (a run folder or a
model folder such as assets/speech): the encoder, codebooks and mel statistics stay as they are,
so every utterance keeps its codes and a speech model trained on them stays valid. With `--gta DIR` (the speech
model's own codes for training recordings on their alignment, `resgen data speech-gta`) a share of each batch
decodes the model's codes instead of the recording's, against the recording's mel: the decoder learns to turn what
the model makes, not only what the encoder makes, into speech. With `--context C` every crop is decoded behind the codes
of C mel frames from a random utterance of the same voice (as generated speech is decoded behind its prompt,
SpeechPipeline.decode), the loss on the crop alone.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from resgen.speech.audio import log_mel
from resgen.core.config import MelTokenizerConfig, RVQConfig, dumps, to_dict
from resgen.speech.tokenizer import LOG_FLOOR, MelTokenizer, load_tokenizer, meta_file
from resgen.core.weights import save_module
from resgen.train.loop import LoopConfig, train


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--data", default="runs/speech-data",
                   help="corpus folder from `resgen data speech`, or several as a comma list (pooled)")
    p.add_argument("--out", default="runs/speech-tokenizer", help="run folder (checkpoints, log, weights)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--crop", type=int, default=128, help="mel frames per training crop")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--channels", type=int, default=192)
    p.add_argument("--downsample", type=int, default=4, help="mel frames per token position")
    p.add_argument("--depth", type=int, default=8, help="RVQ depth D")
    p.add_argument("--codebook-size", type=int, default=256)
    p.add_argument("--code-dim", type=int, default=32)
    p.add_argument("--dropout-p", type=float, default=0.5, help="share of samples decoded from a random depth")
    p.add_argument("--init", default=None,
                   help="start from this tokenizer (run folder with tokenizer.json, or a model folder with "
                        "config.json); its architecture and mel statistics replace the options above")
    p.add_argument("--decoder-only", action="store_true",
                   help="with --init: train only the decoder; the codes of every utterance stay the same")
    p.add_argument("--decoder-channels", type=int, default=None,
                   help="decoder width (default: --channels); with --init --decoder-only a different width or "
                        "--decoder-blocks starts a new decoder of that shape on the same codes")
    p.add_argument("--decoder-blocks", type=int, default=None, help="decoder residual blocks before upsampling (2)")
    p.add_argument("--decoder-post-blocks", type=int, default=None,
                   help="decoder residual blocks after upsampling, at the mel frame rate (0); more of them with "
                        "--init --decoder-only grow the existing decoder, the new blocks starting as the identity")
    p.add_argument("--adversarial", type=float, default=0.0,
                   help="weight W of a mel critic's LSGAN loss on the decoder (feature matching 2W); 0 = L1 + MSE only "
                        "(resgen/train/mel_critic.py)")
    p.add_argument("--gta", default=None,
                   help="with --init --decoder-only: a folder of `resgen data speech-gta`, the speech model's own codes "
                        "for training recordings; a share --gta-share of each batch decodes those instead of the "
                        "recording's own codes, against the recording's mel")
    p.add_argument("--gta-share", type=float, default=0.5, help="share of each batch from --gta (0-1)")
    p.add_argument("--context", type=int, default=0,
                   help="with --init --decoder-only: mel frames of a random utterance of the same voice decoded in "
                        "front of each crop (a multiple of --downsample; shorter utterances padded with silence in "
                        "front; 0 = none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at", type=int, default=0, help="stop after this step (resume later with the same command)")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--synthetic", action="store_true", help="tiny random mels instead of the corpus (tests)")


@torch.no_grad()
def corpus_mels(data: Path, split: str, cache: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Log-mels of every utterance of a split -> (float16 (80, total frames), offsets (U+1,)).
    Cached in `cache` (an .npz) when given; a cache made from another corpus (its audio offsets
    differ) is recomputed, never reused."""
    f = np.load(data / f"{split}.npz")
    ao = f["audio_offsets"]
    if cache is not None and cache.exists():
        c = np.load(cache)
        if "audio_offsets" in c.files and np.array_equal(c["audio_offsets"], ao):
            return c["mels"], c["offsets"]
    audio = f["audio"]
    mels = []
    for i in range(len(ao) - 1):
        x = torch.from_numpy(audio[ao[i]:ao[i + 1]].astype(np.float32) / 32768)
        mels.append(log_mel(x)[0].numpy().astype(np.float16))
    offsets = np.cumsum([0] + [m.shape[1] for m in mels])
    out = np.concatenate(mels, axis=1), offsets
    if cache is not None:
        np.savez(cache, mels=out[0], offsets=out[1], audio_offsets=ao)
    return out


def corpus_folders(spec: str) -> list[Path]:
    """--data "A,B" -> [Path(A), Path(B)] (one folder or a comma list of corpora to pool)."""
    return [Path(d.strip()) for d in str(spec).split(",") if d.strip()]


def pooled_mels(corpora: list[Path], cache_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The training log-mels of several corpora one after another -> (float16 (80, total), offsets (U+1,)); each
    corpus cached as cache_dir/mels_train.npz, mels_train_1.npz, ..."""
    parts = [corpus_mels(data, "train", cache_dir / (f"mels_train_{k}.npz" if k else "mels_train.npz"))
             for k, data in enumerate(corpora)]
    shift = np.cumsum([0] + [int(o[-1]) for _, o in parts])
    offsets = np.concatenate([[0]] + [o[1:] + shift[k] for k, (_, o) in enumerate(parts)])
    return np.concatenate([m for m, _ in parts], axis=1), offsets


def pooled_voices(corpora: list[Path]) -> np.ndarray:
    """The voice of every training utterance of several corpora, in pooled_mels' order -> int64 (U,); voices of
    different corpora never share an id."""
    out, base = [], 0
    for data in corpora:
        v = np.load(data / "train.npz")["voice"].astype(np.int64)
        out.append(v + base)
        base += int(v.max()) + 1 if len(v) else 0
    return np.concatenate(out)


def same_voice_rows(voices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """voices (U,) -> (utterances sorted by voice (U,), first row of each utterance's voice (U,), its count (U,)): the
    utterances of utterance u's voice are order[first[u]: first[u] + count[u]]."""
    order = np.argsort(voices, kind="stable")
    _, which, count = np.unique(voices, return_inverse=True, return_counts=True)
    start = np.cumsum(count) - count                                   # each voice's first row in `order`
    return torch.from_numpy(order), torch.from_numpy(start[which]), torch.from_numpy(count[which])


def synthetic_mels(n: int = 24, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    lens = g.integers(40, 200, n)
    mels = [(g.standard_normal((80, L)) - 5).astype(np.float16) for L in lens]
    return np.concatenate(mels, 1), np.cumsum([0] + list(lens))


def _initial(folder: Path) -> MelTokenizer:
    """A trained tokenizer from a run folder (tokenizer.json) or a model folder (config.json), in training mode."""
    from resgen.core.errors import UsageError
    if meta_file(folder) is None or not (folder / "tokenizer.safetensors").exists():
        raise UsageError(f"no speech tokenizer at {folder} (tokenizer.json or config.json, and tokenizer.safetensors)")
    return load_tokenizer(folder).train()


def new_decoder(old: MelTokenizer, shape: dict) -> MelTokenizer:
    """A tokenizer with `old`'s encoder, codebooks and mel statistics and a decoder of another shape (decoder_channels,
    decoder_blocks, decoder_post_blocks): every utterance keeps its codes. When only decoder_post_blocks grows, the
    old decoder is kept and the new blocks start as the identity (their last convolution zero), so the tokenizer
    decodes exactly as before until trained; any other change starts a fresh decoder."""
    from dataclasses import replace
    cfg = replace(old.cfg, **shape)
    if cfg == old.cfg:
        return old
    model = MelTokenizer(cfg)
    model.encoder.load_state_dict(old.encoder.state_dict())
    model.rvq.load_state_dict(old.rvq.state_dict())
    model.set_stats(old.mel_mean, old.mel_std)
    if replace(old.cfg, decoder_post_blocks=cfg.decoder_post_blocks) == cfg and \
            cfg.decoder_post_blocks > old.cfg.decoder_post_blocks:
        was, now, head = list(old.decoder), list(model.decoder), 3              # head: GroupNorm, SiLU, Conv1d
        for a, b in zip(was[:-head] + was[-head:], now[:len(was) - head] + now[-head:]):
            b.load_state_dict(a.state_dict())
        with torch.no_grad():
            for block in now[len(was) - head:-head]:
                block.block[-1].weight.zero_()
                block.block[-1].bias.zero_()
    return model


def run(args) -> Path:
    from resgen.core.errors import UsageError
    if args.decoder_only and not args.init:
        raise UsageError("--decoder-only needs --init (the tokenizer whose decoder is fine-tuned)")
    shape = {k: v for k, v in (("decoder_channels", args.decoder_channels), ("decoder_blocks", args.decoder_blocks),
                               ("decoder_post_blocks", args.decoder_post_blocks)) if v is not None}
    if args.adversarial < 0:
        raise UsageError("--adversarial must be at least 0")
    if any(v < (k == "decoder_channels") for k, v in shape.items()):
        raise UsageError("--decoder-channels must be at least 1, --decoder-blocks and --decoder-post-blocks at least 0")
    init = _initial(Path(args.init)) if args.init else None            # checked before any heavy work
    if args.gta and (not args.decoder_only or args.synthetic):
        raise UsageError("--gta needs --init and --decoder-only (the model's codes must keep their meaning) and a "
                         "corpus (--data, not --synthetic)")
    if not 0 < args.gta_share <= 1:
        raise UsageError("--gta-share must be above 0 and at most 1")
    if args.context and (not args.decoder_only or args.context < 0 or args.context % init.cfg.downsample):
        raise UsageError("--context needs --init and --decoder-only, and a multiple of the tokenizer's downsampling")
    if init is not None and shape and not args.decoder_only:
        raise UsageError("a new decoder shape with --init needs --decoder-only (the codes must stay the same)")
    torch.manual_seed(args.seed)                                  # the initial weights
    if init is not None and shape:
        init = new_decoder(init, shape)
    cfg = init.cfg if init is not None else MelTokenizerConfig(
        channels=args.channels, downsample=args.downsample,
        rvq=RVQConfig(depth=args.depth, codebook_size=args.codebook_size, dim=args.code_dim), **shape)
    if args.crop % cfg.downsample:
        raise UsageError(f"--crop must be a multiple of --downsample ({cfg.downsample})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gta = None
    if args.synthetic:
        mels, offsets = synthetic_mels()
        voices = np.arange(len(offsets) - 1) % 4
    else:
        corpora = corpus_folders(args.data)
        for data in corpora:
            if not (data / "train.npz").exists():
                raise UsageError(f"no corpus at {data} (run `resgen data speech --out {data}` first)")
        if args.gta:                                     # checked before the corpus's mels are computed
            from resgen.speech.gta_codes import GtaRows
            gta = GtaRows(Path(args.gta), corpora, init)
        mels, offsets = pooled_mels(corpora, out)
        voices = pooled_voices(corpora) if args.context else None
    all_mels = torch.from_numpy(mels.astype(np.float32))                      # (80, T)
    starts, lengths = torch.from_numpy(offsets[:-1]), torch.from_numpy(np.diff(offsets))
    D, crop = cfg.rvq.depth, args.crop
    if args.context:
        by_voice, first, count = same_voice_rows(voices)
    if gta is not None:
        if int(gta.utterance.max()) >= len(lengths):
            raise UsageError(f"{args.gta} names utterances that --data does not have")

    def loss_fn(net, idx, gen):
        dev = gen.device
        b = len(idx)
        ends = lengths[idx]
        rows = use = None
        if gta is not None:                              # drawn only when asked: older recipes keep their stream
            use = (torch.rand(b, generator=gen, device=dev) < args.gta_share).cpu()
            rows = torch.randint(0, len(gta), (b,), generator=gen, device=dev).cpu()
            idx = torch.where(use, gta.utterance[rows], idx)
            ends = torch.where(use, torch.minimum(lengths[idx], gta.positions[rows] * cfg.downsample), lengths[idx])
        room = (ends - crop).clamp(min=0)
        off = (torch.rand(b, generator=gen, device=dev).cpu() * (room + 1)).long().clamp(max=room)
        given = None
        if gta is not None:
            off = torch.where(use, off // cfg.downsample * cfg.downsample, off)    # on the codes' position grid
            given = (torch.zeros(b, crop // cfg.downsample, D, dtype=torch.long),
                     torch.zeros(b, crop // cfg.downsample, dtype=torch.bool))
            for k in torch.nonzero(use)[:, 0].tolist():
                p0 = int(off[k]) // cfg.downsample
                c = gta.codes[int(rows[k])][p0: p0 + crop // cfg.downsample]
                c = c[: -(-(int(ends[k]) - int(off[k])) // cfg.downsample)]
                given[0][k, :len(c)], given[1][k, :len(c)] = c, True
            given = (given[0].to(dev), given[1].to(dev))
        batch = torch.full((b, 80, crop), LOG_FLOOR)
        for k, (i, o, e) in enumerate(zip(idx.tolist(), off.tolist(), ends.tolist())):
            seg = all_mels[:, starts[i] + o: starts[i] + min(e, o + crop)]
            batch[k, :, :seg.shape[1]] = seg
        x = batch.to(dev)
        drop = torch.rand(b, generator=gen, device=dev) < args.dropout_p
        keep = torch.where(drop, torch.randint(1, D + 1, (b,), generator=gen, device=dev), D)
        context = context_batch(idx, gen) if args.context else None
        rec, codes, commit, *critic = net(x, keep, args.decoder_only, given, context)
        core = net.module if hasattr(net, "module") else net
        err = (rec - x) / core.mel_std[:, None]
        mse, l1 = err.pow(2).mean(), err.abs().mean()
        out = {"loss": mse + l1 + 0.25 * commit, "l1": l1.detach(), "commit": commit.detach()}
        if critic:
            c = critic[0]
            out["loss"] = out["loss"] + c["critic"] + args.adversarial * (c["adv"] + 2 * c["fm"])
            out.update({k: v.detach() for k, v in c.items()})
        return out

    def context_batch(idx, gen):
        """(b, 80, C): a random crop of a random utterance of each one's voice (it may draw the same utterance),
        right-aligned, silence in front when the utterance is shorter than C."""
        dev, C = gen.device, args.context
        pick = (torch.rand(len(idx), generator=gen, device=dev).cpu() * count[idx]).long().clamp(max=count[idx] - 1)
        other = by_voice[first[idx] + pick]
        room = (lengths[other] - C).clamp(min=0)
        off = (torch.rand(len(idx), generator=gen, device=dev).cpu() * (room + 1)).long().clamp(max=room)
        out = torch.full((len(idx), 80, C), LOG_FLOOR)
        for k, (i, o) in enumerate(zip(other.tolist(), off.tolist())):
            seg = all_mels[:, starts[i] + o: starts[i] + min(int(lengths[i]), o + C)]
            out[k, :, C - seg.shape[1]:] = seg
        return out.to(dev)

    def export(model, step):
        sha = save_module(getattr(model, "tokenizer", model), out / "tokenizer.safetensors")
        (out / "tokenizer.json").write_text(dumps({"tokenizer": to_dict(cfg), "sha256": sha, "step": step}))

    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, ckpt_every=250, ema=0.0)
    if init is not None:
        model = init
        if args.decoder_only:
            model.encoder.requires_grad_(False)                   # the codebooks are buffers: never trained here
    else:
        model = MelTokenizer(cfg)
        model.set_stats(all_mels.mean(1), all_mels.std(1))        # per-band standardisation, saved with it
    if args.adversarial > 0:
        from resgen.train.mel_critic import CriticisedTokenizer, MelCritic
        model = CriticisedTokenizer(model, MelCritic())
    train(out, model, loss_fn, len(lengths), loop, on_checkpoint=export)
    return out
