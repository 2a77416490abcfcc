"""A corpus of realistic voices from the engines beside espeak-ng (Kokoro-82M, flite, Festival, Pico, Piper), in the
layout of `resgen data speech` (train.npz, val.npz, heldout.npz, corpus.json), so every trainer and `resgen eval
speech` read it.

    resgen data speech-engines --out runs/speech-engines [--per-voice 24] [--blends 20] [--workers 2]
    resgen data speech-engines --out runs/speech-engines2 --engines festival,pico,piper --blends 0 --per-voice 60

Voices. Kokoro's English voices and its other-language voices reading English (accented speakers), new speakers
blended from two training styles; flite's and Festival's Debian voices; Pico's two; Piper's joe. Each voice speaks
at its own rate. The independent check's voices (`engines.RESERVED`) are never used. `HELDOUT` voices (and the
blends of held-out styles) speak only held-out sentences and are never trained on; `VAL` voices choose settings
(flite's and Festival's kal both: one speaker). Sentences: the espeak corpus's split of the Debian fortunes (the same
held-out pool, so no held-out sentence is trained on in any corpus).

Durations. Only espeak reports phoneme events. These utterances get their phoneme durations from the forced aligner
(`resgen.eval.align.align_corpus`) when `--align-with RECOGNISER` is given; without it corpus.json says "durations": "none"
(enough to train the recogniser, which needs none) and the TTS trainer refuses the corpus.

Synthesis is resumable: each voice's utterances go to parts/<split>_<k>.npz as they are made, and a rerun skips the
voices already done.
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

HELDOUT = ("kokoro:af_nicole", "kokoro:am_onyx", "kokoro:bf_alice", "kokoro:bm_lewis", "kokoro:if_sara",
           "kokoro:pm_alex", "flite:rms")
VAL = ("kokoro:af_kore", "kokoro:am_echo", "kokoro:zf_xiaoyi", "flite:kal", "festival:kal_diphone")
RATE = 22050
CORPUS_ENGINES = ("kokoro", "flite", "festival", "pico", "piper")      # espeak's voices: resgen data speech


@dataclass(frozen=True)
class EngineCorpusConfig:
    engines: tuple[str, ...] = ("kokoro", "flite")
    per_voice: int = 24               # utterances of each training voice
    per_heldout_voice: int = 12
    per_val_voice: int = 8
    blends: int = 20                  # new Kokoro speakers, each a blend of two training styles
    heldout_blends: int = 3           # blends of two held-out styles (held out too)
    heldout_sentences: int = 400      # as the espeak corpus: the same held-out pool
    seed: int = 0
    transforms: int = 24              # new training speakers: a training voice through a VoiceTransform
    heldout_transforms: int = 2       # the same from held-out voices (held out too)


def plan_voices(cfg: EngineCorpusConfig, available: dict) -> dict[str, list]:
    """available: {engine name: [EngineVoice]} -> {"train"|"val"|"heldout": [EngineVoice with params]}; reserved
    voices dropped; deterministic in cfg.seed."""
    from resgen.speech.engines import EngineVoice
    rng = random.Random(cfg.seed)
    out = {"train": [], "val": [], "heldout": []}
    for name in cfg.engines:
        for v in available.get(name, []):
            if v.reserved:
                continue
            split = "heldout" if v.key in HELDOUT else "val" if v.key in VAL else "train"
            out[split].append(v)
    for split, n in (("train", cfg.blends), ("heldout", cfg.heldout_blends)):
        pool = [v for v in out[split] if v.engine == "kokoro"]
        seen = set()
        while len(pool) >= 2 and len(seen) < n:
            a, b = rng.sample(pool, 2)
            w = rng.choice((0.3, 0.4, 0.5, 0.6, 0.7))
            key = tuple(sorted((a.name, b.name)))
            if key in seen:
                continue
            seen.add(key)
            out[split].append(EngineVoice("kokoro", f"{a.name}+{b.name}@{w:g}", a.licence, "neural-blend"))
    for split in out:                 # each voice its own speaking rate, in its engine's own control
        out[split] = [EngineVoice(v.engine, v.name, v.licence, v.kind, _rate(v.engine, rng)) for v in out[split]]
    return out


def _rate(engine: str, rng: random.Random) -> dict:
    """One draw from rng: the engine's speaking-rate setting (Kokoro and Pico speed; Piper length scale; flite and
    Festival duration stretch), 15% slower to 15% faster."""
    if engine in ("kokoro", "pico"):
        return {"speed": round(rng.uniform(0.85, 1.15), 2)}
    if engine == "piper":
        return {"length_scale": round(rng.uniform(0.9, 1.15), 2)}
    return {"duration_stretch": round(rng.uniform(0.9, 1.15), 2)}


def plan_transforms(cfg: EngineCorpusConfig, plan: dict[str, list]) -> dict[str, list[tuple[int, object]]]:
    """{"train"|"heldout": [(index of the source voice in plan[split], VoiceTransform)]}: a warp away from 1 (6-14%
    up or down) and, for three in four, a channel; deterministic in cfg.seed; sources cycle through the voices."""
    from resgen.speech.transforms import CHANNELS, VoiceTransform
    rng = random.Random(cfg.seed + 11)
    out = {}
    for split, n in (("train", cfg.transforms), ("heldout", cfg.heldout_transforms)):
        order = rng.sample(range(len(plan[split])), len(plan[split])) if plan[split] else []
        out[split] = [(order[k % len(order)],
                       VoiceTransform(round(1 + rng.choice((-1, 1)) * rng.uniform(0.06, 0.14), 3),
                                      rng.choice(CHANNELS[1:]) if rng.random() < 0.75 else "none",
                                      round(rng.uniform(0.3, 0.8), 2)))
                      for k in range(n if order else 0)]
    return out


def sentence_pools(cfg: EngineCorpusConfig, sentences: list[str]) -> tuple[list[str], list[str]]:
    """(training sentences, held-out pool): the espeak corpus's split for the same seed and pool size."""
    order = random.Random(cfg.seed).sample(sentences, len(sentences))
    return order[cfg.heldout_sentences:], order[:cfg.heldout_sentences]


