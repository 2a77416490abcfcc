"""Zero-shot text-to-speech: text + a few seconds of a voice -> speech in that voice.

    pipe = resgen.load("speech")
    res = pipe.generate("Revenge is a form of nostalgia.", prompt_audio, prompt_rate, speed=1.0, seed=0)
    res.audio                # float32 (S,) at 22.05 kHz
    for trace in pipe.generate_steps(...): ...   # one StepTrace per step over [prompt | target]

A text longer than one generation (up to MAX_TEXT characters) is split at sentence, then clause, then word
boundaries (`chunk_text`, resgen/speech/chunks.py); every chunk is spoken from the same prompt (seed + k for chunk k)
and the audio is joined with a 30 ms cross-fade. `res.parts` holds each chunk's own result (its trace included).

Text -> phonemes (phonemizer, espeak backend, `accent`) -> durations (predicted from the phonemes
and the prompt's speaker vector, times the prompt's pace when its transcript is given (resgen/speech/pace.py),
divided by `speed`) -> a phoneme id per target position -> the
ResGEN sampler with the prompt's tokens visible -> target tokens -> log-mel (decoded behind the prompt's tokens) ->
vocoder.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from resgen.speech.audio import MelConfig, log_mel
from resgen.speech.prompt_audio import PROMPT_SECONDS, condition_prompt
from resgen.core.config import MelTokenizerConfig, SamplerConfig, SpeechModelConfig, from_dict
from resgen.core.sampler import MAX_SPEAKER_CFG, SamplerState, checked_settings, make_plan, run
from resgen.speech.corpus import ACCENTS
from resgen.speech.outputs import SpeechOutputs
from resgen.speech.model import NULL_TEXT, SpeechModel, durations_from_log, positions_phonemes
from resgen.speech.pace import PaceMemo
from resgen.speech.postfilter import MATCH, PostfilterConfig
from resgen.speech.tokenizer import MelTokenizer
from resgen.core.trace import StepTrace
from resgen.speech.vocoder import VOCODERS
from resgen.core.mog import MoGParams
from resgen.core.weights import ModelFileError, check_files, file_sha256, load_module, read_json

MAX_TEXT = 3000                     # characters, in chunks of at most MAX_CHUNK_TEXT that each fit one generation
MAX_CHUNK_TEXT = 400
CROSSFADE_S = 0.03


@dataclass
class SpeechResult:
    audio: np.ndarray               # float32 (S,) at sample_rate
    sample_rate: int
    mel: torch.Tensor               # (80, F) generated log-mel
    codes: torch.Tensor             # (Nt, D) generated tokens
    prompt_positions: int           # Np: the trace's first Np positions are the prompt
    phonemes: list[str]
    traces: list[StepTrace]
    seconds: float
    backend: str
    settings: dict = field(default_factory=dict)
    chunks: list["SpeechResult"] = field(default_factory=list)   # a long text's per-chunk results (else empty)
    chunk_texts: list[str] = field(default_factory=list)

    @property
    def parts(self) -> list["SpeechResult"]:
        """Each generation's own result: the chunks of a long text, or this result alone."""
        return self.chunks or [self]

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    @property
    def rtf(self) -> float:
        return self.seconds / max(self.duration, 1e-9)

    def trace_meta(self) -> dict:
        return {"task": "speech", "prompt_positions": self.prompt_positions, "phonemes": self.phonemes,
                "backend": self.backend, **self.settings}


