"""Does the speech denoiser see at sampling the inputs it was trained on? One call, teacher-forced.

For each utterance of a tokens file (`resgen train speech` writes <run>/tokens_train.npz), the target's true
tokens are masked by one of three patterns at a given share f of masked slots, the prompt (the first
--max-prompt positions of another utterance of the same voice) is laid out as the sampler lays it out, and
the denoiser is called once. On the masked positions it reports the exact MoG negative log-likelihood of the
true masked sum (per latent dimension), and how often the most likely component's mean, re-quantised from the
first masked depth, gives back the true code there ("first-depth acc"; "depth-1 acc": the same over the positions
whose depth 1 is masked, where the coarse content is decided).

Patterns:
- spread: training's forward process (n = f * Nt * D slots spread uniformly, masked top-down);
- whole: whole positions masked (all D depths), the rest fully known;
- depth-1 known: a share f of positions fully masked, the others with depth 1 known (what a breadth-first
  sampler visits, without its choice of the easiest positions first): does the known coarse content of the
  neighbours help the model place a position's own?
- by masked depths: the spread masks' positions grouped by how many depths k they have masked, with the size of
  the true masked sum against the error of the mixture's mean, of its most likely component's mean and of the
  component nearest the truth (is a fine residual predicted at all, and does the mixture cover it?);
- sampler: the masks the real sampler (shipped settings) visits at its steps, with true tokens in the
  revealed slots; reported per step. Also prints how the sampler reveals: positions fully masked, partly
  masked and fully known after each step.

    python benchmarks/quality/speech_mask_probe.py --model runs/overfit --tokens runs/overfit/tokens_train.npz
"""
from __future__ import annotations

import argparse
import math
import platform
from pathlib import Path

import torch

from resgen.core.masking import mask_from_counts, sample_counts
from resgen.core.mog import log_prob
from resgen.core.sampler import SamplerState, make_plan, run
from resgen.speech.model import NULL_TEXT
from resgen.speech.pipeline import SpeechPipeline
from resgen.train.speech_corpus import load_corpus


def layout(pipe, corpus, i: int, max_prompt: int, padded: bool, other_voice: bool = False):
    """-> codes (1, N, D), cond (1, N[, F]), keep (1, N) or None, target (N,) bool for utterance i, prompted by the
    next utterance of its voice (or of the next voice, other_voice)."""
    same = corpus.by_voice[int(corpus.voice[i])]
    j = same[(same.index(i) + 1) % len(same)]
    if other_voice:
        voices = sorted(corpus.by_voice)
        j = corpus.by_voice[voices[(voices.index(int(corpus.voice[i])) + 1) % len(voices)]][0]
    prompt, tgt, tpos = corpus.codes[j][:max_prompt], corpus.codes[i], corpus.pos_phonemes[i]
    Np = max_prompt if padded else len(prompt)
    N, D = Np + len(tgt), tgt.shape[1]
    codes = torch.zeros(1, N, D, dtype=torch.long)
    codes[0, :len(prompt)], codes[0, Np:] = prompt, tgt
    cond = torch.zeros(1, N, *tpos.shape[1:], dtype=torch.long)
    cond[0, :len(prompt)] = pipe.cfg.prompt_id
    cond[0, Np:] = tpos
    keep = torch.ones(1, N, dtype=torch.bool)
    keep[0, len(prompt):Np] = False
    target = torch.zeros(N, dtype=torch.bool)
    target[Np:] = True
    return codes, cond, (keep if padded else None), target


def spread_mask(target, D, f, gen):
    Nt = int(target.sum())
    n = torch.tensor([max(1, math.ceil(f * Nt * D))])
    k = torch.zeros(1, len(target), dtype=torch.long)
    k[0, target] = sample_counts(n, Nt, D, gen)[0]
    return mask_from_counts(k, D)


def whole_mask(target, D, f, gen):
    idx = target.nonzero()[:, 0]
    n = max(1, round(f * len(idx)))
    pick = idx[torch.randperm(len(idx), generator=gen)[:n]]
    m = torch.zeros(1, len(target), D, dtype=torch.bool)
    m[0, pick] = True
    return m


