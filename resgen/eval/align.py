"""Phoneme durations for any speech: a forced alignment with the project's CTC phoneme recogniser.

Engines other than espeak, and real recordings, come without phoneme events. Given the audio and its phonemes, the
recogniser's per-frame log-probabilities and a CTC Viterbi search give each phoneme the frames where it is read,
monotonically. CTC is peaky: a phoneme fires on a frame or two and blanks fill the rest, so the boundary between two
phonemes is put in the middle of the blank run between their spikes ("mid" rule; "start" puts it at the next
phoneme's spike). Silence is not a recogniser symbol: the leading silence ends where the audio rises within
`SILENCE_DB` of its loud frames before the first spike, the trailing one starts where it falls after the last.

    aligner = Aligner(load_recogniser(assets_dir() / "speech-recogniser"))
    seq, frames = aligner.align(audio, phonemes)    # [<sil>, p1..pn, <sil>], mel frames of each (sum = len // 256)

The output has the form of the corpus's espeak durations (`resgen.speech.corpus.durations_from_events`).
Shapes: log_probs (F', V) with F' = ceil(F / stride) recogniser frames; F mel frames (hop 256 at 22.05 kHz).
"""
from __future__ import annotations

import numpy as np
import torch

from resgen.eval.recogniser import BLANK, Recogniser

SIL = "<sil>"
SILENCE_DB = 35.0          # a mel frame quieter than the loudest frames by more than this is silence
TAIL = 0                   # recogniser frames the last phoneme runs past its last spike (0 was best on the val split)
RULES = ("mid", "start")


def ctc_viterbi(log_probs: np.ndarray, targets: list[int]) -> np.ndarray:
    """The most likely CTC path: log_probs (T, V), targets (L,) label ids (no blank) -> state (T,) in 0..2L, where
    state 2k+1 is label k and even states are blanks (2k before label k). Raises ValueError if T < the labels
    need (L plus one frame between repeated labels)."""
    T, L = len(log_probs), len(targets)
    S = 2 * L + 1
    ext = np.full(S, BLANK)
    ext[1::2] = targets
    need = L + sum(a == b for a, b in zip(targets, targets[1:]))
    if T < need:
        raise ValueError(f"{T} frames cannot hold {L} phonemes (at least {need} needed)")
    emit = log_probs[:, ext]                                               # (T, S)
    skip = np.zeros(S, bool)                                               # s-2 -> s allowed
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    score = np.full(S, -np.inf)
    score[0], score[1] = emit[0, 0], emit[0, 1] if S > 1 else -np.inf
    back = np.zeros((T, S), np.int8)                                       # 0 stay, 1 from s-1, 2 from s-2
    for t in range(1, T):
        prev1 = np.concatenate([[-np.inf], score[:-1]])
        prev2 = np.where(skip, np.concatenate([[-np.inf, -np.inf], score[:-2]]), -np.inf)
        cand = np.stack([score, prev1, prev2])                              # (3, S)
        back[t] = cand.argmax(0)
        score = cand.max(0) + emit[t]
    s = int(S - 1 if S == 1 or score[S - 1] >= score[S - 2] else S - 2)
    states = np.empty(T, np.int64)
    for t in range(T - 1, -1, -1):
        states[t] = s
        s -= int(back[t, s])
    return states


