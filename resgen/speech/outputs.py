"""The speech pipeline's outputs: a sample's codes -> log-mel (decoded behind the prompt's codes) -> audio.

`SpeechPipeline` (resgen/speech/pipeline.py) takes these methods; they read its tokenizer, device, postfilter and
vocoder settings.
"""
from __future__ import annotations

import numpy as np
import torch

from resgen.speech.vocoder import vocode


class SpeechOutputs:
    """decode, speak_codes, vocode and decode_partial of SpeechPipeline."""

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, depth: int | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """codes (Nt, D) -> log-mel (80, Nt * 4) from the first `depth` depths. context (Np, D): the prompt's codes,
        decoded in front of the target (all depths) and cut off after, so the decoder's GroupNorm statistics come
        partly from the prompt's voice (how generated speech is decoded: docs/speech-intelligibility.md)."""
        return self._decode_latent(self.tokenizer.rvq.decode(codes[None].to(self.device), depth), context)

    def speak_codes(self, codes: torch.Tensor, Np: int, contrast: float | str = 0.0, vocoder: str = "hifigan",
                    behind_prompt: bool = True,
                    prompt_detail: tuple[float, ...] | None = None) -> tuple[torch.Tensor, np.ndarray, float | tuple]:
        """A sample's codes (Np + Nt, D), the prompt's first -> (log-mel (80, Nt * 4), audio, the contrast applied):
        the target decoded behind the prompt (alone when not behind_prompt), through the postfilter at `contrast`
        (a number, or "prompt": matched to `prompt_detail`, the prompt's from `prompt_detail()`), vocoded."""
        mel = self.decode(codes[Np:], context=codes[:Np] if behind_prompt else None)
        used = self.postfilter.contrast_for(mel, prompt_detail, contrast)
        mel = self.postfilter.apply(mel, used)
        return mel, self.vocode(mel, vocoder), used

    def _decode_latent(self, z: torch.Tensor, context: torch.Tensor | None) -> torch.Tensor:
        """z (1, Nt, E) -> log-mel (80, Nt * 4), behind the context's latents when given."""
        if context is None or not len(context):
            return self.tokenizer.decode_latent(z)[0]
        return self.tokenizer.decode_behind(z, self.tokenizer.rvq.decode(context[None].to(z.device)))[0]

    @torch.no_grad()
    def vocode(self, mel: torch.Tensor, vocoder: str = "hifigan", gl_iters: int = 32) -> np.ndarray:
        """log-mel (80, F) -> float32 audio (F * 256,); gl_iters: Griffin-Lim's iterations (fewer for quick
        previews)."""
        if vocoder == "hifigan" and self._hifigan is None:
            from resgen.speech.vocoder_backends import load_vocoder
            self._hifigan, self.vocoder_backend = load_vocoder(self._vocoder_path, self._backend_request, self.device)
        return vocode(mel[None], vocoder, self._hifigan, gl_iters)[0].cpu().numpy().astype(np.float32)

    @torch.no_grad()
    def decode_partial(self, codes: torch.Tensor, mask: torch.Tensor,
                       context: torch.Tensor | None = None) -> torch.Tensor:
        """Only the revealed tokens: codes, mask (Nt, D) -> log-mel (80, Nt * 4); context as in `decode`."""
        rvq = self.tokenizer.rvq
        z = (rvq.embed_per_depth(codes[None].to(self.device)) * (~mask[None].to(self.device))[..., None]).sum(2)
        return self._decode_latent(z, context)