def depth1_mask(target, D, f, gen):
    """The states of a breadth-first sampler, drawn at random: a share f of the positions fully masked, the others
    with their depth 1 known and depths 2..D masked."""
    m = whole_mask(target, D, f, gen)
    m[0, target, 1:] = True
    return m


@torch.no_grad()
def score(pipe, codes, cond, keep, mask):
    """-> (sum NLL per dim, n positions, first-depth hits, positions with depth 1 masked, their depth-1 hits) over the
    positions with masked slots."""
    rvq, D = pipe.tokenizer.rvq, codes.shape[-1]
    V = pipe.tok_cfg.rvq.codebook_size
    out = pipe.model.denoise(torch.where(mask, V, codes), cond, keep)
    per_depth = rvq.embed_per_depth(codes)
    z = (per_depth * mask[..., None]).sum(2) / pipe.latent_scale              # (1, N, E)
    sel = mask.any(-1)[0]
    E = z.shape[-1]
    nll = -log_prob(out, z, pipe.cfg.denoiser.mog.sigma)[0, sel] / E
    best = out.means[0, sel].gather(1, out.logits[0, sel].argmax(-1)[:, None, None].expand(-1, 1, E))[:, 0]
    k = mask[0, sel].sum(-1)
    pred, _ = rvq.quantise_from(best[None] * pipe.latent_scale, (D - k)[None], 1.0)
    first = D - k
    hit = pred[0].gather(1, first[:, None])[:, 0] == codes[0, sel].gather(1, first[:, None])[:, 0]
    full = k == D
    zs, mu = z[0, sel], out.means[0, sel]                                        # (M, E), (M, K, E)
    mean = (torch.softmax(out.logits[0, sel].float(), -1)[..., None] * mu).sum(1)   # the mixture's mean (M, E)
    errs = [(zs - x).pow(2).sum(-1) for x in (mean, best)] + [(zs[:, None] - mu).pow(2).sum(-1).min(-1).values]
    size = zs.pow(2).sum(-1)
    by_k = {int(j): [float(size[k == j].sum())] + [float(e[k == j].sum()) for e in errs]
            + [int((k == j).sum()), int(hit[k == j].sum())] for j in k.unique()}
    return float(nll.sum()), int(sel.sum()), int(hit.sum()), int(full.sum()), int(hit[full].sum()), by_k


