"""The project's own intelligibility instrument: a CTC phoneme recogniser on log-mels, and the phoneme error rate.

It is trained (`resgen train recogniser`) on the training voices of the speech corpus only, never on held-out voices
or sentences, and reads any speech through the same log-mel as the TTS model (`resgen.speech.audio.log_mel`). Its
symbols are the corpus's phonemes (phonemizer, espeak backend) with stress marks removed; silence is not a symbol.

    rec = load_recogniser(assets_dir() / "speech")
    hyp = rec.transcribe(audio, 22050)                 # ["h", "ə", "l", "oʊ", ...]
    per(reference_phonemes, hyp)                       # edit distance / reference length

Network: a strided 1-D convolution (2 mel frames a step, 43 steps a second), then residual blocks of a gated
(GLU) dilated depthwise convolution with layer norm (the convolution module of a Conformer), then a linear layer to the symbols + the CTC blank (index 0). Input mels are
standardised per utterance and band, so loudness and channel gain do not matter. Shapes: mel (B, 80, F), lengths (B,),
log-probabilities (B, F', V) with F' = ceil(F / stride).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

STRESS = "ˈˌ"
BLANK = 0


def base_phoneme(symbol: str) -> str:
    """'ˈaɪ' -> 'aɪ': the phoneme without its stress mark."""
    return symbol.strip(STRESS)


def phoneme_inventory(symbols) -> tuple[str, ...]:
    """The recogniser's symbols from a corpus symbol table: stress removed, <pad>/<sil> dropped, sorted."""
    return tuple(sorted({base_phoneme(s) for s in symbols if not s.startswith("<")}))


@dataclass(frozen=True)
class RecogniserConfig:
    symbols: tuple[str, ...]      # index i + 1 in the output; 0 is the CTC blank
    n_mels: int = 80
    width: int = 256
    blocks: int = 8
    kernel: int = 9
    stride: int = 2
    dropout: float = 0.1


def phoneme_ids(phonemes, symbols: tuple[str, ...]) -> list[int]:
    """Corpus phonemes (stress marks and <sil> allowed) -> recogniser ids (1-based); an unknown symbol is an error."""
    index = {s: i + 1 for i, s in enumerate(symbols)}
    out = []
    for p in phonemes:
        if p.startswith("<"):
            continue
        b = base_phoneme(p)
        if b not in index:
            raise ValueError(f"phoneme {p!r} is not in the recogniser's inventory")
        out.append(index[b])
    return out


