"""Our multi-speaker English speech corpus, synthesised with espeak-ng.

Sentences: the English quotations of the Debian package `fortunes` (clean ones: 5 to 16 words,
letters and simple punctuation only). Voices: espeak accent x variant x pitch x rate x pitch
range. Every utterance keeps its text, its phonemes (phonemizer, espeak backend, the voice's
accent) and each phoneme's duration in mel frames (from espeak's own phoneme events).

Layout of `resgen data speech --out DIR`:
  DIR/train.npz, DIR/heldout.npz   utterances (see `save_split`); DIR/val.npz with --val-voices, DIR/test.npz
                                   with --test-voices
  DIR/corpus.json                  voices, splits, symbol table, settings, counts
Held-out voices never occur in training (their accent/variant/pitch/rate combination is new) and
speak only held-out sentences. `more_train_voices` adds training voices drawn after the held-out
ones, with their own sentence draws, so adding them leaves every other utterance's text unchanged.
`val_voices` adds a validation split (for choosing settings; report on the held-out split): voices drawn after all
others, never trained on, speaking held-out-pool sentences that no held-out utterance uses; it too leaves every
other utterance unchanged.
`test_voices` adds a second report split, wider than the held-out one's 10 voices: voices drawn after the validation
ones, never trained on and never used for choosing, speaking held-out-pool sentences that neither a held-out nor a
validation utterance says; it too leaves every other utterance unchanged.
Sentences, voices and phonemes are deterministic in the seed; the audio is not bit-exact between
runs (see resgen/speech/espeak.py).
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from resgen.speech.espeak import Espeak, Voice

FORTUNES_DIR = Path("/usr/share/games/fortunes")
ACCENTS = ("en-us", "en-us-nyc", "en", "en-gb-x-rp", "en-gb-x-gbclan", "en-029", "en-gb-scotland", "en-gb-x-gbcwmd")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5", "adam", "Alex",
            "Andy", "anika", "Annie", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed",
            "edward", "grandma", "grandpa", "iven", "john", "linda", "max", "michel", "norbert", "paul",
            "quincy", "rob", "robert", "steph", "travis", "victor", "zac")
PHONEMIZER_LANGUAGE = {"en": "en-gb"}        # espeak's voice "en" is phonemizer's "en-gb"
SIL = "<sil>"
PAD = "<pad>"
HOP_S = 256 / 22050


@dataclass(frozen=True)
class CorpusConfig:
    train_voices: int = 70
    heldout_voices: int = 10
    per_train_voice: int = 64
    per_heldout_voice: int = 12
    heldout_sentences: int = 400
    seed: int = 0
    more_train_voices: int = 0        # further training voices, drawn after the held-out ones
    per_more_voice: int = 24          # utterances of each of them
    val_voices: int = 0               # validation voices, drawn after all others (a split of their own)
    per_val_voice: int = 12
    test_voices: int = 0              # test voices, drawn after the validation ones (a second report split)
    per_test_voice: int = 12


def fortunes_sentences(root: Path = FORTUNES_DIR) -> list[str]:
    """Clean English sentences from the fortunes files, sorted (deterministic)."""
    files = sorted(p for p in root.glob("*") if p.is_file() and "." not in p.name)
    if not files:
        raise FileNotFoundError(f"no fortunes files under {root}; install them with `sudo apt-get install fortunes`")
    out = set()
    for f in files:
        for entry in f.read_text(encoding="latin-1").split("\n%\n"):
            body = " ".join(line.strip() for line in entry.splitlines() if not line.strip().startswith("--"))
            for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", body)):
                s = s.strip()
                if (5 <= len(s.split()) <= 16 and re.fullmatch(r"[A-Z][A-Za-z ,;'\-]*[a-z][.!?]", s)
                        and not re.search(r"[A-Z]{2,}", s)):
                    out.add(s)
    return sorted(out)


def make_voices(cfg: CorpusConfig) -> tuple[list[Voice], list[Voice]]:
    """-> (training voices, held-out voices): distinct, deterministic in cfg.seed. The draw order is
    train_voices, then heldout_voices, then more_train_voices (appended to the training voices), then val_voices
    (`validation_voices`), then test_voices (`testing_voices`)."""
    voices = _draw_voices(cfg)
    first, held = cfg.train_voices, cfg.train_voices + cfg.heldout_voices
    return voices[:first] + voices[held:held + cfg.more_train_voices], voices[first:held]


def validation_voices(cfg: CorpusConfig) -> list[Voice]:
    first = cfg.train_voices + cfg.heldout_voices + cfg.more_train_voices
    return _draw_voices(cfg)[first:first + cfg.val_voices]


def testing_voices(cfg: CorpusConfig) -> list[Voice]:
    return _draw_voices(cfg)[cfg.train_voices + cfg.heldout_voices + cfg.more_train_voices + cfg.val_voices:]


def _draw_voices(cfg: CorpusConfig) -> list[Voice]:
    n = cfg.train_voices + cfg.heldout_voices + cfg.more_train_voices + cfg.val_voices + cfg.test_voices
    if n > len(ACCENTS) * len(VARIANTS):
        raise ValueError(f"at most {len(ACCENTS) * len(VARIANTS)} voices (one per accent and variant)")
    rng = random.Random(cfg.seed)
    seen, voices = set(), []
    while len(voices) < n:
        v = Voice(rng.choice(ACCENTS), rng.choice(VARIANTS), pitch=rng.randrange(25, 80, 5),
                  rate=rng.randrange(140, 211, 10), pitch_range=rng.randrange(30, 81, 10))
        key = (v.accent, v.variant)
        if key not in seen:                   # one voice per (accent, variant) pair
            seen.add(key)
            voices.append(v)
    return voices


class Phonemizer:
    """Text -> IPA phonemes with phonemizer's espeak backend (library from espeakng-loader)."""

    def __init__(self):
        import espeakng_loader
        from phonemizer.backend.espeak.wrapper import EspeakWrapper
        EspeakWrapper.set_library(espeakng_loader.get_library_path())
        EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
        self._backends = {}

    def __call__(self, texts: list[str], accent: str) -> list[list[str]]:
        from phonemizer.backend import EspeakBackend
        from phonemizer.separator import Separator
        if accent not in self._backends:
            self._backends[accent] = EspeakBackend(PHONEMIZER_LANGUAGE.get(accent, accent), with_stress=True,
                                                   preserve_punctuation=False)
        out = self._backends[accent].phonemize(texts, separator=Separator(phone=" ", word=" | "), strip=True)
        return [[p for p in o.split(" ") if p and p != "|"] for o in out]


