"""One split of the speech corpus as the evaluation reads it: audio, texts, phonemes, voices, and the
(target, prompt, reference) triples of the zero-shot protocol."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SPLITS = ("heldout", "val", "test")     # the splits an evaluation reads: report, choose settings, report on more voices


def split_phonemes(data: Path, split: str) -> list[list[str]]:
    """Each utterance's phoneme symbols (with its <sil> ends) in a split of the corpus, without reading audio."""
    return _phonemes(json.loads((Path(data) / "corpus.json").read_text()), np.load(Path(data) / f"{split}.npz"))


def _phonemes(meta: dict, f) -> list[list[str]]:
    table = meta["symbols"]
    names = sorted(table, key=table.get) if isinstance(table, dict) else list(table)
    po, ph = f["phoneme_offsets"], f["phonemes"]
    return [[names[int(k)] for k in ph[po[i]:po[i + 1]]] for i in range(len(po) - 1)]


class CorpusSplit:
    """`<data>/<split>.npz` of `resgen data speech`: audio (float, 22.05 kHz), texts, phonemes, voice ids."""

    def __init__(self, data: Path, split: str = "heldout"):
        data = Path(data)
        meta = json.loads((data / "corpus.json").read_text())
        f = np.load(data / f"{split}.npz")
        ao = f["audio_offsets"]
        self.split = split
        audio = f["audio"]                             # read once (each f[...] reads the whole array again)
        self.audio = [audio[ao[i]:ao[i + 1]].astype(np.float32) / 32768 for i in range(len(ao) - 1)]
        self.texts: list[str] = json.loads(str(f["texts"]))
        self.voice = f["voice"].astype(int)
        self.voices = meta["voices"]
        self.sample_rate = int(meta["sample_rate"])
        self.phonemes: list[list[str]] = _phonemes(meta, f) if "phonemes" in f.files else []
        self.durations: list[np.ndarray] = []          # mel frames of each phoneme (espeak's own events)
        if "durations" in f.files:
            po, du = f["phoneme_offsets"], f["durations"]
            self.durations = [du[po[i]:po[i + 1]].astype(np.int64) for i in range(len(po) - 1)]

    def accent(self, i: int) -> str:
        return self.voices[self.voice[i]]["accent"]

    def voice_name(self, i: int) -> str:
        v = self.voices[self.voice[i]]
        return v.get("name", f"voice {self.voice[i]}")

    def triples(self, min_prompt_s: float = 1.5) -> list[tuple[int, int, int]]:
        """(target, prompt, reference) utterance indices of one voice: the prompt is the next
        utterance (cyclic) of at least min_prompt_s seconds, the reference the next one after it."""
        out = []
        for v in sorted(set(self.voice.tolist())):
            idx = np.nonzero(self.voice == v)[0].tolist()
            if len(idx) < 3:
                continue
            for k in range(len(idx)):
                after = [idx[(k + s) % len(idx)] for s in range(1, len(idx))]
                prompts = [u for u in after if len(self.audio[u]) >= min_prompt_s * self.sample_rate]
                if not prompts:
                    continue
                j = prompts[0]
                ref = next(u for u in after if u != j)
                out.append((k, idx[k], j, ref))
        return [t[1:] for t in sorted(out)]          # round-robin over voices, so any first n spans them
