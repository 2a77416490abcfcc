"""The speech pipeline's outputs: a sample's codes -> log-mel (decoded behind the prompt's codes; the tokenizer's
error on the prompt taken out, resgen/speech/correction.py; the contrast postfilter, resgen/speech/postfilter.py) ->
audio (HiFi-GAN's held to the mel in pauses, resgen/speech/pause_gate.py).

`SpeechPipeline` (resgen/speech/pipeline.py) takes these methods; they read its tokenizer, device, postfilter and
vocoder settings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from resgen.speech.audio import log_mel
from resgen.speech.correction import Correction, fit
from resgen.speech.pause_gate import hold_pauses
from resgen.speech.postfilter import Contrast
from resgen.speech.prompt_audio import PROMPT_SECONDS, condition_prompt
from resgen.speech.vocoder import vocode


@dataclass(frozen=True)
class PromptVoice:
    """What the outputs take from the prompt recording, over the part the model hears: its real log-mel (80, F) and
    its across-band detail per band group of the postfilter (what contrast "prompt" matches)."""
    mel: torch.Tensor
    detail: tuple[float, ...]


class Spoken(NamedTuple):
    mel: torch.Tensor                  # (80, Nt * 4): the log-mel that was vocoded
    audio: np.ndarray                  # float32 (Nt * 4 * 256,)
    contrast: Contrast                 # the contrast applied (one number, or one per band group)
    correction: Correction | None      # the per-band map applied (strength folded in), None when none was


class SpeechOutputs:
    """decode, speak_codes, vocode and decode_partial of SpeechPipeline."""

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, depth: int | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """codes (Nt, D) -> log-mel (80, Nt * 4) from the first `depth` depths. context (Np, D): the prompt's codes,
        decoded in front of the target (all depths) and cut off after, so the decoder's GroupNorm statistics come
        partly from the prompt's voice (how generated speech is decoded: docs/speech-intelligibility.md)."""
        return self._decode_latent(self.tokenizer.rvq.decode(codes[None].to(self.device), depth), context)

    @torch.no_grad()
    def prompt_voice(self, audio: np.ndarray, sample_rate: int) -> PromptVoice:
        """Prompt audio -> its PromptVoice over the part the model hears (the first max_prompt positions' frames).
        Audio it cannot use raises AudioError."""
        p = condition_prompt(audio, sample_rate, min_s=PROMPT_SECONDS[0], max_s=PROMPT_SECONDS[1])
        mel = log_mel(torch.from_numpy(p.audio).to(self.device))[0, :, : self.cfg.max_prompt * self.tok_cfg.downsample]
        return PromptVoice(mel, self.postfilter.detail(mel))

    def prompt_detail(self, audio: np.ndarray, sample_rate: int) -> tuple[float, ...]:
        """The prompt's across-band detail (`prompt_voice`), one number per band group of the model's postfilter."""
        return self.prompt_voice(audio, sample_rate).detail

    @torch.no_grad()
    def speak_codes(self, codes: torch.Tensor, Np: int, contrast: Contrast | str = 0.0, vocoder: str = "hifigan",
                    behind_prompt: bool = True, voice: PromptVoice | None = None,
                    correction: float | None = None) -> Spoken:
        """A sample's codes (Np + Nt, D), the prompt's first -> Spoken: the target decoded behind the prompt (alone
        when not behind_prompt); the tokenizer's error on this voice (the prompt's decoding against `voice.mel`) taken
        out at strength `correction` (None: the model's default; nothing without a voice); through the postfilter at
        `contrast` (a number, or "prompt": matched to `voice.detail`); vocoded."""
        strength = self.postfilter.resolve_correction(correction)
        correct = bool(strength) and voice is not None and Np > 0
        z = self.tokenizer.rvq.decode(codes[None].to(self.device))                  # (1, Np + Nt, E)
        s = self.tok_cfg.downsample
        if behind_prompt and Np:
            both = self.tokenizer.decode_latent(z)[0]
            mel, decoded_prompt = both[:, Np * s:], both[:, : Np * s]
        else:
            mel = self.tokenizer.decode_latent(z[:, Np:])[0]
            decoded_prompt = self.tokenizer.decode_latent(z[:, :Np])[0] if correct else None
        fitted = fit(voice.mel.to(mel.device), decoded_prompt, self.postfilter.spread) if correct else None
        fix = None if fitted is None else fitted.at(strength)
        mel = mel if fix is None else fix.apply(mel)
        used = self.postfilter.contrast_for(mel, None if voice is None else voice.detail, contrast)
        mel = self.postfilter.apply(mel, used)
        return Spoken(mel, self.vocode(mel, vocoder), used, fix)

    def _decode_latent(self, z: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        """z (1, Nt, E) -> log-mel (80, Nt * 4), behind the context's latents when given."""
        if context is None or not len(context):
            return self.tokenizer.decode_latent(z)[0]
        return self.tokenizer.decode_behind(z, self.tokenizer.rvq.decode(context[None].to(z.device)))[0]

    @property
    def vocoder_precision(self) -> str | None:
        """What the loaded HiFi-GAN computes in ("float", or the int8 part of the onnxruntime graph); None before
        it is loaded (on first use)."""
        from resgen.speech.vocoder_backends import precision
        return None if self._hifigan is None else precision(self._hifigan)

    @torch.no_grad()
    def vocode(self, mel: torch.Tensor, vocoder: str = "hifigan", gl_iters: int = 32) -> np.ndarray:
        """log-mel (80, F) -> float32 audio (F * 256,); gl_iters: Griffin-Lim's iterations (fewer for quick
        previews). HiFi-GAN's audio is held to the mel in pauses at the model's pause_gate (pause_gate.py)."""
        if vocoder == "hifigan" and self._hifigan is None:
            from resgen.speech.vocoder_backends import load_vocoder
            self._hifigan, self.vocoder_backend = load_vocoder(self._vocoder_path, self._backend_request, self.device)
        audio = vocode(mel[None], vocoder, self._hifigan, gl_iters)
        if vocoder == "hifigan":
            audio = hold_pauses(audio, mel[None].to(audio.device), self.postfilter.pause_gate)
        return audio[0].cpu().numpy().astype(np.float32)

    @torch.no_grad()
    def decode_partial(self, codes: torch.Tensor, mask: torch.Tensor,
                       context: torch.Tensor | None = None) -> torch.Tensor:
        """Only the revealed tokens: codes, mask (Nt, D) -> log-mel (80, Nt * 4); context as in `decode`."""
        rvq = self.tokenizer.rvq
        z = (rvq.embed_per_depth(codes[None].to(self.device)) * (~mask[None].to(self.device))[..., None]).sum(2)
        return self._decode_latent(z, context)