class GatedBlock(nn.Module):
    """Conformer-style convolution module: norm, pointwise conv + GLU, dilated depthwise conv, GELU, pointwise."""

    def __init__(self, width: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.gate = nn.Conv1d(width, 2 * width, 1)
        self.depthwise = nn.Conv1d(width, width, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2,
                                   groups=width)
        self.proj = nn.Conv1d(width, width, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x (B, C, F'), keep (B, 1, F') float: padded frames are zeroed before the time convolution."""
        h = self.norm(x.transpose(1, 2)).transpose(1, 2)
        h = F.glu(self.gate(h), dim=1) * keep
        h = self.proj(F.gelu(self.depthwise(h)))
        return x + self.drop(h)


class PhonemeRecogniser(nn.Module):
    def __init__(self, cfg: RecogniserConfig):
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Conv1d(cfg.n_mels, cfg.width, 2 * cfg.stride + 1, stride=cfg.stride, padding=cfg.stride)
        self.blocks = nn.ModuleList(GatedBlock(cfg.width, cfg.kernel, 2 ** (i % 3), cfg.dropout)
                                    for i in range(cfg.blocks))
        self.norm = nn.LayerNorm(cfg.width)
        self.out = nn.Linear(cfg.width, len(cfg.symbols) + 1)

    def out_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return (lengths + self.cfg.stride - 1) // self.cfg.stride

    @staticmethod
    def standardise(mel: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Per-utterance, per-band mean 0 / std 1 over the valid frames; padding set to 0."""
        keep = (torch.arange(mel.shape[-1], device=mel.device) < lengths[:, None])[:, None].float()   # (B, 1, F)
        n = keep.sum(-1, keepdim=True).clamp(min=1)
        mean = (mel * keep).sum(-1, keepdim=True) / n
        var = ((mel - mean) ** 2 * keep).sum(-1, keepdim=True) / n
        return (mel - mean) / (var + 1e-5).sqrt() * keep

    def forward(self, mel: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mel (B, 80, F) log-mel, lengths (B,) -> (log-probabilities (B, F', V), output lengths (B,))."""
        x = self.inp(self.standardise(mel, lengths))                        # (B, C, F')
        out_len = self.out_lengths(lengths)
        keep = (torch.arange(x.shape[-1], device=x.device) < out_len[:, None])[:, None].float()
        for block in self.blocks:
            x = block(x, keep)
        logits = self.out(self.norm(x.transpose(1, 2)))                     # (B, F', V)
        return logits.log_softmax(-1), out_len


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
    """Best path: argmax per frame, repeats collapsed, blanks dropped -> symbol ids (1-based) per utterance."""
    best = log_probs.argmax(-1).cpu()
    out = []
    for b, n in enumerate(lengths.tolist()):
        seq = torch.unique_consecutive(best[b, :n]).tolist()
        out.append([s for s in seq if s != BLANK])
    return out


def edit_distance(ref: list, hyp: list) -> int:
    """Levenshtein distance (substitutions, insertions, deletions cost 1)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def per(references: list[list[str]], hypotheses: list[list[str]]) -> float:
    """Corpus phoneme error rate: total edit distance over total reference length."""
    errors = sum(edit_distance(r, h) for r, h in zip(references, hypotheses))
    return errors / max(1, sum(len(r) for r in references))


class Recogniser:
    """A trained PhonemeRecogniser with its mel front end: transcribe(audio, rate) -> phonemes."""

    def __init__(self, net: PhonemeRecogniser):
        self.net = net.eval()
        self.symbols = net.cfg.symbols

    def to_ids(self, phonemes) -> list[int]:
        return phoneme_ids(phonemes, self.symbols)

    def reference(self, phonemes) -> list[str]:
        """Corpus phonemes -> what the recogniser is scored against (stress and silences removed)."""
        return [self.symbols[i - 1] for i in self.to_ids(phonemes)]

    @torch.no_grad()
    def transcribe_mels(self, mels: list[torch.Tensor]) -> list[list[str]]:
        """Log-mels (80, F) each -> phoneme strings, batched by length."""
        out: list[list[str] | None] = [None] * len(mels)
        order = sorted(range(len(mels)), key=lambda i: mels[i].shape[-1])
        for s in range(0, len(order), 16):
            idx = order[s:s + 16]
            lengths = torch.tensor([mels[i].shape[-1] for i in idx])
            batch = torch.zeros(len(idx), mels[idx[0]].shape[0], int(lengths.max()))
            for k, i in enumerate(idx):
                batch[k, :, :mels[i].shape[-1]] = mels[i]
            lp, n = self.net(batch, lengths)
            for i, ids in zip(idx, greedy_decode(lp, n)):
                out[i] = [self.symbols[j - 1] for j in ids]
        return out

    @torch.no_grad()
    def choose(self, audios: list[np.ndarray], sample_rate: int, candidates: list[list[str]]) -> list[int]:
        """Forced choice: for each audio, the candidate phoneme sequence (corpus phonemes) with the lowest CTC loss
        per phoneme, i.e. which of the test sentences it most likely says. Far more robust than open transcription
        (a recogniser that misreads a voice's phonemes may still tell its sentences apart), so it still sees where
        the PER is blind; a chance-level choice (1 / len(candidates)) means the speech carries no words at all."""
        import torch.nn.functional as F
        ids = [torch.tensor(self.to_ids(c) or [BLANK + 1]) for c in candidates]
        lengths = torch.tensor([len(t) for t in ids])
        flat = torch.cat(ids)
        out = []
        for mel in self._mels(audios, sample_rate):
            lp, n = self.net(mel[None], torch.tensor([mel.shape[-1]]))           # (1, T', V)
            lp = lp.float().transpose(0, 1).expand(-1, len(ids), -1)               # (T', C, V)
            loss = F.ctc_loss(lp, flat, n.expand(len(ids)), lengths, blank=BLANK, reduction="none",
                              zero_infinity=True)
            loss = torch.where(loss == 0, torch.inf, loss) / lengths               # 0: impossible (zero_infinity)
            out.append(int(loss.argmin()))
        return out

    def _mels(self, audios, sample_rate):
        from resgen.speech.audio import MelConfig, log_mel, resample
        for a in audios:
            a = np.asarray(a, np.float32)
            if sample_rate != MelConfig.sample_rate:
                a = resample(a, sample_rate, MelConfig.sample_rate)
            yield log_mel(torch.from_numpy(a))[0]

    def transcribe(self, audio: np.ndarray, sample_rate: int) -> list[str]:
        return self.transcribe_all([audio], sample_rate)[0]

    def transcribe_all(self, audios: list[np.ndarray], sample_rate: int) -> list[list[str]]:
        return self.transcribe_mels(list(self._mels(audios, sample_rate)))


def load_recogniser(folder: str | Path) -> Recogniser:
    """The recogniser in `folder` (recogniser.json + recogniser.safetensors, hash checked)."""
    from resgen.core.config import from_dict
    from resgen.core.weights import ModelFileError, check_files, load_module, read_json
    folder = Path(folder)
    meta = read_json(folder / "recogniser.json")
    check_files(folder, meta, "recogniser.json")
    cfg = from_dict(RecogniserConfig, meta["recogniser"])
    if not cfg.symbols:
        raise ModelFileError(f"{folder / 'recogniser.json'} lists no symbols")
    return Recogniser(load_module(PhonemeRecogniser(cfg), folder / "recogniser.safetensors"))
