"""The speech model's training corpus as tokens: every training utterance's codes, phonemes, durations and voice in
one compact file (`tokenize_corpus`, a few MB, no audio), read back as a `Corpus`; several corpora pooled
(`merge_corpora`); and a tiny random corpus for tests (`synthetic_corpus`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from resgen.speech.model import positions_phonemes
from resgen.speech.tokenizer import MelTokenizer
from resgen.train.speech_tokenizer import corpus_mels


class Corpus:
    """Codes, per-position phonemes, phonemes and durations of every training utterance."""

    def __init__(self, codes, phonemes, durations, pos_phonemes, voice, symbols: dict):
        self.codes, self.phonemes, self.durations = codes, phonemes, durations      # lists of tensors
        self.pos_phonemes, self.voice, self.symbols = pos_phonemes, voice, symbols
        by_voice: dict[int, list[int]] = {}
        for i, v in enumerate(voice):
            by_voice.setdefault(int(v), []).append(i)
        self.by_voice = by_voice

    def __len__(self):
        return len(self.codes)


def merge_corpora(parts: list[Corpus]) -> Corpus:
    """Pool corpora: each later corpus's phoneme ids rewritten into the first's table (a symbol the first lacks is
    refused: the model could not embed it) and its voice ids moved past the earlier corpora's."""
    first = parts[0].symbols
    codes, phonemes, durations, pos, voice, shift = [], [], [], [], [], 0
    for c in parts:
        missing = sorted(set(c.symbols) - set(first))
        if missing:
            raise ValueError(f"phonemes {missing[:5]} are not in the first corpus's table; put the corpus with "
                             "every symbol first")
        lut = torch.zeros(max(c.symbols.values()) + 1, dtype=torch.long)
        for sym, i in c.symbols.items():
            lut[i] = first[sym]
        codes += c.codes
        durations += c.durations
        phonemes += [lut[p] for p in c.phonemes]
        pos += [lut[p] for p in c.pos_phonemes]
        voice.append(np.asarray(c.voice, np.int64) + shift)
        shift += int(np.max(c.voice)) + 1 if len(c.voice) else 0
    return Corpus(codes, phonemes, durations, pos, np.concatenate(voice), dict(first))


def _split(arr, offsets):
    return [torch.from_numpy(np.asarray(arr[offsets[i]:offsets[i + 1]]).astype(np.int64)) for i in range(len(offsets) - 1)]


@torch.no_grad()
def tokenize_corpus(data: Path, tokenizer: MelTokenizer, out: Path, mel_cache: Path | None = None) -> Path:
    """Encode every training utterance and write one compact file (a few MB, no audio) with all
    that training needs: codes, phonemes, durations, voices and the symbol table."""
    meta = json.loads((data / "corpus.json").read_text())
    f = np.load(data / "train.npz")
    mels, mo = corpus_mels(data, "train", mel_cache)
    codes = [tokenizer.encode(torch.from_numpy(mels[:, mo[i]:mo[i + 1]].astype(np.float32))[None])[0]
             for i in range(len(mo) - 1)]
    np.savez(out, codes=torch.cat(codes).numpy().astype(np.int16), code_offsets=np.cumsum([0] + [len(c) for c in codes]),
             phonemes=f["phonemes"], durations=f["durations"], phoneme_offsets=f["phoneme_offsets"],
             voice=f["voice"], symbols=np.array(json.dumps(meta["symbols"], ensure_ascii=False)))
    return out


def load_corpus(tokens: Path, downsample: int, per_position: int = 1) -> Corpus:
    """A file from `tokenize_corpus` -> Corpus (per_position phoneme ids per position, see positions_phonemes)."""
    f = np.load(tokens)
    codes = _split(f["codes"], f["code_offsets"])
    phonemes = _split(f["phonemes"], f["phoneme_offsets"])
    durations = _split(f["durations"], f["phoneme_offsets"])
    pos = [positions_phonemes(p, d, downsample, per_position)[: len(c)] for p, d, c in zip(phonemes, durations, codes)]
    return Corpus(codes, phonemes, durations, pos, f["voice"], json.loads(str(f["symbols"])))


SYNTHETIC_PHONES = ("ð", "ə", "k", "w", "ˈɪ", "b", "ɹ", "ˈaʊ", "n", "f", "s", "t", "d", "l", "m", "p")


def synthetic_corpus(tok: MelTokenizer, n: int = 12, voices: int = 3, symbols: int = 18, seed: int = 1,
                     per_position: int = 1) -> Corpus:
    """Random codes, phonemes and durations; the symbols are real IPA phonemes (tests of the pipeline)."""
    g = torch.Generator().manual_seed(seed)
    D, V, s = tok.cfg.rvq.depth, tok.cfg.rvq.codebook_size, tok.cfg.downsample
    codes, phonemes, durations, pos = [], [], [], []
    for _ in range(n):
        P = int(torch.randint(3, 8, (1,), generator=g))
        ph = torch.randint(1, symbols, (P,), generator=g)
        du = torch.randint(2, 9, (P,), generator=g)
        N = -(-int(du.sum()) // s)
        codes.append(torch.randint(0, V, (N, D), generator=g))
        phonemes.append(ph)
        durations.append(du)
        pos.append(positions_phonemes(ph, du, s, per_position))
    return Corpus(codes, phonemes, durations, pos, np.arange(n) % voices,
                  {"<pad>": 0, "<sil>": 1, **{SYNTHETIC_PHONES[i - 2]: i for i in range(2, symbols)}})
