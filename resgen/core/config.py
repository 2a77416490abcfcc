"""Frozen configuration dataclasses and presets.

Shape legend used across the library: B batch, N positions, D RVQ depth, V codebook size,
E code-embedding dim, C model width, K mixture components, T sampling steps, F condition ids per
position (speech: mel frames per token position).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RVQConfig:
    depth: int = 8            # D
    codebook_size: int = 256  # V, per depth
    dim: int = 16             # E
    ema_decay: float = 0.99
    dead_threshold: float = 0.5  # EMA uses per batch below which a code is restarted


@dataclass(frozen=True)
class ImageTokenizerConfig:
    in_channels: int = 1
    image_size: int = 32      # 28x28 Fashion-MNIST is padded to 32x32
    channels: tuple[int, ...] = (32, 64, 128)  # widths at 32x32, 16x16, 8x8
    rvq: RVQConfig = field(default_factory=RVQConfig)


@dataclass(frozen=True)
class MelTokenizerConfig:
    n_mels: int = 80
    channels: int = 192       # width of the 1-D convolutions
    downsample: int = 4       # mel frames per token position (a power of two)
    rvq: RVQConfig = field(default_factory=lambda: RVQConfig(depth=8, codebook_size=256, dim=32))
    decoder_channels: int = 0  # width of the decoder's convolutions (0: `channels`)
    decoder_blocks: int = 2    # residual blocks of the decoder before it upsamples
    decoder_post_blocks: int = 0  # residual blocks after it upsamples, at the mel frame rate


@dataclass(frozen=True)
class MoGConfig:
    components: int = 64      # K
    rank: int = 8             # low-rank basis of the component means
    sigma: float = 0.25       # fixed isotropic std of each component, in normalised latent units
    sigma_power: float = 0.0  # training: a position with k masked depths uses sigma (s_k / s_D)^this, s_k the rms
                              # of the sum of the k deepest embeddings (`residual_rms`); 0 = sigma everywhere


@dataclass(frozen=True)
class DenoiserConfig:
    positions: int = 64       # N (the most positions it reads; fewer are fine)
    depth: int = 8            # D (RVQ depth of the tokens it reads)
    codebook_size: int = 256  # V
    code_dim: int = 16        # E (dimension of the predicted sum of embeddings)
    width: int = 256          # C
    layers: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    num_classes: int = 10     # class id == num_classes is the null class used for CFG
    dropout: float = 0.0
    cond_vocab: int = 0       # > 0: a per-position condition id (e.g. the phoneme), 0 = none / null
    cond_frames: int = 1      # F ids per position (cond (B, N, F), e.g. one phoneme per mel frame); 1: cond (B, N)
    conv_kernel: int = 0      # > 0: every block also mixes neighbouring positions by a depthwise convolution of this
                              # odd width (local context, e.g. speech frames); 0 = attention only
    voice_cond: int = -1      # >= 0: the mean token embedding of the positions with this condition id (speech: the
                              # prompt) joins the class in every block's adaLN, a global voice vector beside the
                              # in-context prompt; -1 = none
    self_cond: bool = False   # self-conditioning (Chen et al. 2023, "Analog Bits"): the previous sampling step's
                              # estimate of each position's whole latent (B, N, E) joins the input; its map starts at 0
    mog: MoGConfig = field(default_factory=MoGConfig)


@dataclass(frozen=True)
class DurationConfig:
    width: int = 128
    layers: int = 3
    heads: int = 4


@dataclass(frozen=True)
class SpeechModelConfig:
    symbols: int                        # phoneme table size (0 = <pad>, 1 = <sil>, ...)
    denoiser: DenoiserConfig
    durations: DurationConfig = field(default_factory=DurationConfig)
    frames_per_position: int = 4        # the tokenizer's downsampling
    max_prompt: int = 64                # positions of prompt kept (about 3 s)

    @property
    def prompt_id(self) -> int:         # the condition id of a prompt position (speech)
        return self.symbols


CFG_SCHEDULES = ("constant", "linear")   # guidance per step, see resgen.core.sampler.make_plan


@dataclass(frozen=True)
class SamplerConfig:
    steps: int = 16           # T
    cfg: float = 3.0          # guidance scale; 1.0 = no guidance (one pass per step)
    temperature: float = 1.0  # scale of the annealed Gumbel noise on confidences
    top_p: float = 0.9        # nucleus over mixture components
    schedule: str = "cosine"
    mog_noise: float = 0.0    # draw = chosen component's mean + mog_noise * sigma * N(0, I) (0 = the mean)
    cfg_schedule: str = "constant"  # "constant" or "linear" (guidance grows with the share of known slots)
    pi_temperature: float = 1.0     # mixture logits / this before the component draw (0 = the most likely component)
    code_temperature: float = 0.0   # codes drawn from softmax(-dist / (2 (sigma scale)^2 * this)) per depth (0 = nearest)
    speaker_cfg: float = 1.0        # guidance on the prompt, speech (1 = none; a model trained with --prompt-drop)

    def __post_init__(self):
        check_cfg_schedule(self.cfg_schedule)


def check_cfg_schedule(name: str) -> None:
    if name not in CFG_SCHEDULES:
        raise ValueError(f"unknown cfg_schedule {name!r} ({' or '.join(CFG_SCHEDULES)})")


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def from_dict(cls, d: dict):
    """Build a (nested) frozen dataclass from a dict, ignoring nothing: unknown keys raise."""
    kwargs = {}
    hints = {f.name: f for f in dataclasses.fields(cls)}
    for k, v in d.items():
        if k not in hints:
            raise ValueError(f"unknown field {k!r} for {cls.__name__}")
        sub = _SUBCONFIGS.get((cls, k))
        if sub is not None:
            v = from_dict(sub, v)
        elif isinstance(v, list):
            v = tuple(v)
        kwargs[k] = v
    return cls(**kwargs)


_SUBCONFIGS = {
    (ImageTokenizerConfig, "rvq"): RVQConfig,
    (MelTokenizerConfig, "rvq"): RVQConfig,
    (SpeechModelConfig, "denoiser"): DenoiserConfig,
    (SpeechModelConfig, "durations"): DurationConfig,
    (DenoiserConfig, "mog"): MoGConfig,
}


def dumps(obj: dict) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