def accent_of(v) -> str:
    """The corpus accent of a voice (an espeak accent, as the TTS pipeline takes): the British voices (Kokoro's b*,
    Pico's en-GB) "en" (phonemised as en-gb), every other "en-us"."""
    first = v.name.split("+")[0]
    british = (v.engine == "kokoro" and first.startswith("b")) or (v.engine == "pico" and first == "en-GB")
    return "en" if british else "en-us"


def _speak_voice(job) -> str:
    """One voice's utterances -> parts/<split>_<k>.npz (run in a worker process, one thread)."""
    part, voice, texts, threads = job
    from resgen.speech.audio import resample
    from resgen.speech.corpus import Phonemizer
    from resgen.speech.engines import get_engine
    engine = _kokoro(threads) if voice.engine == "kokoro" else get_engine(voice.engine, **(
        {"seed": _seed(voice)} if voice.engine == "piper" else {}))     # a fresh Piper per voice: its noise repeats
    phon = Phonemizer()(texts, accent_of(voice))
    audio, keep = [], []
    for text, ph in zip(texts, phon):
        a, rate = engine.synth(text, voice)
        a = resample(a, rate, RATE) if rate != RATE else a
        n = len(a) // 256 * 256
        if n < 256 * 8 or not ph:
            continue
        audio.append(np.clip(a[:n] * 32768, -32768, 32767).astype(np.int16))
        keep.append((text, ph))
    np.savez(part, audio=np.concatenate(audio) if audio else np.zeros(0, np.int16),
             lengths=np.array([len(a) for a in audio], np.int64),
             meta=np.array(json.dumps({"voice": asdict(voice), "texts": [t for t, _ in keep],
                                       "phonemes": [p for _, p in keep]})))
    return str(part)


_KOKORO = None


def _seed(voice) -> int:
    import zlib
    return zlib.crc32(voice.key.encode())


def _kokoro(threads: int):
    global _KOKORO
    if _KOKORO is None:
        from resgen.speech.engines.kokoro import KokoroEngine
        _KOKORO = KokoroEngine(threads=threads)
    return _KOKORO


