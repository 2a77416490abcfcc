"""Speech measures for `resgen eval speech`: speaker embeddings (resemblyzer), speech recognition
(pocketsphinx with its bundled en-us acoustic model) and word error rate (jiwer).

All three run offline from their wheels (`make eval-deps` installs them). pocketsphinx's general
English language model does poorly on espeak-ng voices (WER 0.5 to 1.0, see the README), so the
recogniser gets a unigram language model over the evaluation sentences' words (uniform
probabilities): the same restricted recogniser for ground truth and generated speech, a coarse but
fair relative measure of intelligibility.
"""
from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path

import numpy as np

from resgen.speech.audio import resample

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped ("Don't panic!" -> ["don't", "panic"])."""
    return _WORD.findall(text.lower())


def _needs(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise RuntimeError(f"{module} is not installed: run `make eval-deps` ({e})") from None


class SpeakerEncoder:
    """resemblyzer's d-vector network: audio -> unit-norm 256-d embedding."""

    def __init__(self):
        resemblyzer = _needs("resemblyzer")
        self._pre = resemblyzer.preprocess_wav
        self.net = resemblyzer.VoiceEncoder(device="cpu", verbose=False)

    def __call__(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """audio float (S,) -> (256,) float32 with norm 1."""
        return self.net.embed_utterance(self._pre(audio.astype(np.float32), source_sr=sample_rate)).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def identify(emb: np.ndarray, enrolled: dict[int, np.ndarray]) -> int:
    """Nearest enrolled voice by cosine similarity."""
    return max(enrolled, key=lambda v: cosine(emb, enrolled[v]))


def unigram_arpa(vocabulary: list[str]) -> str:
    """An ARPA language model giving every word the same probability."""
    lp = math.log10(1.0 / (len(vocabulary) + 1))
    lines = ["\\data\\", f"ngram 1={len(vocabulary) + 2}", "", "\\1-grams:", "-99.0000 <s> 0.0000",
             f"{lp:.4f} </s> 0.0000"] + [f"{lp:.4f} {w} 0.0000" for w in vocabulary]
    return "\n".join(lines + ["", "\\end\\", ""])


class Pocketsphinx:
    """pocketsphinx (bundled en-us model) restricted to a vocabulary; transcribe(audio, rate) -> text."""

    def __init__(self, sentences: list[str]):
        ps = _needs("pocketsphinx")
        probe = ps.Decoder(samprate=16000, loglevel="FATAL")
        vocab = sorted({w for s in sentences for w in words(s)})
        self.vocabulary = [w for w in vocab if probe.lookup_word(w)]
        self.out_of_vocabulary = sorted(set(vocab) - set(self.vocabulary))
        with tempfile.TemporaryDirectory() as d:
            lm = Path(d) / "vocab.arpa"
            lm.write_text(unigram_arpa(self.vocabulary))
            self.decoder = ps.Decoder(samprate=16000, lm=str(lm), loglevel="FATAL")

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> str:
        x = np.clip(resample(audio.astype(np.float32), sample_rate, 16000), -1, 1)
        self.decoder.start_utt()
        self.decoder.process_raw((x * 32767).astype(np.int16).tobytes(), full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        return hyp.hypstr if hyp is not None else ""


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Corpus word error rate over normalised words (jiwer)."""
    jiwer = _needs("jiwer")
    refs = [" ".join(words(r)) for r in references]
    hyps = [" ".join(words(h)) for h in hypotheses]
    return float(jiwer.wer(refs, hyps))