def sampler_masks(pipe, codes, cond, target, steps: int, seed: int):
    """The masks after each step of a real sampling run (its own predictions) -> list of (1, N, D)."""
    D = codes.shape[-1]
    mask = torch.zeros_like(codes, dtype=torch.bool)
    mask[0, target] = True
    start = SamplerState(torch.where(mask, 0, codes), mask, 0)
    null = cond.clone()
    null[0, target] = NULL_TEXT
    d = pipe.defaults
    plan = make_plan(steps, int(target.sum()), D, cfg=d.cfg, temperature=d.temperature, top_p=d.top_p,
                     sigma=pipe.cfg.denoiser.mog.sigma, latent_scale=pipe.latent_scale, schedule=d.schedule,
                     mog_noise=d.mog_noise, cfg_schedule=d.cfg_schedule, code_temperature=d.code_temperature,
                     pi_temperature=d.pi_temperature)
    gen = torch.Generator().manual_seed(seed)
    out = [mask]
    for state, _ in run(pipe.predict, plan, pipe.tokenizer.rvq, start, cond, null, pipe.tok_cfg.rvq.codebook_size,
                        gen):
        out.append(state.mask)
    return out[:-1]                                      # the inputs of the T calls


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="speech model folder")
    p.add_argument("--tokens", required=True, help="tokens_train.npz of `resgen train speech`")
    p.add_argument("--utterances", type=int, default=40)
    p.add_argument("--every", type=int, default=1,
                   help="take every n-th utterance of the file (spread over its voices; 1 = the first ones)")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--padded", action="store_true", help="prompt padded to --max-prompt positions, as in training")
    p.add_argument("--other-voice", action="store_true",
                   help="prompt each utterance with another voice's (how much of each score the voice's prompt gives)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    pipe = SpeechPipeline(a.model, backend="torch")
    corpus = load_corpus(Path(a.tokens), pipe.tok_cfg.downsample, pipe.cfg.denoiser.cond_frames)
    D, Pm = pipe.tok_cfg.rvq.depth, pipe.cfg.max_prompt
    picks = list(range(0, len(corpus), max(1, a.every)))[:a.utterances]
    n = len(picks)
    gen = torch.Generator().manual_seed(a.seed)
    print(f"# mask probe: {a.model}, {n} utterances of {a.tokens} (every {a.every}), prompt "
          f"{'padded' if a.padded else 'adjacent'}"
          f"{' from another voice' if a.other_voice else ''};"
          f" torch {torch.__version__}, {platform.processor() or platform.machine()}")
    rows: dict[tuple, list] = {}
    reveal: dict[int, list] = {}
    by_k: dict[int, list] = {}
    for i in picks:
        codes, cond, keep, target = layout(pipe, corpus, i, Pm, a.padded, a.other_voice)
        for f in (1.0, 0.75, 0.5, 0.25, 0.1):
            for name, make in (("spread", spread_mask), ("whole", whole_mask), ("depth-1 known", depth1_mask)):
                r = score(pipe, codes, cond, keep, make(target, D, f, gen))
                acc = rows.setdefault((name, f), [0.0, 0, 0, 0.0, 0, 0])
                for q in range(3):
                    acc[q] += r[q]
                acc[4] += r[3]; acc[5] += r[4]
                if name == "spread":
                    for j, v in r[5].items():
                        kk = by_k.setdefault(j, [0.0, 0.0, 0.0, 0.0, 0, 0])
                        for q in range(6):
                            kk[q] += v[q]
        for t, m in enumerate(sampler_masks(pipe, codes, cond, target, a.steps, a.seed + i)):
            r = score(pipe, codes, cond, keep, m)
            f = float(m[0, target].float().mean())
            acc = rows.setdefault(("sampler", t), [0.0, 0, 0, 0.0, 0, 0])
            for q in range(3):
                acc[q] += r[q]
            acc[3] += f / n; acc[4] += r[3]; acc[5] += r[4]
            k = m[0, target].sum(-1)
            st = reveal.setdefault(t, [0, 0, 0])
            st[0] += int((k == D).sum()); st[1] += int(((k > 0) & (k < D)).sum()); st[2] += int((k == 0).sum())
    print("| pattern | masked share | positions | NLL / dim | first-depth acc | depth-1 acc (depth 1 masked) |")
    print("|---|---|---|---|---|---|")
    for (name, key), v in rows.items():
        share = f"{v[3]:.3f} (step {key + 1})" if name == "sampler" else f"{key:.2f}"
        d1 = f"{v[5] / v[4]:.3f} ({v[4]})" if v[4] else "-"
        print(f"| {name} | {share} | {v[1]} | {v[0] / max(v[1], 1):.3f} | {v[2] / max(v[1], 1):.3f} | {d1} |")
    E = pipe.tokenizer.rvq.codebooks.shape[-1]
    print("\nBy masked depths k (spread masks, all shares): the true masked sum's rms per dimension, and the rms error"
          " of three predictions relative to it (1 = no better than zero): the mixture's mean, the most likely"
          " component's mean, the component nearest the truth; first-masked-depth accuracy of the most likely")
    print("| k masked | positions | rms of the masked sum | mixture mean | most likely | nearest | first-depth acc |")
    print("|---|---|---|---|---|---|---|")
    for j in sorted(by_k):
        size, e_mean, e_best, e_near, m, hit = by_k[j]
        rel = " | ".join(f"{math.sqrt(e / max(size, 1e-12)):.3f}" for e in (e_mean, e_best, e_near))
        print(f"| {j} | {m} | {math.sqrt(size / (m * E)):.4f} | {rel} | {hit / m:.3f} |")
    print("\n| step input | fully masked | partly masked | fully known |")
    print("|---|---|---|---|")
    for t, (a0, a1, a2) in reveal.items():
        tot = a0 + a1 + a2
        print(f"| {t + 1} | {a0 / tot:.3f} | {a1 / tot:.3f} | {a2 / tot:.3f} |")


if __name__ == "__main__":
    main()