def build(out: Path, cfg: EngineCorpusConfig = EngineCorpusConfig(), workers: int = 1, threads: int = 1,
          sentences: list[str] | None = None, available: dict | None = None) -> dict:
    """Synthesise (resuming) and assemble the corpus in `out`; returns the summary written to corpus.json.
    available: {engine: [EngineVoice]} (default: every installed engine's voices)."""
    from tqdm import tqdm

    from resgen.speech.corpus import PAD, SIL, fortunes_sentences, save_split
    from resgen.speech.engines import get_engine
    if available is None:
        available = {e: (_kokoro(threads) if e == "kokoro" else get_engine(e)).voices() for e in cfg.engines}
    sentences = sentences if sentences is not None else fortunes_sentences()
    train_s, held_s = sentence_pools(cfg, sentences)
    plan = plan_voices(cfg, available)
    rng = random.Random(cfg.seed + 3)
    shuffled = rng.sample(held_s, len(held_s))
    held_texts, val_pool = shuffled[:len(held_s) // 2], shuffled[len(held_s) // 2:]   # held-out voices | validation
    per = {"train": (train_s, cfg.per_voice), "heldout": (held_texts, cfg.per_heldout_voice),
           "val": (val_pool, cfg.per_val_voice)}
    (out / "parts").mkdir(parents=True, exist_ok=True)
    jobs = []
    for split in ("train", "heldout", "val"):
        pool, n = per[split]
        for k, v in enumerate(plan[split]):
            texts = random.Random(f"{cfg.seed}/{split}/{v.key}").sample(pool, min(n, len(pool)))
            part = out / "parts" / f"{split}_{k:03d}.npz"
            if not part.exists():
                jobs.append((part, v, texts, threads))
    bar = tqdm(total=len(jobs), desc="voices", dynamic_ncols=True)
    if workers > 1 and jobs:
        import multiprocessing as mp
        with mp.get_context("spawn").Pool(workers) as pool:
            for _ in pool.imap_unordered(_speak_voice, jobs):
                bar.update(1)
    else:
        for job in jobs:
            _speak_voice(job)
            bar.update(1)
    bar.close()
    utts, voices, first_id = {"train": [], "heldout": [], "val": []}, [], {}
    transforms = plan_transforms(cfg, plan)
    for split in ("train", "heldout", "val"):          # voice ids: train (+ derived), held-out (+ derived), val
        first_id[split] = len(voices)
        for k, v in enumerate(plan[split]):
            f = np.load(out / "parts" / f"{split}_{k:03d}.npz")
            meta = json.loads(str(f["meta"]))
            offs = np.concatenate([[0], np.cumsum(f["lengths"])])
            vid = len(voices)
            voices.append({**meta["voice"], "key": v.key, "split": split, "accent": accent_of(v)})
            for i, (text, ph) in enumerate(zip(meta["texts"], meta["phonemes"])):
                a = f["audio"][offs[i]:offs[i + 1]]
                seq = [SIL] + ph + [SIL]
                utts[split].append((vid, text, seq, [0] * len(seq), a))
        for k, (src, tf) in enumerate(transforms.get(split, [])):         # derived speakers: same words and timing
            source = voices[first_id[split] + src]
            vid = len(voices)
            tag = f"t{k}-{tf.name}"                             # k keeps two draws of one transform apart
            voices.append({**source, "name": f"{source['name']}~{tag}", "key": f"{source['key']}~{tag}",
                           "kind": "transformed", "transform": asdict(tf), "source": source["key"]})
            for u in [u for u in utts[split] if u[0] == first_id[split] + src]:
                a = tf.apply(u[4].astype(np.float32) / 32768, RATE, seed=cfg.seed + k)
                utts[split].append((vid, u[1], u[2], u[3], np.clip(a * 32768, -32768, 32767).astype(np.int16)))
    phones = sorted({p for u in utts["train"] + utts["heldout"] + utts["val"] for p in u[2]} - {SIL})
    symbols = {PAD: 0, SIL: 1, **{p: i + 2 for i, p in enumerate(phones)}}
    for split in utts:
        save_split(out / f"{split}.npz", utts[split], symbols)
    hours = {k: sum(len(u[4]) for u in s) / RATE / 3600 for k, s in utts.items()}
    summary = {
        "format": "resgen-speech-corpus/1", "engines": list(cfg.engines), "config": asdict(cfg), "sample_rate": RATE,
        "hop": 256, "voices": voices, "symbols": symbols, "hours": hours, "durations": "none",
        "utterances": {k: len(v) for k, v in utts.items()},
        "sentences": {"train": len(train_s), "heldout": len(held_texts), "val": len(val_pool),
                      "source": "Debian fortunes (the espeak corpus's split)"},
        "licences": sorted({v["licence"] for v in voices}),
    }
    (out / "corpus.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return summary


def add_args(p):
    d = EngineCorpusConfig()
    p.add_argument("--out", default="runs/speech-engines", help="corpus folder")
    p.add_argument("--engines", default=",".join(d.engines), help="comma list of: " + ", ".join(CORPUS_ENGINES))
    p.add_argument("--per-voice", type=int, default=d.per_voice, help="utterances per training voice")
    p.add_argument("--per-heldout-voice", type=int, default=d.per_heldout_voice)
    p.add_argument("--per-val-voice", type=int, default=d.per_val_voice)
    p.add_argument("--blends", type=int, default=d.blends, help="new Kokoro speakers blended from two training styles")
    p.add_argument("--transforms", type=int, default=d.transforms,
                   help="new training speakers: a training voice through a vocal-tract warp and a channel")
    p.add_argument("--heldout-transforms", type=int, default=d.heldout_transforms)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--workers", type=int, default=1, help="synthesis processes (one thread each)")
    p.add_argument("--align-with", default=None, help="a recogniser folder: fill phoneme durations by forced alignment")
