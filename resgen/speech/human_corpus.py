"""Real human English speech with transcripts, from installable packages, as a held-out evaluation set in the corpus
layout (corpus.json + heldout.npz), so `resgen eval speech --data runs/speech-human` reads it like the others.

    resgen data speech-human --out runs/speech-human [--src runs/human-src]

Sources (fetched into --src when missing; nothing here is ever trained on):
  asterisk   Debian `asterisk-core-sounds-en-wav` + `asterisk-core-sounds-en` 1.6.1-1: telephone prompts read by
             Allison Smith (CC-BY-SA-3.0), 8 kHz; transcripts in core-sounds-en.txt.gz. Kept: prompts of at least
             --min-words words whose text has no key symbols or notes (`*`, `#`, brackets), at most --max-seconds.
  librivox   PyPI `pocketsphinx` 5.1.1 sdist, test/data/librivox: five sentences of Sense and Sensibility read for
             LibriVox (public domain), 16 kHz, with their transcription.
  cards      the same sdist, test/data/cards: five utterances naming playing cards (BSD-2-Clause, CMU), 16 kHz.
Each source is one speaker. Phonemes come from the same phonemizer as the models' (American English); durations are
left empty (the evaluation needs none).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

RATE = 22050
ASTERISK_DEBS = ("asterisk-core-sounds-en-wav", "asterisk-core-sounds-en")
ASTERISK_DIR = "usr/share/asterisk/sounds/en_US_f_Allison"
ASTERISK_TEXT = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
POCKETSPHINX = ("pocketsphinx", "5.1.1", "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355")
SPEAKERS = {
    "asterisk": ("Allison Smith (Asterisk prompts)", "CC-BY-SA-3.0, Debian asterisk-core-sounds-en(-wav) 1.6.1-1"),
    "librivox": ("LibriVox reader (Sense and Sensibility)", "public domain, PyPI pocketsphinx 5.1.1 sdist test data"),
    "cards": ("CMU cards speaker", "BSD-2-Clause (CMU), PyPI pocketsphinx 5.1.1 sdist test data"),
}
_SKIP = re.compile(r"[*#\[\]()<>@]|note:", re.I)


def fetch(src: Path) -> None:
    """Download and unpack the sources into `src` (Debian packages with apt-get, the sdist from PyPI, sha256 checked);
    what is already there is kept."""
    src.mkdir(parents=True, exist_ok=True)
    if not (src / "asterisk" / ASTERISK_TEXT).exists():
        debs = src / "debs"
        debs.mkdir(exist_ok=True)
        subprocess.run(["apt-get", "download", *ASTERISK_DEBS], cwd=debs, check=True, capture_output=True)
        for deb in sorted(debs.glob("asterisk-core-sounds-en*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(src / "asterisk")], check=True)
    if not (src / "pocketsphinx" / "librivox" / "transcription").exists():
        name, version, sha = POCKETSPHINX
        html = urllib.request.urlopen(f"https://pypi.org/simple/{name}/", timeout=60).read().decode()
        url = re.search(rf'href="([^"#]*{name}-{version}\.tar\.gz)', html)
        if url is None:
            raise FileNotFoundError(f"{name} {version} sdist is not on the index")
        blob = urllib.request.urlopen(url.group(1), timeout=300).read()
        if hashlib.sha256(blob).hexdigest() != sha:
            raise ValueError(f"{name}-{version}.tar.gz: sha256 mismatch")
        tgz = src / f"{name}-{version}.tar.gz"
        tgz.write_bytes(blob)
        with tarfile.open(tgz) as t:
            for m in t.getmembers():
                parts = m.name.split("/")
                if m.isfile() and parts[1:3] == ["test", "data"] and len(parts) == 5 and parts[3] in ("librivox",
                                                                                                     "cards"):
                    f = t.extractfile(m)
                    dest = src / "pocketsphinx" / parts[3] / parts[4]
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(f.read())
        tgz.unlink()


def asterisk_items(root: Path, min_words: int = 4, max_seconds: float = 12.0) -> list[tuple[Path, str]]:
    """(wav, transcript) of the Allison prompts that read as plain sentences."""
    import soundfile as sf
    items = []
    with gzip.open(root / ASTERISK_TEXT, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            name, sep, text = line.partition(":")
            name, text = name.strip(), " ".join(text.split())
            if not sep or name.startswith(";") or _SKIP.search(text) or len(text.split()) < min_words:
                continue
            wav = root / ASTERISK_DIR / f"{name}.wav"
            if wav.exists() and sf.info(str(wav)).duration <= max_seconds:
                items.append((wav, text))
    return items


def sphinx_items(folder: Path, transcription: str) -> list[tuple[Path, str]]:
    """(wav, transcript) from a sphinx transcription file: `<s> words </s> (utterance id)` per line."""
    items = []
    for line in (folder / transcription).read_text().splitlines():
        m = re.match(r"\s*(?:<s>)?(.*?)(?:</s>)?\s*\(([^)]+)\)\s*$", line)
        if m and (folder / f"{m.group(2).strip()}.wav").exists():
            items.append((folder / f"{m.group(2).strip()}.wav", " ".join(m.group(1).split())))
    return items


def build(src: Path, out: Path, min_words: int = 4, max_seconds: float = 12.0, limit: int = 0, val: int = 0) -> dict:
    """Assemble corpus.json + heldout.npz in `out` from the fetched sources; returns the summary.
    limit: at most this many Asterisk prompts (0 = all), an even spread over the alphabetical list.
    val: also write val.npz, the last `val` Asterisk prompts (to choose models on; heldout.npz stays whole, and the
    first 60 triples of the held-out table never use these: targets 0-49 and their prompts and references)."""
    from resgen.speech.audio import AudioError, MelConfig, load_audio
    from resgen.speech.corpus import PAD, SIL, Phonemizer, save_split
    sources = {"asterisk": asterisk_items(src / "asterisk", min_words, max_seconds),
               "librivox": sphinx_items(src / "pocketsphinx" / "librivox", "transcription"),
               "cards": sphinx_items(src / "pocketsphinx" / "cards", "cards.transcription")}
    if limit and len(sources["asterisk"]) > limit:
        pick = np.linspace(0, len(sources["asterisk"]) - 1, limit).round().astype(int)
        sources["asterisk"] = [sources["asterisk"][i] for i in pick]
    phon = Phonemizer()
    utts, voices = [], []
    for vid, (key, items) in enumerate(sources.items()):
        name, licence = SPEAKERS[key]
        voices.append({"engine": "human", "name": name, "key": f"human:{key}", "licence": licence, "kind": "human",
                       "split": "heldout", "accent": "en-us", "files": len(items)})
        for (wav, text), ph in zip(items, phon([t for _, t in items], "en-us")):
            try:
                a = load_audio(wav, MelConfig(sample_rate=RATE))
            except AudioError:                                    # unreadable or silent: not a test utterance
                continue
            n = len(a) // 256 * 256
            peak = float(np.abs(a).max()) if n else 0.0
            if n < 256 * 8 or not ph or peak == 0:
                continue
            a = a[:n] / max(peak, 1e-3) * 0.9 if peak > 0.99 else a[:n]        # keep it inside int16
            seq = [SIL] + ph + [SIL]
            utts.append((vid, text, seq, [0] * len(seq), np.clip(a * 32768, -32768, 32767).astype(np.int16)))
    phones = sorted({p for u in utts for p in u[2]} - {SIL})
    symbols = {PAD: 0, SIL: 1, **{p: i + 2 for i, p in enumerate(phones)}}
    out.mkdir(parents=True, exist_ok=True)
    save_split(out / "heldout.npz", utts, symbols)
    asterisk = [u for u in utts if u[0] == 0]
    if val:
        if len(asterisk) < val + 60:
            raise ValueError(f"--val {val} needs {val + 60} Asterisk prompts (60 for the held-out table); "
                             f"there are {len(asterisk)}")
        save_split(out / "val.npz", asterisk[-val:], symbols)
    else:
        (out / "val.npz").unlink(missing_ok=True)                 # no stale split from an earlier build
    counts = {v["key"]: sum(u[0] == k for u in utts) for k, v in enumerate(voices)}
    summary = {"format": "resgen-speech-corpus/1", "kind": "human recordings (evaluation only)", "sample_rate": RATE,
               "hop": 256, "voices": voices, "symbols": symbols, "durations": "none",
               "utterances": {"heldout": len(utts), **({"val": val} if val else {})}, "per_voice": counts,
               "hours": {"heldout": sum(len(u[4]) for u in utts) / RATE / 3600},
               "selection": {"min_words": min_words, "max_seconds": max_seconds, "limit": limit},
               "licences": sorted({v["licence"] for v in voices})}
    (out / "corpus.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False))
    return summary


def add_args(p):
    p.add_argument("--out", default="runs/speech-human", help="corpus folder (heldout.npz, corpus.json)")
    p.add_argument("--src", default="runs/human-src", help="where the packages are fetched and unpacked")
    p.add_argument("--min-words", type=int, default=4, help="Asterisk prompts of at least this many words")
    p.add_argument("--max-seconds", type=float, default=12.0, help="and at most this long")
    p.add_argument("--limit", type=int, default=0, help="at most this many Asterisk prompts (0 = all)")
    p.add_argument("--val", type=int, default=0,
                   help="also write val.npz: the last N Asterisk prompts, one speaker, to choose models on "
                        "(`resgen eval speech --split val`); heldout.npz is unchanged")


def run(args) -> dict:
    from resgen.core.errors import UsageError
    if args.min_words < 1 or args.max_seconds <= 0 or args.limit < 0 or args.val < 0:
        raise UsageError("--min-words must be at least 1, --max-seconds positive, --limit and --val at least 0")
    try:
        fetch(Path(args.src))
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        raise UsageError(f"could not fetch the recordings into {args.src}: {e}") from None
    try:
        s = build(Path(args.src), Path(args.out), args.min_words, args.max_seconds, args.limit, args.val)
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(f"wrote {args.out}: {s['utterances']['heldout']} human utterances ({s['hours']['heldout'] * 60:.1f} min), "
          f"{len(s['voices'])} speakers: " + ", ".join(f"{k} {n}" for k, n in s["per_voice"].items())
          + (f"; val.npz: the last {args.val} Asterisk prompts" if args.val else ""))
    return s