def durations_from_events(events: list[tuple[str, float]], n_frames: int) -> tuple[list[str], list[int]]:
    """espeak phoneme events -> ([<sil>, p1, .., pn, <sil>], frames of each) summing to n_frames."""
    phones = [(p, t) for p, t in events if p]
    ends = [t for p, t in events if not p]
    end_t = ends[0] if ends else n_frames * HOP_S
    bounds = [0.0] + [t for _, t in phones] + [end_t]
    frames = np.clip(np.round(np.array(bounds) / HOP_S).astype(int), 0, n_frames)
    frames = np.maximum.accumulate(np.append(frames, n_frames))
    return [SIL] + [p for p, _ in phones] + [SIL], np.diff(frames).tolist()


def synthesise_split(voices: list[Voice], voice_ids: list[int], sentences: list[str], per_voice: int,
                     rng: random.Random, phonemizer: Phonemizer, progress=None) -> dict:
    """Speak `per_voice` sentences (drawn without repeats per voice) in each voice."""
    es = Espeak()
    utts, dropped = [], 0
    for vid, v in zip(voice_ids, voices):
        texts = rng.sample(sentences, per_voice)
        phon = phonemizer(texts, v.accent)
        for text, ph in zip(texts, phon):
            audio, events = es.synth(text, v)
            n_frames = len(audio) // 256
            seq, dur = durations_from_events(events, n_frames)
            if seq[1:-1] != ph:               # phonemizer and the spoken phonemes disagree: skip
                dropped += 1
                continue
            utts.append((vid, text, seq, dur, audio[: n_frames * 256]))
        if progress:
            progress.update(1)
    return {"utts": utts, "dropped": dropped}


def save_split(path: Path, utts: list, symbols: dict[str, int]) -> None:
    """One .npz: audio int16 concatenated (+ offsets), phoneme ids and frame durations
    concatenated (+ offsets), voice ids, texts (JSON)."""
    audio = [np.zeros(0, np.int16)] + [u[4] for u in utts]           # (an empty split stays readable)
    ph = [np.zeros(0, np.int16)] + [np.array([symbols[p] for p in u[2]], np.int16) for u in utts]
    np.savez(path,
             audio=np.concatenate(audio), audio_offsets=np.cumsum([0] + [len(a) for a in audio[1:]]),
             phonemes=np.concatenate(ph),
             durations=np.concatenate([np.zeros(0, np.int16)] + [np.array(u[3], np.int16) for u in utts]),
             phoneme_offsets=np.cumsum([0] + [len(p) for p in ph[1:]]),
             voice=np.array([u[0] for u in utts], np.int16), texts=np.array(json.dumps([u[1] for u in utts])))


