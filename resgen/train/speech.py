"""Train the zero-shot TTS model on the espeak corpus:
`resgen train speech --data runs/speech-data --tokenizer runs/speech-tokenizer --out runs/speech`.

Each example: a target utterance and a prompt (a crop of up to --max-prompt positions of another
utterance of the same voice). The denoiser sees [prompt | target] with the target masked by the
ResGEN forward process and each target position tagged with its phoneme (from espeak's
durations); the text is dropped with probability --text-drop and, independently, the prompt's tokens are masked
with probability --prompt-drop, for classifier-free guidance on the text and on the voice. The
loss is the MoG loss on the masked target positions plus the duration predictor's squared error
on log(1 + frames). The run folder receives a model folder like assets/speech/.
"""
from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import replace
from pathlib import Path

import torch

from resgen.core.config import (DenoiserConfig, DurationConfig, MelTokenizerConfig, MoGConfig, RVQConfig, SamplerConfig,
                      SpeechModelConfig, dumps, from_dict, to_dict)
from resgen.core.denoiser import masked_tokens
from resgen.core.masking import masked_sigma, masked_target, residual_rms, sample_training_mask
from resgen.core.argtypes import ranged
from resgen.core.mog import MAX_SIGMA, loss as mog_loss, sample as mog_sample
from resgen.speech.model import NULL_TEXT, SpeechModel
from resgen.speech.tokenizer import MelTokenizer
from resgen.core.weights import ModelFileError, file_sha256, load_module, read_json, save_module
from resgen.train.grow import freeze_except, grows, load_grown
from resgen.train.loop import LoopConfig, train
from resgen.train.speech_corpus import Corpus, load_corpus, merge_corpora, synthetic_corpus, tokenize_corpus
from resgen.train.speech_tokenizer import corpus_folders


PROMPT_LAYOUTS = ("adjacent", "block")


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--data", default="runs/speech-data",
                   help="corpus folder from `resgen data speech`, or several as a comma list (for example the espeak "
                        "corpus and an aligned `resgen data speech-engines` corpus): their training splits are pooled, "
                        "phonemes in the first corpus's table")
    p.add_argument("--init", default=None,
                   help="start from this model's weights (a run or model folder with config.json and "
                        "model.safetensors of the same shape, or with fewer --layers: the new blocks start as the "
                        "identity): fine-tuning, for example on a new corpus")
    p.add_argument("--tokenizer", default="runs/speech-tokenizer", help="folder with tokenizer.json/.safetensors")
    p.add_argument("--tokens", default=None,
                   help="the corpus as tokens (default <out>/tokens_train.npz, made from --data on first use)")
    p.add_argument("--out", default="runs/speech", help="run folder; also receives the model files")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--width", type=int, default=192)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--components", type=int, default=64)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--sigma", type=ranged(MAX_SIGMA, lo_open=True), default=0.25,
                   help="MoG component std (normalised units)")
    p.add_argument("--sigma-power", type=ranged(2.0), default=0.0,
                   help="scale each position's std by (s_k / s_D)^this, s_k the rms of what its k masked depths sum "
                        "to: 1 = the same relative precision at every depth; 0 = one std (models before 2026-12-07)")
    p.add_argument("--cond-frames", type=int, default=4,
                   help="phoneme ids per token position: 4 = one per mel frame (every phoneme reaches the model), "
                        "1 = the centre frame's only (the first shipped model)")
    p.add_argument("--conv-kernel", type=int, default=5,
                   help="width of each block's depthwise convolution over neighbouring positions (odd; 0 = attention "
                        "only, the first shipped model)")
    p.add_argument("--text-drop", type=ranged(0.5), default=0.1, help="share of examples without text (CFG)")
    p.add_argument("--prompt-drop", type=ranged(0.5), default=0.0,
                   help="share of examples whose prompt tokens are all masked (guidance on the voice, "
                        "--speaker-cfg at sampling); 0: none, as the models shipped before 2026-12-06")
    p.add_argument("--voice-vector", action="store_true",
                   help="the prompt's mean token embedding also conditions every block (adaLN), a global voice vector "
                        "beside the in-context prompt; with --init from a model without one, it starts at zero")
    p.add_argument("--self-cond", type=ranged(1.0), default=0.0,
                   help="self-conditioning: this share of the examples also reads the network's own latent estimate "
                        "from a first pass (no gradient), as sampling reads the previous step's; 0: none (with --init "
                        "from a model without it, its input map starts at zero)")
    p.add_argument("--train-only", type=lambda s: [x for x in s.split(",") if x], default=None,
                   help="comma list of parameter-name globs to train, the rest frozen (e.g. 'denoiser.voice.*,*ada*')")
    p.add_argument("--max-prompt", type=int, default=64, help="prompt positions (4 mel frames each)")
    p.add_argument("--max-target", type=int, default=192, help="longer targets are cropped")
    p.add_argument("--prompt-layout", default="adjacent", choices=PROMPT_LAYOUTS,
                   help="adjacent: the target right after the prompt, as sampling lays it out; block: every target "
                        "at position --max-prompt, short prompts padded (the first shipped model)")
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--synthetic", action="store_true", help="a tiny random corpus and tokenizer (tests)")


