"""The speech model's own codes for training recordings, aligned to them frame by frame (ground-truth-aligned, as
Tacotron 2 fine-tuned its WaveNet on GTA mels): `resgen data speech-gta --model M --data A,B --out DIR`.

The tokenizer's decoder learnt to turn the codes its encoder makes into mels. The TTS model makes codes that the
encoder never would (a fine depth that does not quite fit its coarse one, a voice a little off), and the decoder
meets those only at sampling. For each picked training utterance u the model speaks u's phonemes with u's own
durations (the recording's alignment, so the codes line up with u's mel), from a prompt that is another utterance of
u's voice, with the model's sampler defaults. `resgen train speech-tokenizer --init M --decoder-only --gta DIR` then
teaches the decoder to turn those codes into u's recorded mel.

Layout of DIR:
  gta.npz    codes (sum of Nt, D) int16; offsets (U+1,); utterance (U,): each row's index among the pooled training
             utterances of the --data list, in order (the order of `pooled_mels` in resgen/train/speech_tokenizer.py)
  gta.json   the model, its codebooks' hash, the data folders, the sampler settings, the seed, the picks done
The command is resumable: the files are rewritten every --save-every utterances and the same command continues.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from resgen.speech.gta_codes import codebook_hash, load

MIN_PROMPT_S = 1.5


def pick_utterances(n_utts: int, k: int, seed: int) -> list[int]:
    """k distinct utterance indices of a corpus of n_utts, deterministic in seed (all of them when k >= n_utts)."""
    return np.random.default_rng(seed).permutation(n_utts)[: min(k, n_utts)].tolist()


def pick_prompt(split, i: int, seed: int) -> int | None:
    """Another utterance of i's voice of at least MIN_PROMPT_S (the longest when none is), or None."""
    same = [u for u in np.nonzero(split.voice == split.voice[i])[0].tolist() if u != i]
    if not same:
        return None
    long_enough = [u for u in same if len(split.audio[u]) >= MIN_PROMPT_S * split.sample_rate]
    pool = long_enough or [max(same, key=lambda u: len(split.audio[u]))]
    return pool[int(np.random.default_rng([seed, i]).integers(len(pool)))]


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--model", default=None, help="the speech model whose codes are made (default: assets/speech)")
    p.add_argument("--data", required=True, help="training corpora, a comma list (the decoder's --data, same order)")
    p.add_argument("--out", required=True, help="folder for gta.npz and gta.json")
    p.add_argument("--per-corpus", type=int, default=1000, help="training utterances picked from each corpus")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-every", type=int, default=100, help="rewrite the files after this many utterances")
    p.add_argument("--threads", type=int, default=0)


def _save(out: Path, meta: dict, codes: list[np.ndarray], utts: list[int]) -> None:
    D = meta["depth"]
    flat = np.concatenate(codes) if codes else np.zeros((0, D), np.int16)
    np.savez(out / "gta.tmp.npz", codes=flat, offsets=np.cumsum([0] + [len(c) for c in codes]),
             utterance=np.array(utts, np.int64))
    (out / "gta.tmp.npz").replace(out / "gta.npz")
    (out / "gta.json").write_text(json.dumps({**meta, "done": len(utts)}, indent=2))


def run(args) -> Path:
    from tqdm import tqdm

    import resgen
    from resgen.core.errors import UsageError
    from resgen.eval.speech_data import CorpusSplit
    from resgen.speech.aligned import aligned_codes
    from resgen.speech.audio import AudioError
    from resgen.train.speech_tokenizer import corpus_folders
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.per_corpus < 1 or args.save_every < 1:
        raise UsageError("--per-corpus and --save-every must be at least 1")
    corpora = corpus_folders(args.data)
    for data in corpora:
        if not (data / "train.npz").exists():
            raise UsageError(f"no corpus at {data} (run `resgen data speech --out {data}` first)")
    pipe = resgen.load("speech", backend="torch", model_dir=args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"model": str(pipe.model_dir), "codebooks_sha256": codebook_hash(pipe.tokenizer),
            "data": [str(d) for d in corpora], "per_corpus": args.per_corpus, "seed": args.seed,
            "depth": pipe.tok_cfg.rvq.depth, "settings": pipe.sampling_settings(None, None, None, None, 0, 1.0)}
    codes: list[np.ndarray] = []
    utts: list[int] = []
    if (out / "gta.json").exists():
        old, codes, utts = load(out)
        if {k: old.get(k) for k in meta if k != "settings"} != {k: meta[k] for k in meta if k != "settings"}:
            raise UsageError(f"{out} holds codes made with other settings (model, data, seed or count); "
                             "choose another --out")
    done, shift, total, plans = len(utts), 0, 0, []
    for k, data in enumerate(corpora):
        n = len(np.load(data / "train.npz")["audio_offsets"]) - 1
        plans.append((data, shift, pick_utterances(n, args.per_corpus, args.seed + k)))
        total += len(plans[-1][2])
        shift += n
    bar = tqdm(total=total, initial=done, desc="model codes", dynamic_ncols=True, mininterval=5.0)
    row = 0
    for data, shift, picks in plans:
        if row + len(picks) <= done:
            row += len(picks)
            continue
        split = CorpusSplit(data, "train")
        if not split.durations:
            raise UsageError(f"{data} has no phoneme durations (engine corpora: build them with --align-with)")
        for i in picks:
            row += 1
            if row <= done:
                continue
            j = pick_prompt(split, i, args.seed)
            c = None
            if j is not None and all(p in pipe.symbols for p in split.phonemes[i]):
                try:
                    c = aligned_codes(pipe, split.phonemes[i], torch.from_numpy(split.durations[i]), split.audio[j],
                                      split.sample_rate, seed=args.seed + row)
                except (AudioError, ValueError):      # a prompt the pipeline refuses (too little sound, ...)
                    c = None
            # a voice with one utterance, unknown symbols or a refused prompt: the row is kept empty, skipped
            codes.append(np.zeros((0, meta["depth"]), np.int16) if c is None else c.cpu().numpy().astype(np.int16))
            utts.append(-1 if c is None else shift + i)
            bar.update(1)
            if len(utts) % args.save_every == 0:
                _save(out, meta, codes, utts)
    bar.close()
    _save(out, meta, codes, utts)
    kept = sum(u >= 0 for u in utts)
    print(f"wrote {out}: the model's codes for {kept} training utterances ({len(utts) - kept} skipped)")
    return out
