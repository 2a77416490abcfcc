"""Class-conditional image generation: labels -> RVQ tokens (ResGEN sampler) -> pixels.

    pipe = resgen.load("image")
    result = pipe.generate(labels=[7, 7, 3], steps=16, cfg=3.0, seed=0)
    result.images            # uint8 (B, 28, 28); a colour model's (B, 64, 64, 3)
    for trace in pipe.generate_steps(labels=[7], seed=0): ...   # one StepTrace per step
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from resgen.core.config import DenoiserConfig, ImageTokenizerConfig, SamplerConfig, from_dict
from resgen.core.denoiser import Denoiser
from resgen.image.tokenizer import ImageTokenizer
from resgen.core.sampler import checked_settings, init_state, make_plan, run
from resgen.core.trace import StepTrace
from resgen.core.weights import ModelFileError, check_files, file_sha256, load_module, read_json

MAX_BATCH = 256


@dataclass
class ImageResult:
    images: np.ndarray                 # uint8 (B, 28, 28) grey or (B, 64, 64, 3) colour
    codes: torch.Tensor                # (B, N, D)
    labels: list[int]
    traces: list[StepTrace]
    seconds: float
    backend: str
    settings: dict = field(default_factory=dict)

    def trace_meta(self, pipe: "ImagePipeline") -> dict:
        return {"task": "image", "labels": self.labels, "grid": [pipe.grid, pipe.grid],
                "depth": pipe.depth, "codebook_size": pipe.codebook_size, "classes": pipe.classes,
                "backend": self.backend, **self.settings}


class ImagePipeline:
    def __init__(self, model_dir: str | Path, backend: str = "auto", device: str | torch.device = "cpu"):
        self.model_dir = Path(model_dir)
        cfg = read_json(self.model_dir / "config.json")
        check_files(self.model_dir, cfg)
        self._hashes = dict(cfg.get("files", {}))
        try:
            self.tok_cfg = from_dict(ImageTokenizerConfig, cfg["tokenizer"])
            self.den_cfg = from_dict(DenoiserConfig, cfg["denoiser"])
            self.defaults = from_dict(SamplerConfig, cfg.get("sampler", {}))
            self.classes: list[str] = list(cfg["classes"])
            self.latent_scale = float(cfg["latent_scale"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"{self.model_dir / 'config.json'} is not a valid image model config: {e}") from None
        self.device = torch.device(device)
        self.tokenizer = load_module(ImageTokenizer(self.tok_cfg), self.model_dir / "tokenizer.safetensors")
        self.tokenizer.eval().to(self.device)
        self.denoiser = load_module(Denoiser(self.den_cfg), self.model_dir / "denoiser.safetensors")
        self.denoiser.eval().to(self.device)
        self.torch_predict, self.denoiser_weights = self.denoiser, "denoiser.safetensors"
        from resgen.core.backends import make_predict
        self.predict, self.backend = make_predict(self, backend)

    def weights_sha256(self, name: str) -> str:
        return self._hashes.get(name) or file_sha256(self.model_dir / name)

    def probe_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One denoiser call of sampling one image with CFG: tokens (2, N, D) all masked, labels (2,)."""
        N, D = self.den_cfg.positions, self.den_cfg.depth
        tokens = torch.full((2, N, D), self.denoiser.mask_id, dtype=torch.long, device=self.device)
        return tokens, torch.tensor([0, self.denoiser.null_class], device=self.device)

    @property
    def depth(self) -> int:
        return self.den_cfg.depth

    @property
    def grid(self) -> int:
        return self.tokenizer.grid

    @property
    def codebook_size(self) -> int:
        return self.den_cfg.codebook_size

    def label_id(self, label: int | str) -> int:
        """A class index (int or digit string) or a class name (case-insensitive) -> index."""
        if isinstance(label, str) and not label.strip().lstrip("-").isdigit():
            names = [c.lower() for c in self.classes]
            if label.strip().lower() not in names:
                raise ValueError(f"unknown class {label!r}; choose one of: {', '.join(self.classes)}")
            return names.index(label.strip().lower())
        i = int(label)
        if not 0 <= i < len(self.classes):
            raise ValueError(f"label {i} is out of range 0..{len(self.classes) - 1}")
        return i

    def _settings(self, steps, cfg, temperature, top_p, seed, pi_temperature=None) -> dict:
        return checked_settings(self.defaults, steps, cfg, temperature, top_p, seed,
                                max_steps=self.den_cfg.positions * self.depth, pi_temperature=pi_temperature)

    def _label_ids(self, labels: Sequence[int | str]) -> list[int]:
        ids = [self.label_id(l) for l in labels]
        if not 1 <= len(ids) <= MAX_BATCH:
            raise ValueError(f"the number of images must be between 1 and {MAX_BATCH}")
        return ids

    @torch.no_grad()
    def _sample(self, ids: list[int], s: dict) -> Iterator[StepTrace]:
        N, D = self.den_cfg.positions, self.depth
        plan = make_plan(s["steps"], N, D, cfg=s["cfg"], temperature=s["temperature"], top_p=s["top_p"],
                         sigma=self.den_cfg.mog.sigma, latent_scale=self.latent_scale,
                         schedule=self.defaults.schedule, mog_noise=self.defaults.mog_noise,
                         cfg_schedule=self.defaults.cfg_schedule, code_temperature=self.defaults.code_temperature,
                         pi_temperature=s["pi_temperature"])
        gen = torch.Generator(device=self.device).manual_seed(s["seed"])
        y = torch.tensor(ids, device=self.device)
        null = torch.full_like(y, self.den_cfg.num_classes)
        state = init_state(len(ids), N, D, self.device)
        for _, trace in run(self.predict, plan, self.tokenizer.rvq, state, y, null, self.codebook_size, gen):
            yield trace

    def generate_steps(self, labels: Sequence[int | str], steps: int | None = None, cfg: float | None = None,
                       temperature: float | None = None, top_p: float | None = None,
                       seed: int = 0, pi_temperature: float | None = None) -> Iterator[StepTrace]:
        """Yield one StepTrace per sampling step (T in all). Bad arguments raise ValueError at once."""
        ids = self._label_ids(labels)
        return self._sample(ids, self._settings(steps, cfg, temperature, top_p, seed, pi_temperature))

    def generate(self, labels: Sequence[int | str], steps: int | None = None, cfg: float | None = None,
                 temperature: float | None = None, top_p: float | None = None, seed: int = 0,
                 pi_temperature: float | None = None) -> ImageResult:
        """Sample images for `labels` (indices or class names) -> ImageResult (images, codes, traces).
        None = the model's default (config.json "sampler") for every setting."""
        t0 = time.perf_counter()
        ids = self._label_ids(labels)
        settings = self._settings(steps, cfg, temperature, top_p, seed, pi_temperature)
        traces = list(self._sample(ids, settings))
        codes = traces[-1].codes
        images = self.to_uint8(self.decode(codes))
        return ImageResult(images, codes, ids, traces, time.perf_counter() - t0, self.backend, settings)

    @property
    def colour(self) -> bool:
        return self.tok_cfg.in_channels == 3

    @staticmethod
    def _pixels(x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> grey (B, H, W) or colour (B, H, W, 3), on the CPU."""
        return (x[:, 0] if x.shape[1] == 1 else x.permute(0, 2, 3, 1)).cpu()

    @torch.no_grad()
    def decode(self, codes: torch.Tensor, depth: int | None = None) -> torch.Tensor:
        """codes (B, N, D) -> images float in [0, 1] from the first `depth` depths: grey (B, 28, 28) or colour
        (B, 64, 64, 3)."""
        return self._pixels(self.tokenizer.decode(codes.to(self.device), depth))

    @torch.no_grad()
    def decode_partial(self, codes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Decode only the revealed tokens: codes, mask (B, N, D) -> images as `decode`."""
        rvq = self.tokenizer.rvq
        z = (rvq.embed_per_depth(codes.to(self.device)) * (~mask.to(self.device))[..., None]).sum(2)
        return self._pixels(self.tokenizer.crop(self.tokenizer.decode_latent(z)).clamp(0, 1))

    @staticmethod
    def to_uint8(images: torch.Tensor) -> np.ndarray:
        return (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