def make_batch(corpus: Corpus, idx: torch.Tensor, gen: torch.Generator, max_prompt: int, max_target: int,
               prompt_id: int, layout: str = "adjacent"):
    """-> codes (B, N, D), cond (B, N) (or (B, N, F) for F phoneme ids per position), keep (B, N), target (B, N)
    bool, phonemes (B, P), durations (B, P), prompt keep (B, Np), Np (the longest prompt). All on the CPU; random
    choices through `gen`'s device-independent draws.

    layout "adjacent": each row's target starts right after its own prompt, as the sampler lays it out, padding at
    the end; "block" (the first shipped models): every target starts at Np, a shorter prompt padded before it."""
    if layout not in PROMPT_LAYOUTS:
        raise ValueError(f"unknown prompt layout {layout!r}; choose one of {', '.join(PROMPT_LAYOUTS)}")
    rows = []
    for i in idx.tolist():
        same = corpus.by_voice[int(corpus.voice[i])]
        u = torch.rand(2, generator=gen, device=gen.device).cpu()
        j = same[int(u[0] * len(same))] if len(same) > 1 else i
        if j == i and len(same) > 1:
            j = same[(same.index(i) + 1) % len(same)]
        pc = corpus.codes[j]
        start = int(u[1] * max(0, len(pc) - max_prompt + 1))
        prompt = pc[start:start + max_prompt]
        target, tpos = corpus.codes[i][:max_target], corpus.pos_phonemes[i][:max_target]
        rows.append((prompt, target, tpos, corpus.phonemes[i], corpus.durations[i]))
    B, D = len(rows), rows[0][0].shape[1]
    Np = max(len(r[0]) for r in rows)
    N = (max(len(r[0]) + len(r[1]) for r in rows) if layout == "adjacent" else Np + max(len(r[1]) for r in rows))
    P = max(len(r[3]) for r in rows)
    codes = torch.zeros(B, N, D, dtype=torch.long)
    cond = torch.zeros(B, N, *rows[0][2].shape[1:], dtype=torch.long)
    keep = torch.zeros(B, N, dtype=torch.bool)
    target = torch.zeros(B, N, dtype=torch.bool)
    pkeep = torch.zeros(B, Np, dtype=torch.bool)
    ph = torch.zeros(B, P, dtype=torch.long)
    du = torch.zeros(B, P, dtype=torch.long)
    for b, (prompt, tgt, tpos, p, d) in enumerate(rows):
        n_p, n_t = len(prompt), len(tgt)
        t0 = n_p if layout == "adjacent" else Np                # "block": prompt left-aligned in its block
        codes[b, :n_p], codes[b, t0:t0 + n_t] = prompt, tgt
        cond[b, :n_p] = prompt_id
        cond[b, t0:t0 + n_t] = tpos
        keep[b, :n_p] = True
        keep[b, t0:t0 + n_t] = True
        target[b, t0:t0 + n_t] = True
        pkeep[b, :n_p] = True
        ph[b, :len(p)], du[b, :len(d)] = p, d
    return codes, cond, keep, target, ph, du, pkeep, Np