def build(out: Path, cfg: CorpusConfig = CorpusConfig(), sentences: list[str] | None = None) -> dict:
    """Synthesise the corpus into `out`; returns the summary written to corpus.json."""
    from tqdm import tqdm
    out.mkdir(parents=True, exist_ok=True)
    sentences = sentences if sentences is not None else fortunes_sentences()
    rng = random.Random(cfg.seed)
    order = rng.sample(sentences, len(sentences))
    held_s, train_s = order[:cfg.heldout_sentences], order[cfg.heldout_sentences:]
    train_v, held_v = make_voices(cfg)
    base, more = train_v[:cfg.train_voices], train_v[cfg.train_voices:]
    n_base, n_held = len(base), len(held_v)                    # voice ids: base, held-out, more
    ph = Phonemizer()
    bar = tqdm(total=len(train_v) + n_held + cfg.val_voices + cfg.test_voices, desc="voices", dynamic_ncols=True)
    tr = synthesise_split(base, list(range(n_base)), train_s, cfg.per_train_voice, rng, ph, bar)
    ho = synthesise_split(held_v, list(range(n_base, n_base + n_held)), held_s, cfg.per_heldout_voice, rng, ph, bar)
    mo = synthesise_split(more, list(range(n_base + n_held, n_base + n_held + len(more))), train_s,
                          cfg.per_more_voice, random.Random(cfg.seed + 1), ph, bar)
    val_v = validation_voices(cfg)
    first_val = n_base + n_held + len(more)
    unused = sorted(set(held_s) - {u[1] for u in ho["utts"]})      # held-out-pool sentences no held-out voice says
    va = synthesise_split(val_v, list(range(first_val, first_val + len(val_v))), unused, cfg.per_val_voice,
                          random.Random(cfg.seed + 2), ph, bar) if val_v else {"utts": [], "dropped": 0}
    test_v, first_test = testing_voices(cfg), first_val + len(val_v)
    spare = sorted(set(unused) - {u[1] for u in va["utts"]})           # ... and no validation voice says either
    te = synthesise_split(test_v, list(range(first_test, first_test + len(test_v))), spare, cfg.per_test_voice,
                          random.Random(cfg.seed + 3), ph, bar) if test_v else {"utts": [], "dropped": 0}
    bar.close()
    tr = {"utts": tr["utts"] + mo["utts"], "dropped": tr["dropped"] + mo["dropped"]}
    phones = sorted({p for u in tr["utts"] + ho["utts"] for p in u[2]} - {SIL})
    symbols = {PAD: 0, SIL: 1, **{p: i + 2 for i, p in enumerate(phones)}}
    known = [u for u in va["utts"] if all(p in symbols for p in u[2])]   # the symbol table stays train + held-out's
    va["dropped"] += len(va["utts"]) - len(known)
    tested = [u for u in te["utts"] if all(p in symbols for p in u[2])]
    te["dropped"] += len(te["utts"]) - len(tested)
    save_split(out / "train.npz", tr["utts"], symbols)
    save_split(out / "heldout.npz", ho["utts"], symbols)
    if val_v:
        save_split(out / "val.npz", known, symbols)
    if test_v:
        save_split(out / "test.npz", tested, symbols)
    hours = {k: sum(len(u[4]) for u in s["utts"]) / 22050 / 3600
             for k, s in (("train", tr), ("heldout", ho), ("val", {"utts": known}), ("test", {"utts": tested}))}
    summary = {
        "format": "resgen-speech-corpus/1", "config": asdict(cfg), "sample_rate": 22050, "hop": 256,
        "voices": [asdict(v) | {"name": v.name, "split": "train"} for v in base]       # in voice-id order
                  + [asdict(v) | {"name": v.name, "split": "heldout"} for v in held_v]
                  + [asdict(v) | {"name": v.name, "split": "train"} for v in more]
                  + [asdict(v) | {"name": v.name, "split": "val"} for v in val_v]
                  + [asdict(v) | {"name": v.name, "split": "test"} for v in test_v],
        "symbols": symbols, "hours": hours,
        "utterances": {"train": len(tr["utts"]), "heldout": len(ho["utts"]), "val": len(known), "test": len(tested)},
        "dropped_phoneme_mismatch": tr["dropped"] + ho["dropped"] + va["dropped"] + te["dropped"],
        "sentences": {"train": len(train_s), "heldout": len(held_s), "source": "Debian fortunes"},
    }
    (out / "corpus.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return summary


def add_args(p):
    d = CorpusConfig()
    p.add_argument("--out", default="runs/speech-data", help="corpus folder")
    p.add_argument("--train-voices", type=int, default=d.train_voices)
    p.add_argument("--heldout-voices", type=int, default=d.heldout_voices)
    p.add_argument("--per-voice", type=int, default=d.per_train_voice, help="utterances per training voice")
    p.add_argument("--per-heldout-voice", type=int, default=d.per_heldout_voice)
    p.add_argument("--heldout-sentences", type=int, default=d.heldout_sentences)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--more-voices", type=int, default=d.more_train_voices,
                   help="further training voices, drawn after the held-out ones (the held-out set stays the same)")
    p.add_argument("--per-more-voice", type=int, default=d.per_more_voice, help="utterances per further voice")
    p.add_argument("--val-voices", type=int, default=d.val_voices,
                   help="validation voices (val.npz: choose settings on these, report on the held-out split)")
    p.add_argument("--per-val-voice", type=int, default=d.per_val_voice)
    p.add_argument("--test-voices", type=int, default=d.test_voices,
                   help="test voices (test.npz: a second report split, drawn after the validation voices; "
                        "never used for choosing)")
    p.add_argument("--per-test-voice", type=int, default=d.per_test_voice)


