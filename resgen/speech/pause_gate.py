"""The vocoder's audio held to its mel in the pauses.

HiFi-GAN puts a little energy where its mel says there is almost none, most of all when its residual blocks run in
int8 (the shipped vocoder.onnx, resgen/speech/vocoder_backends.py): int8's rounding is a noise floor about 24 dB
under the speech, masked while someone speaks and heard as hiss in the pauses. This gate measures the audio's own
log-mel (the STFT of resgen/speech/audio.py, frames centred on multiples of the hop), and in the frames that are not
speech (postfilter.speech_frames: mean log-mel more than SPEECH_RANGE under the loudest frame of the mel) scales each
STFT bin down by the excess of the audio's mel bands over the wanted ones:

    gain[band, frame] = min(1, exp(strength * (wanted - got)))        # never louder; 1 in speech frames

each bin taking the mean gain of the mel bands it falls in, weighted by the filterbank (bins above fmax the top
band's), the phase kept. Measured on the espeak validation split (116 pairs, seed 0; docs/backends.md): an int8 graph
calibrated on espeak speech -0.0003 of voice similarity against the float vocoder alone, +0.0001 with the gate; the
float vocoder with the gate +0.0003. Applying the gain in speech frames as well takes 0.004 of similarity away:
HiFi-GAN's energy above the decoded mel is part of how a voice sounds.
Shapes: audio (B, S = F * hop), log-mel (B, 80, F).
"""
from __future__ import annotations

from functools import lru_cache

import torch

from resgen.speech.audio import MelConfig, mel_filterbank
from resgen.speech.postfilter import speech_frames


@lru_cache(maxsize=4)
def _bands(cfg: MelConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (the filterbank (80, n_fft/2+1), each bin's weights over the bands (80, n_fft/2+1), summing to 1 per bin;
    bins no band covers take the top covered bin's weights)."""
    basis = torch.from_numpy(mel_filterbank(cfg)).float()
    covered = basis.sum(0) > 0
    weights = basis / basis.sum(0, keepdim=True).clamp(min=1e-12)
    top = int(covered.nonzero().max())
    weights[:, ~covered] = weights[:, top: top + 1]
    return basis, weights


def hold_pauses(audio: torch.Tensor, mel: torch.Tensor, strength: float = 1.0,
                cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """audio (B, S = F * hop) vocoded from log-mel (B, 80, F) -> the same audio with its excess energy over the mel
    taken out of the frames that are not speech, at `strength` (0: unchanged)."""
    if strength <= 0:
        return audio
    S = audio.shape[-1]
    window = torch.hann_window(cfg.win, device=audio.device, dtype=audio.dtype)
    spec = torch.stft(audio, cfg.n_fft, cfg.hop, cfg.win, window=window, center=True, return_complex=True)
    basis, weights = (t.to(audio.device, audio.dtype) for t in _bands(cfg))
    got = torch.log((basis @ spec.abs()).clamp(min=cfg.log_floor))                 # (B, 80, F + 1)
    wanted = torch.nn.functional.pad(mel, (1, 1), mode="replicate")
    wanted = 0.5 * (wanted[..., :-1] + wanted[..., 1:])                           # the mel at the STFT's frame centres
    speech = speech_frames(wanted)[:, None]                                       # (B, 1, F + 1)
    gain = torch.exp((strength * (wanted - got)).clamp(max=0)).masked_fill(speech, 1.0)
    per_bin = torch.einsum("mk,bmf->bkf", weights, gain)                           # (B, n_fft/2+1, F + 1)
    return torch.istft(spec * per_bin, cfg.n_fft, cfg.hop, cfg.win, window=window, center=True, length=S)
