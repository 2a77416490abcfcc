"""`resgen data speech-prompts`: example prompt WAVs from a corpus's held-out voices (espeak, engine or human
corpora in the layout of resgen/speech/corpus.py), listed in prompts.json with the sentence each says."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np


def export_prompts(data: Path, out: Path, n: int = 5, seconds: float = 3.5, voices: list[str] | None = None,
                   append: bool = False, whole: bool = False) -> list[Path]:
    """Write one prompt WAV per held-out voice (the first n voices, or the voices named by key or name, each its
    first utterance of at least `seconds`, cut to `seconds` unless `whole`) and list them in prompts.json with their
    sentence ("whole": the WAV says exactly that text); `append` keeps the listing's other entries (prompts from
    several corpora: espeak, engine voices, human recordings)."""
    from resgen.speech.audio import save_audio
    meta = json.loads((data / "corpus.json").read_text())
    f = np.load(data / "heldout.npz")
    ao, voice = f["audio_offsets"], f["voice"]
    texts = json.loads(str(f["texts"]))
    held = [(i, v) for i, v in enumerate(meta["voices"]) if v["split"] == "heldout"]
    if voices:
        by_key = {v.get("key", v["name"]): (i, v) for i, v in held} | {v["name"]: (i, v) for i, v in held}
        unknown = [k for k in voices if k not in by_key]
        if unknown:
            raise ValueError(f"no held-out voice {unknown[0]!r} in {data}; held-out voices: "
                             + ", ".join(v.get("key", v["name"]) for _, v in held))
        held = [by_key[k] for k in voices]
    else:
        held = held[:n]
    out.mkdir(parents=True, exist_ok=True)
    listing_path = out / "prompts.json"
    listing = json.loads(listing_path.read_text()) if append and listing_path.exists() else []
    written = []
    for k, (vid, v) in enumerate(held):
        kind = v.get("kind", "espeak")
        for i in np.nonzero(voice == vid)[0]:
            a = f["audio"][ao[i]:ao[i + 1]]
            if len(a) < seconds * 22050:
                continue
            if kind == "espeak":
                name, label = f"heldout_{k}_{v['accent']}_{v['variant']}.wav", f"{v['name']} (held out)"
            else:
                key = v.get("key", v["name"])
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", key) + ".wav"
                engine = {"kokoro": "Kokoro", "flite": "flite"}.get(v.get("engine"), v.get("engine", ""))
                label = (f"{v['name']} (real human recording)" if kind == "human"
                         else f"{engine} {v['name']} (realistic voice, held out)")
            save_audio(out / name, (a if whole else a[: int(seconds * 22050)]).astype(np.float32) / 32768)
            written.append(out / name)
            listing = [e for e in listing if e["file"] != name]
            listing.append({"file": name, "voice": v["name"], "label": label, "kind": kind, "accent": v["accent"],
                            "text": texts[i], "whole": bool(whole),
                            **({"licence": v["licence"]} if "licence" in v else {})})
            break
    listing_path.write_text(json.dumps(listing, indent=1, ensure_ascii=False))
    return written


def run_prompts(args) -> None:
    from resgen.core.errors import UsageError
    if not (Path(args.data) / "corpus.json").exists():
        raise UsageError(f"no corpus at {args.data} (run `resgen data speech` first)")
    voices = [v.strip() for v in (args.voices or "").split(",") if v.strip()]
    try:
        paths = export_prompts(Path(args.data), Path(args.out), args.n, args.seconds, voices, args.append,
                               args.whole)
    except ValueError as e:
        raise UsageError(str(e)) from None
    for path in paths:
        print(path)