def run(args) -> dict:
    from resgen.core.errors import UsageError
    cfg = CorpusConfig(args.train_voices, args.heldout_voices, args.per_voice, args.per_heldout_voice,
                       args.heldout_sentences, args.seed, args.more_voices, args.per_more_voice, args.val_voices,
                       args.per_val_voice, args.test_voices, args.per_test_voice)
    if min(cfg.train_voices, cfg.heldout_voices, cfg.per_train_voice, cfg.per_heldout_voice,
           cfg.per_more_voice, cfg.per_val_voice, cfg.per_test_voice) < 1 \
            or min(cfg.more_train_voices, cfg.val_voices, cfg.test_voices) < 0:
        raise UsageError("voice and utterance counts must be at least 1 (--more-voices, --val-voices, --test-voices "
                         "at least 0)")
    most = len(ACCENTS) * len(VARIANTS)
    if cfg.train_voices + cfg.heldout_voices + cfg.more_train_voices + cfg.val_voices + cfg.test_voices > most:
        raise UsageError(f"at most {most} voices in all (one per accent and variant)")
    if cfg.per_heldout_voice > cfg.heldout_sentences:
        raise UsageError("--per-heldout-voice cannot exceed --heldout-sentences")
    if cfg.val_voices and cfg.per_val_voice > cfg.heldout_sentences - cfg.heldout_voices * cfg.per_heldout_voice:
        raise UsageError("--per-val-voice exceeds the held-out-pool sentences that no held-out utterance uses")
    spare = cfg.heldout_sentences - cfg.heldout_voices * cfg.per_heldout_voice - cfg.val_voices * cfg.per_val_voice
    if cfg.test_voices and cfg.per_test_voice > spare:
        raise UsageError(f"--per-test-voice exceeds the {max(spare, 0)} held-out-pool sentences that no held-out or "
                         "validation utterance may use")
    try:
        summary = build(Path(args.out), cfg)
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    print(f"wrote {args.out}: {summary['utterances']['train']} training utterances "
          f"({summary['hours']['train']:.2f} h, {cfg.train_voices + cfg.more_train_voices} voices), "
          f"{summary['utterances']['heldout']} "
          f"held-out ({summary['hours']['heldout']:.2f} h, {cfg.heldout_voices} voices); "
          + (f"{summary['utterances']['val']} validation ({cfg.val_voices} voices); " if cfg.val_voices else "") +
          (f"{summary['utterances']['test']} test ({cfg.test_voices} voices); " if cfg.test_voices else "") +
          f"{summary['dropped_phoneme_mismatch']} dropped (phonemizer and espeak disagreed); "
          f"{len(summary['symbols'])} symbols")
    return summary