def first_estimate(net, inputs: tuple, select: torch.Tensor, per_depth: torch.Tensor, hidden: torch.Tensor,
                   target: torch.Tensor, latent_scale: float, gen: torch.Generator, share: float) -> torch.Tensor:
    """Self-conditioning: for a `share` of the rows, the network's own estimate of each position's whole latent
    from a first pass without one (no gradient): the visible tokens' embeddings plus a component mean drawn from its
    mixture at the positions with hidden slots, as the sampler builds it (`latent_estimate` in resgen/core/sampler.py).
    inputs: the network's arguments before `select`; per_depth (B, N, D, E), hidden (B, N, D), target (B, N)
    -> prev (B, N, E), normalised; zeros in the other rows and outside the target (the sampler's prompt)."""
    B, N, _, E = per_depth.shape
    use = torch.rand(B, generator=gen, device=gen.device) < share
    prev = torch.zeros(B, N, E, device=per_depth.device)
    if not bool(use.any()):
        return prev
    with torch.no_grad():
        params, _ = net(*inputs, select)
        z, _ = mog_sample(params, gen)                                         # (1, M, E)
    prev[select] = z[0].to(prev.dtype)
    prev = prev + masked_target(per_depth, ~hidden & target[..., None]) / latent_scale     # the visible tokens
    return prev * use[:, None, None]


def hide_prompts(mask: torch.Tensor, prompt: torch.Tensor, drop: torch.Tensor) -> torch.Tensor:
    """The slots the network sees masked: mask (B, N, D), and every slot of the prompt positions (B, N) of the rows
    in drop (B,) bool (guidance on the voice: the network learns to speak without the prompt's tokens; the loss stays
    on the target's slots)."""
    return mask | (drop[:, None] & prompt)[..., None]


