"""The rows of the paper-claims table: a ResGEN model, or a baseline decoded by the shipped tokenizer,
each able to sample token sets and images; and the interleaved timing of rows (benchmarks/claims/paper_claims.py)."""
from __future__ import annotations

import dataclasses
import statistics
import time

import torch

import resgen


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


class ResGENRow:
    # one sampler setting for every ResGEN row (main sets them; None = the row's own config.json)
    top_p: float | None = None
    steps: int | None = None
    temperature: float | None = None
    pi_temperature: float | None = None
    draw: dict = {}  # SamplerConfig fields replaced in every ResGEN row (mog_noise, code_temperature), None = own

    def __init__(self, name: str, folder: str | None, key: str, device: str = "cpu"):
        self.name, self.key = name, key
        self.pipe = resgen.load("image", backend="torch", model_dir=folder, device=device)
        self.pipe.defaults = dataclasses.replace(self.pipe.defaults,
                                                 **{k: v for k, v in self.draw.items() if v is not None})
        self.params = n_params(self.pipe.denoiser)

    @property
    def T(self) -> int:
        return self.steps or self.pipe.defaults.steps

    def calls(self, cfg: float) -> int:
        return self.T

    def settings(self) -> dict:
        d = self.pipe.defaults
        return {"steps": self.T, "temperature": self.temperature or d.temperature, "top_p": self.top_p or d.top_p,
                "pi_temperature": d.pi_temperature if self.pi_temperature is None else self.pi_temperature}

    def meta(self) -> dict:
        """settings() and the draw knobs that differ from 0 (so that sets saved before the knobs keep matching)."""
        d = self.pipe.defaults
        return {**self.settings(), **{k: getattr(d, k) for k in ("mog_noise", "code_temperature") if getattr(d, k)}}

    def codes(self, labels: list[int], cfg: float, seed: int) -> torch.Tensor:
        from resgen.image.pipeline import MAX_BATCH
        return torch.cat([self.pipe.generate(labels[i:i + MAX_BATCH], cfg=cfg, seed=seed + i, **self.settings()).codes
                          for i in range(0, len(labels), MAX_BATCH)])

    def images(self, labels: list[int], cfg: float, seed: int) -> torch.Tensor:
        return self.pipe.decode(self.codes(labels, cfg, seed)).clamp(0, 1)


class BaselineRow:
    """A baseline decoded by the shipped tokenizer (it was trained on the shipped tokens). The
    per-token baseline samples with the ResGEN rows' T and reveal temperature (MaskGIT-style, the
    same plan); the AR baseline samples every token at temperature 1 and top-p `ar_top_p` (1 unless
    --ar-top-p: a nucleus over each token's distribution)."""
    ar_top_p: float = 1.0

    def __init__(self, name: str, kind: str, folder: str, key: str, device: str = "cpu"):
        self.name, self.kind, self.key = name, kind, key
        self.pipe = resgen.load("image", backend="torch", device=device)
        if kind == "ar":
            from resgen.baselines.ar import load_ar
            self.model = load_ar(folder).to(device)
        else:
            from resgen.baselines.per_token import load_per_token
            self.model = load_per_token(folder).to(device)
        self.params = n_params(self.model)

    @property
    def T(self) -> int:
        return ResGENRow.steps or self.pipe.defaults.steps

    def calls(self, cfg: float) -> int:
        if self.kind == "ar":
            return self.model.cfg.positions * self.model.cfg.depth
        return self.T

    def settings(self) -> dict:
        if self.kind == "ar":
            return {"temperature": 1.0, "top_p": BaselineRow.ar_top_p}
        return {"steps": self.T, "temperature": ResGENRow.temperature or self.pipe.defaults.temperature, "top_p": 1.0}

    @torch.no_grad()
    def codes(self, labels: list[int], cfg: float, seed: int) -> torch.Tensor:
        device = self.pipe.device
        y = torch.tensor(labels, device=device)
        g = torch.Generator(device=device).manual_seed(seed)
        if self.kind == "ar":
            from resgen.baselines.ar import sample
            return sample(self.model, y, g, cfg=cfg, **self.settings()).codes
        from resgen.baselines.per_token import generate
        from resgen.core.sampler import make_plan
        c = self.model.cfg
        plan = make_plan(self.T, c.positions, c.depth, cfg=cfg, top_p=1.0, temperature=self.settings()["temperature"])
        return generate(self.model, y, plan, g)

    def images(self, labels: list[int], cfg: float, seed: int) -> torch.Tensor:
        return self.pipe.decode(self.codes(labels, cfg, seed)).clamp(0, 1)


def row_guidance(specs: list[str], keys: list[str], error) -> dict[str, float]:
    """--row-cfg KEY=W items -> {key: W}; error(message) for a malformed item or a key that names no row."""
    out = {}
    for spec in specs:
        key, _, w = spec.partition("=")
        try:
            out[key] = float(w)
        except ValueError:
            error(f"--row-cfg {spec!r}: expected KEY=W with a number W, e.g. AR=3")
        if key not in keys:
            error(f"--row-cfg {spec!r}: no row {key!r} (rows: {', '.join(keys)})")
        if not 0 <= out[key] <= 20:
            error(f"--row-cfg {spec!r}: guidance must be between 0 and 20")
    return out


def clock(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved_medians(fns: list, repeats: int) -> list[float]:
    """Median wall time of each fn over `repeats` rounds, every round timing all of them in turn
    (after one warm-up each), so a slow spell of a shared machine falls on every row alike."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for ts, fn in zip(times, fns):
            ts.append(clock(fn))
    return [statistics.median(ts) for ts in times]