class SpeechPipeline(SpeechOutputs):
    def __init__(self, model_dir: str | Path, backend: str = "auto", device: str | torch.device = "cpu",
                 vocoder_path: str | Path | None = None):
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").exists():
            raise ModelFileError(f"no speech model in {self.model_dir} ({self.model_dir / 'config.json'} is missing; "
                                 "see the README's Speech section to train one)")
        cfg = read_json(self.model_dir / "config.json")
        check_files(self.model_dir, cfg)
        try:
            self.tok_cfg = from_dict(MelTokenizerConfig, cfg["tokenizer"])
            self.cfg = from_dict(SpeechModelConfig, cfg["model"])
            self.symbols: dict[str, int] = dict(cfg["symbols"])
            self.latent_scale = float(cfg["latent_scale"])
            self.defaults = from_dict(SamplerConfig, cfg.get("sampler", {}))
            self.voice_guidance = float(cfg.get("prompt_drop", 0.0)) > 0    # trained with its prompt masked at times
            self.postfilter = from_dict(PostfilterConfig, cfg.get("postfilter", {}))
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"{self.model_dir / 'config.json'} is not a valid speech model config: {e}") from None
        self.device = torch.device(device)
        self.tokenizer = load_module(MelTokenizer(self.tok_cfg), self.model_dir / "tokenizer.safetensors")
        self.tokenizer.eval().to(self.device)
        self.model = load_module(SpeechModel(self.cfg), self.model_dir / "model.safetensors").eval().to(self.device)
        self._hashes = dict(cfg.get("files", {}))
        self.denoiser_weights = "model.safetensors"
        from resgen.core.backends import make_predict
        self.predict, self.backend = make_predict(self, backend)
        self._backend_request = backend                 # the vocoder's backend follows it (vocoder_backends.py)
        self.vocoder_backend: str | None = None
        self._vocoder_path = Path(vocoder_path) if vocoder_path else self._find_vocoder()
        self._hifigan = self._phonemizer = None
        self._pace = PaceMemo()

    def torch_predict(self, tokens: torch.Tensor, cond: torch.Tensor, prev=None) -> MoGParams:
        """The PyTorch denoiser: tokens (B, N, D), condition ids (B, N) or (B, N, F) -> MoGParams."""
        return self.model.denoise(tokens, cond, prev=prev)

    def weights_sha256(self, name: str) -> str:
        return self._hashes.get(name) or file_sha256(self.model_dir / name)

    def probe_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One denoiser call of a long utterance: tokens (1, N, D), a prompt and a target of phoneme ids."""
        N, D = self.cfg.denoiser.positions, self.tok_cfg.rvq.depth
        tokens = torch.zeros(1, N, D, dtype=torch.long, device=self.device)
        F = self.cfg.denoiser.cond_frames
        cond = torch.full((1, N, *([F] if F > 1 else [])), self.cfg.prompt_id, dtype=torch.long, device=self.device)
        cond[0, self.cfg.max_prompt:] = 1
        return tokens, cond

    def _find_vocoder(self) -> Path:
        local = self.model_dir / "vocoder.safetensors"
        if local.exists():
            return local
        from resgen.core.paths import assets_dir
        return assets_dir() / "speech" / "vocoder.safetensors"

    # ---- inputs ----------------------------------------------------------------------------
    @staticmethod
    def check_text(text: str, limit: int = MAX_TEXT) -> str:
        text = (text or "").strip()
        if not text:
            raise ValueError("the text is empty")
        if len(text) > limit:
            raise ValueError(f"the text is too long ({len(text)} characters; at most {limit})")
        return text

    def phonemes(self, text: str, accent: str = "en-us") -> list[str]:
        """Text of one generation -> the model's phoneme symbols, with <sil> at both ends. Raises ValueError."""
        text = self.check_text(text, MAX_CHUNK_TEXT)
        if accent not in ACCENTS:
            raise ValueError(f"unknown accent {accent!r}; choose one of {', '.join(ACCENTS)}")
        if self._phonemizer is None:
            from resgen.speech.corpus import Phonemizer
            self._phonemizer = Phonemizer()
        phones = self._phonemizer([text], accent)[0]
        known = [p for p in phones if p in self.symbols]
        if not known:
            raise ValueError("the text has no pronounceable words")
        if len(known) < len(phones):
            warnings.warn(f"{len(phones) - len(known)} phonemes unknown to the model were skipped", stacklevel=2)
        return ["<sil>", *known, "<sil>"]

    def prompt_codes(self, audio: np.ndarray, sample_rate: int) -> torch.Tensor:
        """Prompt audio (any rate, mono or multi-channel) -> its first max_prompt token positions (Np, D)."""
        return self.prompt(audio, sample_rate)[0]

    @torch.no_grad()
    def prompt(self, audio: np.ndarray, sample_rate: int) -> tuple[torch.Tensor, tuple[str, ...]]:
        """Prompt audio -> (token positions (Np, D), what was done to the audio: resampled, trimmed, ...;
        resgen/speech/prompt_audio.py). Audio it cannot use raises AudioError."""
        p = condition_prompt(audio, sample_rate, min_s=PROMPT_SECONDS[0], max_s=PROMPT_SECONDS[1])
        mel = log_mel(torch.from_numpy(p.audio).to(self.device))
        return self.tokenizer.encode(mel)[0, : self.cfg.max_prompt], p.notices

    def sampling_settings(self, steps, cfg, temperature, top_p, seed, speed, pace: float = 1.0, speaker_cfg=None):
        """A user's settings (None: the model's) -> a checked dict; ValueError fit for a user. pace: the prompt's pace
        (resgen/speech/pace.py); durations are predicted, times pace, divided by speed."""
        s = checked_settings(self.defaults, steps, cfg, temperature, top_p, seed)
        if not 0.5 <= float(speed) <= 2.0:
            raise ValueError("speed must be between 0.5 and 2.0")
        voice = self.defaults.speaker_cfg if speaker_cfg is None else float(speaker_cfg)
        if not 0 <= voice <= MAX_SPEAKER_CFG:
            raise ValueError(f"speaker_cfg must be between 0 and {MAX_SPEAKER_CFG:g}")
        if voice != 1.0 and not self.voice_guidance:
            raise ValueError("this speech model was not trained for guidance on the voice: speaker_cfg must be 1")
        return s | {"speaker_cfg": voice, "speed": float(speed), "pace": round(float(pace), 3)}

    def pace(self, audio: np.ndarray, rate: int, prompt_text: str | None, accent: str = "en-us") -> float:
        """1 without a transcript of the prompt; with one, the prompt's pace (resgen/speech/pace.py)."""
        return 1.0 if prompt_text is None or not str(prompt_text).strip() else self._pace(
            self, audio, rate, prompt_text, accent)

    # ---- sampling --------------------------------------------------------------------------
    @torch.no_grad()
    def durations(self, phonemes: list[str], prompt: torch.Tensor, speed: float = 1.0) -> torch.Tensor:
        """The duration predictor: phoneme symbols in the voice of the prompt's codes (Np, D) -> frames (P,)."""
        ids = torch.tensor([[self.symbols[p] for p in phonemes]], device=self.device)
        latents = self.tokenizer.rvq.decode(prompt[None].to(self.device)) / self.latent_scale
        return durations_from_log(self.model.log_durations(ids, latents)[0], speed)

    @torch.no_grad()
    def plan_target(self, phonemes: list[str], prompt: torch.Tensor, speed: float) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (durations in frames (P,), phoneme ids per target position: (Nt,), or (Nt, F) for a model
        conditioned on F frames per position)."""
        frames = self.durations(phonemes, prompt, speed)
        ids = torch.tensor([self.symbols[p] for p in phonemes])
        pos = positions_phonemes(ids, frames.cpu(), self.cfg.frames_per_position, self.cfg.denoiser.cond_frames)
        room = self.cfg.denoiser.positions - len(prompt)
        if len(pos) > room:
            raise ValueError(f"the text is too long for one utterance ({len(pos)} positions; at most {room})")
        return frames.cpu(), pos

    @torch.no_grad()      # on a generator, torch re-enters no_grad at every resume (whatever the thread)
    def _sample(self, prompt: torch.Tensor, pos: torch.Tensor, s: dict,
                known: torch.Tensor | None = None) -> Iterator[StepTrace]:
        """known (Nt, k): the target's codes at depths 1..k given (diagnosis); the sampler fills the rest."""
        Np, Nt, D = len(prompt), len(pos), self.tok_cfg.rvq.depth
        k = 0 if known is None else known.shape[1]
        dev = self.device
        codes = torch.zeros(1, Np + Nt, D, dtype=torch.long, device=dev)
        codes[0, :Np] = prompt
        mask = torch.zeros(1, Np + Nt, D, dtype=torch.bool, device=dev)
        mask[0, Np:, k:] = True
        if k:
            codes[0, Np:, :k] = known.to(dev)
        cond = torch.full((1, Np + Nt, *pos.shape[1:]), self.cfg.prompt_id, dtype=torch.long, device=dev)
        cond[0, Np:] = pos.to(dev)
        null = cond.clone()
        null[0, Np:] = NULL_TEXT
        plan = make_plan(s["steps"], Nt, D - k, cfg=s["cfg"], temperature=s["temperature"], top_p=s["top_p"],
                         sigma=self.cfg.denoiser.mog.sigma, latent_scale=self.latent_scale,
                         schedule=self.defaults.schedule, mog_noise=self.defaults.mog_noise,
                         cfg_schedule=self.defaults.cfg_schedule, code_temperature=self.defaults.code_temperature,
                         pi_temperature=s["pi_temperature"], speaker_cfg=s["speaker_cfg"],
                         self_cond=self.cfg.denoiser.self_cond)
        gen = torch.Generator(device=dev).manual_seed(s["seed"])
        is_prompt = (torch.arange(Np + Nt, device=dev) < Np)[None]               # (1, N)
        for _, trace in run(self.predict, plan, self.tokenizer.rvq, SamplerState(codes, mask, 0), cond, null,
                            self.tok_cfg.rvq.codebook_size, gen, prompt=is_prompt):
            yield trace

    def chunk_text(self, text: str, prompt_audio: np.ndarray, prompt_rate: int, speed: float = 1.0,
                   accent: str = "en-us", prompt_text: str | None = None) -> list[str]:
        """A text of up to MAX_TEXT characters -> chunks that each fit one generation with this prompt and speed
        (one chunk when the whole text fits; resgen/speech/chunks.py). Raises ValueError for bad input."""
        from resgen.speech.chunks import chunk_text
        return chunk_text(self, text, prompt_audio, prompt_rate, speed, accent, prompt_text)

    def generate_steps(self, text: str, prompt_audio: np.ndarray, prompt_rate: int, speed: float = 1.0,
                       steps: int | None = None, cfg: float | None = None, temperature: float | None = None,
                       top_p: float | None = None, seed: int = 0, accent: str = "en-us",
                       prompt_text: str | None = None, speaker_cfg: float | None = None):
        """-> (iterator of StepTrace, prompt positions, phonemes, settings; settings["prompt_notices"] says what was
        done to the prompt audio, settings["pace"] the prompt's pace when `prompt_text`, its transcript, is given).
        Bad input raises ValueError or AudioError at once."""
        s = self.sampling_settings(steps, cfg, temperature, top_p, seed, speed,
                                   self.pace(prompt_audio, prompt_rate, prompt_text, accent), speaker_cfg)
        phonemes = self.phonemes(text, accent)
        prompt, notices = self.prompt(prompt_audio, prompt_rate)
        _, pos = self.plan_target(phonemes, prompt, s["speed"] / s["pace"])
        s["prompt_notices"] = list(notices)
        return self._sample(prompt, pos, s), len(prompt), phonemes, s

    @torch.no_grad()
    def generate(self, text: str, prompt_audio: np.ndarray, prompt_rate: int, speed: float = 1.0,
                 steps: int | None = None, cfg: float | None = None, temperature: float | None = None,
                 top_p: float | None = None, seed: int = 0, accent: str = "en-us",
                 vocoder: str = "hifigan", on_chunk=None, prompt_text: str | None = None,
                 speaker_cfg: float | None = None, contrast: float | str | None = None,
                 behind_prompt: bool = True, correction: float | None = None) -> SpeechResult:
        """Speak `text` (up to MAX_TEXT characters; a long one in chunks, see the module docstring).
        on_chunk(k, n, chunk_text) is called before chunk k of n is generated. prompt_text: what the prompt says
        (optional): the speech then takes the prompt speaker's pace (resgen/speech/pace.py). speaker_cfg: guidance
        on the prompt's voice (1 = none; the model's default when None). contrast: the spectral-contrast postfilter
        on the generated mel (resgen/speech/postfilter.py; 0 = none, "prompt" = matched to the prompt's formant detail;
        the model's default when None; the contrast applied is in settings["contrast"]). behind_prompt:
        decode the codes behind the prompt's (`decode`); False decodes them alone, as before 2026-12-07 (diagnosis).
        correction: how much of the tokenizer's error on the prompt to take out of the speech (0-1; the model's
        default when None; resgen/speech/correction.py)."""
        if vocoder not in VOCODERS:
            raise ValueError(f"unknown vocoder {vocoder!r}; choose one of {', '.join(VOCODERS)}")
        contrast = self.postfilter.resolve(contrast)
        correction = self.postfilter.resolve_correction(correction)
        t0 = time.perf_counter()
        chunks = self.chunk_text(text, prompt_audio, prompt_rate, speed, accent, prompt_text)
        voice = self.prompt_voice(prompt_audio, prompt_rate) if contrast == MATCH or correction else None   # once
        parts = []
        for k, chunk in enumerate(chunks):
            if on_chunk is not None:
                on_chunk(k, len(chunks), chunk)
            parts.append(self._speak(chunk, prompt_audio, prompt_rate, speed, steps, cfg, temperature, top_p,
                                     seed + k, accent, vocoder, prompt_text, speaker_cfg, contrast, behind_prompt,
                                     voice, correction))
        if len(parts) == 1:
            return parts[0]
        from resgen.speech.chunks import crossfade_join
        audio = crossfade_join([r.audio for r in parts], MelConfig.sample_rate, CROSSFADE_S)
        first = parts[0]
        mel = torch.cat([r.mel for r in parts], -1)          # the whole speech; codes and trace: the first chunk's
        return SpeechResult(audio, MelConfig.sample_rate, mel, first.codes, first.prompt_positions,
                            first.phonemes, first.traces, time.perf_counter() - t0, self.backend,
                            {**first.settings, "seed": seed, "chunks": len(parts)}, parts, chunks)

    def _speak(self, text, prompt_audio, prompt_rate, speed, steps, cfg, temperature, top_p, seed, accent,
               vocoder, prompt_text=None, speaker_cfg=None, contrast: float | str = 0.0,
               behind_prompt: bool = True, voice=None, correction: float = 0.0) -> SpeechResult:
        """One generation (a text that fits one); voice: the prompt's PromptVoice (resgen/speech/outputs.py);
        correction: a resolved strength (`generate`)."""
        t0 = time.perf_counter()
        it, Np, phonemes, s = self.generate_steps(text, prompt_audio, prompt_rate, speed, steps, cfg, temperature,
                                                  top_p, seed, accent, prompt_text, speaker_cfg)
        traces = list(it)
        codes = traces[-1].codes[0, Np:]
        out = self.speak_codes(traces[-1].codes[0], Np, contrast, vocoder, behind_prompt, voice, correction)
        mel, audio, used = out.mel, out.audio, out.contrast
        settings = {**s, "accent": accent, "vocoder": vocoder, "contrast": used, "correction": correction,
                    "correction_map": None if out.correction is None else out.correction.as_dict()}
        if contrast == MATCH:
            settings["contrast_setting"] = MATCH
        if vocoder == "hifigan":
            settings["vocoder_backend"] = self.vocoder_backend
            settings["pause_gate"] = self.postfilter.pause_gate
        return SpeechResult(audio, MelConfig.sample_rate, mel, codes, Np, phonemes, traces, time.perf_counter() - t0,
                            self.backend, settings)