def boundaries(states: np.ndarray, L: int, rule: str = "mid") -> np.ndarray:
    """Recogniser-frame boundaries (L + 1,) of L phonemes from a Viterbi path: phoneme k spans [b[k], b[k+1]).
    b[0] is its first spike, b[L] the frame after the last phoneme's last spike; inner boundaries by `rule`."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}")
    label = np.where(states % 2 == 1, (states - 1) // 2, -1)
    first = np.array([np.flatnonzero(label == k)[0] for k in range(L)])
    last = np.array([np.flatnonzero(label == k)[-1] for k in range(L)])
    b = np.empty(L + 1, np.float64)
    b[0], b[L] = first[0], last[-1] + 1
    b[1:L] = (last[:-1] + 1 + first[1:]) / 2 if rule == "mid" else first[1:]
    return b


def _speech_span(mel: np.ndarray) -> tuple[int, int]:
    """Mel frames [a, b) that are not silence: frame energy (log-mel mean, natural log) within SILENCE_DB of its
    95th percentile."""
    energy_db = mel.mean(0) * 10 / np.log(10)                               # natural-log mel -> dB (power-like)
    loud = energy_db >= np.percentile(energy_db, 95) - SILENCE_DB
    idx = np.flatnonzero(loud)
    return (int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, mel.shape[1])


class Aligner:
    """Phonemes + audio -> [<sil>, p1..pn, <sil>] and their mel frames, by forced alignment with a recogniser."""

    def __init__(self, recogniser: Recogniser, rule: str = "mid"):
        if rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)}")
        self.rec, self.rule = recogniser, rule
        self.stride = recogniser.net.cfg.stride

    @torch.no_grad()
    def align_mel(self, mel: torch.Tensor, phonemes: list[str]) -> tuple[list[str], list[int]]:
        """mel (80, F) log-mel, phonemes as in the corpus (stress marks kept, <sil> ignored) -> (sequence, frames)."""
        phones = [p for p in phonemes if not p.startswith("<")]
        ids = self.rec.to_ids(phones)
        if not ids:
            raise ValueError("no phonemes to align")
        F = mel.shape[-1]
        lp, _ = self.rec.net(mel[None].float(), torch.tensor([F]))
        states = ctc_viterbi(lp[0].numpy(), ids)
        b = boundaries(states, len(ids), self.rule) * self.stride               # in mel frames
        lo, hi = _speech_span(mel.numpy())
        b[0] = min(b[0], max(lo, b[0] - 4 * self.stride))                        # onset: speech start, near the spike
        b[-1] = min(b[-1] + TAIL * self.stride, hi)                              # the last phoneme: just past its spike
        cuts = np.clip(np.round(np.concatenate([[0], b, [F]])).astype(int), 0, F)
        cuts = np.maximum.accumulate(cuts)
        return [SIL] + phones + [SIL], np.diff(cuts).tolist()

    def align(self, audio: np.ndarray, phonemes: list[str], sample_rate: int = 22050) -> tuple[list[str], list[int]]:
        from resgen.speech.audio import MelConfig, log_mel, resample
        a = np.asarray(audio, np.float32)
        if sample_rate != MelConfig.sample_rate:
            a = resample(a, sample_rate, MelConfig.sample_rate)
        mel = log_mel(torch.from_numpy(a[: len(a) // 256 * 256]))[0]
        return self.align_mel(mel, phonemes)


def boundary_errors(ref_frames: list[int], hyp_frames: list[int]) -> np.ndarray:
    """|boundary difference| in mel frames between two segmentations of the same sequence (inner boundaries only)."""
    r, h = np.cumsum(ref_frames)[:-1], np.cumsum(hyp_frames)[:-1]
    if len(r) != len(h):
        raise ValueError("the two segmentations have different lengths")
    return np.abs(r - h)


def align_corpus(data, recogniser) -> dict:
    """Fill each utterance's phoneme durations with the forced aligner (resgen/eval/align.py) and the recogniser in
    `recogniser`; corpus.json then names it."""
    import json
    from pathlib import Path

    from resgen.core.weights import file_sha256
    from resgen.eval.recogniser import load_recogniser
    from resgen.eval.speech_data import split_phonemes
    data = Path(data)
    aligner = Aligner(load_recogniser(recogniser))
    meta = json.loads((data / "corpus.json").read_text())
    for split in ("train", "heldout", "val"):
        if not (data / f"{split}.npz").exists():
            continue
        f = dict(np.load(data / f"{split}.npz"))
        ao, po = f["audio_offsets"], f["phoneme_offsets"]
        durs = []
        for i, ph in enumerate(split_phonemes(data, split)):
            a = f["audio"][ao[i]:ao[i + 1]].astype(np.float32) / 32768
            seq, frames = aligner.align(a, ph)
            assert len(frames) == po[i + 1] - po[i]
            durs.append(np.array(frames, np.int16))
        f["durations"] = np.concatenate([np.zeros(0, np.int16)] + durs)
        np.savez(data / f"{split}.npz", **f)
    meta["durations"] = {"aligner": str(recogniser), "sha256": file_sha256(Path(recogniser) / "recogniser.safetensors")}
    (data / "corpus.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    return meta