def run(args) -> Path:
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from resgen.core.errors import UsageError
    if args.synthetic:
        tok_cfg = MelTokenizerConfig(channels=16, rvq=RVQConfig(depth=3, codebook_size=8, dim=4))
        torch.manual_seed(args.seed)
        tokenizer = MelTokenizer(tok_cfg).eval()
        save_module(tokenizer, out / "tokenizer.safetensors")
        corpus = synthetic_corpus(tokenizer, per_position=args.cond_frames)
    else:
        tok_dir, data = Path(args.tokenizer), Path(args.data)
        if not (tok_dir / "tokenizer.json").exists():
            raise UsageError(f"no speech tokenizer at {tok_dir} (run `resgen train speech-tokenizer` first)")
        tok_cfg = from_dict(MelTokenizerConfig, read_json(tok_dir / "tokenizer.json")["tokenizer"])
        tokenizer = load_module(MelTokenizer(tok_cfg), tok_dir / "tokenizer.safetensors").eval()
        shutil.copy(tok_dir / "tokenizer.safetensors", out / "tokenizer.safetensors")
        corpora = corpus_folders(args.data)
        if args.tokens and len(corpora) > 1:
            raise UsageError("--tokens takes one corpus's tokens; give several corpora without it")
        parts = []
        for k, data in enumerate(corpora):
            tokens = Path(args.tokens) if args.tokens else out / (f"tokens_train_{k}.npz" if k else "tokens_train.npz")
            if not tokens.exists():
                if args.tokens:
                    raise UsageError(f"no tokens file {tokens}")
                if not (data / "corpus.json").exists():
                    raise UsageError(f"no corpus at {data} (run `resgen data speech --out {data}` first)")
                if json.loads((data / "corpus.json").read_text()).get("durations") == "none":
                    raise UsageError(f"{data} has no phoneme durations: align it first (`resgen data speech-engines "
                                     f"--out {data} --align-with RECOGNISER`)")
                mel_cache = tok_dir / "mels_train.npz"
                tokenize_corpus(data, tokenizer, tokens, mel_cache if mel_cache.exists() and not k else None)
            parts.append(load_corpus(tokens, tok_cfg.downsample, args.cond_frames))
        try:
            corpus = merge_corpora(parts) if len(parts) > 1 else parts[0]
        except ValueError as e:
            raise UsageError(str(e)) from None
    rvq = tokenizer.rvq
    D, V, E = tok_cfg.rvq.depth, tok_cfg.rvq.codebook_size, tok_cfg.rvq.dim
    with torch.no_grad():
        latent_scale = float(rvq.decode(torch.cat(corpus.codes[:500])[None]).std())
        rms = residual_rms(rvq.codebooks[torch.arange(D), torch.cat(corpus.codes[:500])]) / latent_scale   # (D,)
    symbols = len(corpus.symbols)
    cfg = SpeechModelConfig(
        symbols=symbols,
        denoiser=DenoiserConfig(positions=args.max_prompt + args.max_target, depth=D, codebook_size=V, code_dim=E,
                                width=args.width, layers=args.layers, heads=args.heads, num_classes=1,
                                cond_vocab=symbols + 1, cond_frames=args.cond_frames,
                                conv_kernel=args.conv_kernel, voice_cond=symbols if args.voice_vector else -1,
                                self_cond=args.self_cond > 0,
                                mog=MoGConfig(args.components, args.rank, args.sigma, args.sigma_power)),
        durations=DurationConfig(), frames_per_position=tok_cfg.downsample, max_prompt=args.max_prompt)
    codebooks = rvq.codebooks.clone()

    def loss_fn(net, idx, gen):
        dev = gen.device
        codes, cond, keep, target, ph, du, pkeep, Np = (t.to(dev) if torch.is_tensor(t) else t for t in
                                                        make_batch(corpus, idx, gen, args.max_prompt,
                                                                   args.max_target, cfg.prompt_id,
                                                                   args.prompt_layout))
        B, N, _ = codes.shape
        drop = torch.rand(B, generator=gen, device=dev) < args.text_drop
        dropped = drop[:, None] & target
        cond = torch.where(dropped if cond.dim() == 2 else dropped[..., None], NULL_TEXT, cond)
        mask = sample_training_mask(B, N, D, gen) & target[..., None]          # only target slots
        per_depth = codebooks.to(dev)[torch.arange(D, device=dev), codes]     # (B, N, D, E)
        z = masked_target(per_depth, mask) / latent_scale
        prompt_latent = per_depth[:, :Np].sum(2) / latent_scale                # (B, Np, E)
        select = mask.any(-1)                                                  # (B, N) positions with masked slots
        hidden = mask
        if args.prompt_drop > 0:                       # drawn only when asked: older recipes keep their stream
            hidden = hide_prompts(mask, keep & ~target, torch.rand(B, generator=gen, device=dev) < args.prompt_drop)
        inputs = (masked_tokens(codes, hidden, V), cond, keep, ph, prompt_latent, pkeep)
        prev = (first_estimate(net, inputs, select, per_depth, hidden, target, latent_scale, gen, args.self_cond)
                if args.self_cond > 0 else None)
        params, pred = net(*inputs, select, prev)
        z_sel = z[select][None]                                                # (1, M, E)
        sigma = masked_sigma(mask[select][None], rms.to(dev), args.sigma, args.sigma_power)    # (1, M)
        l_mog = mog_loss(params, z_sel, torch.ones(z_sel.shape[:2], device=dev), sigma)
        valid = (ph != 0).float()
        l_dur = ((pred - torch.log1p(du.float())) ** 2 * valid).sum() / valid.sum()
        return {"loss": l_mog + l_dur, "mog": l_mog.detach(), "dur": l_dur.detach()}

    def export(model, step):
        sha = save_module(model, out / "model.safetensors")
        (out / "config.json").write_text(dumps({
            "task": "speech",
            "symbols": corpus.symbols,
            "latent_scale": latent_scale,
            "tokenizer": to_dict(tok_cfg),
            "model": to_dict(cfg),
            "sampler": {**to_dict(SamplerConfig()), "cfg": 2.0, "top_p": 1.0},
            "files": {"tokenizer.safetensors": file_sha256(out / "tokenizer.safetensors"), "model.safetensors": sha},
            "trained_steps": step,
            "prompt_drop": args.prompt_drop,              # > 0: the model takes guidance on the voice (speaker_cfg)
        }))

    loop = LoopConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed, stop_at=args.stop_at,
                      threads=args.threads, ema=args.ema, weight_decay=0.01, ckpt_every=250)
    torch.manual_seed(args.seed)
    model = SpeechModel(cfg)
    if args.init:
        init = Path(args.init)
        try:
            init_cfg = from_dict(SpeechModelConfig, read_json(init / "config.json")["model"])
            if grows(init_cfg, cfg):       # more --layers, a voice vector, self-conditioning: new parts start inert
                load_grown(model, init / "model.safetensors", init_cfg.denoiser.layers)
            elif replace(init_cfg, denoiser=replace(init_cfg.denoiser, mog=cfg.denoiser.mog)) != cfg:
                raise ValueError("its configuration differs from this run's (width, heads, symbols, ...; only "
                                 "--layers may grow, --voice-vector and --self-cond be added and the loss's --sigma "
                                 "change)")
            else:
                load_module(model, init / "model.safetensors")
        except (OSError, KeyError, ValueError, ModelFileError) as e:
            raise UsageError(f"cannot start from {init}: {e}") from None
    if args.train_only:
        try:
            print(f"training {freeze_except(model, args.train_only):,} parameters; the rest frozen")
        except ValueError as e:
            raise UsageError(str(e)) from None
    train(out, model, loss_fn, len(corpus), loop, on_checkpoint=export)
    return out
