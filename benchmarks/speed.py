"""Speed of the shipped models: one table, every row measured in this run on this machine.

    python benchmarks/speed.py [--repeats 5] [--threads 0]

Rows: per-call denoiser latency (torch eager vs onnxruntime, batch 1 and 16); whole-sample
latency (one image, T=16, CFG on: T calls of a batch of 2); images per second at batch 64; whole-sample latency
of about 5 s of speech (text + shipped prompt -> audio, both vocoders); and the depth study:
the same denoiser size initialised for D = 4, 8, 16, sampled with the same T, against the
autoregressive baseline of resgen/baselines/ar.py (RQ-Transformer style, KV cache, N*D calls) initialised
for the same D. Sampling time does not depend on the values of the weights (both samplers make a
fixed number of calls), so fresh weights time what trained ones would; quality is
benchmarks/claims/paper_claims.py's job.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

import resgen
from resgen.baselines.ar import ARConfig, RQTransformer
from resgen.baselines.ar import sample as ar_sample
from resgen.core.config import RVQConfig
from resgen.core.denoiser import Denoiser
from resgen.eval.image import machine
from resgen.core.rvq import ResidualVQ
from resgen.core.sampler import init_state, make_plan, run


def timeit(fn, repeats: int) -> float:
    fn()                                                   # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def sample_once(predict, rvq, cfg, batch, steps, w, latent_scale=1.0, device="cpu"):
    N, D = cfg.positions, cfg.depth
    plan = make_plan(steps, N, D, cfg=w, top_p=0.9, sigma=cfg.mog.sigma, latent_scale=latent_scale)
    g = torch.Generator(device=device).manual_seed(0)
    y = torch.arange(batch, device=device) % cfg.num_classes
    null = torch.full_like(y, cfg.num_classes)
    for _ in run(predict, plan, rvq, init_state(batch, N, D, device), y, null, cfg.codebook_size, g):
        pass


SPEECH_TEXT = ("Revenge is a form of nostalgia, and the early bird gets the worm, "
               "but the second mouse gets the cheese.")


def emoji_rows(args) -> list[tuple]:
    """One 64x64 colour emoji, T steps with the model's CFG (classes cycled), torch vs onnxruntime; none when the
    colour model is not installed."""
    from resgen.image.models import resolve_image_model
    if not (resolve_image_model("emoji") / "config.json").exists():
        return []
    pipe_t, pipe_o = (resgen.load("image", model="emoji", backend=b) for b in ("torch", "onnx"))
    T, cfg = args.steps, (pipe_t.defaults.cfg if pipe_t.defaults.cfg != 1.0 else 2.0)    # guidance on
    t_t = timeit(lambda: pipe_t.generate([2], steps=T, cfg=cfg, seed=0), max(1, args.repeats // 2))
    t_o = timeit(lambda: pipe_o.generate([2], steps=T, cfg=cfg, seed=0), max(1, args.repeats // 2))
    name = f"whole sample, one 64x64 colour emoji (T={T}, CFG {cfg:g}; width {pipe_t.den_cfg.width}, " \
           f"{pipe_t.den_cfg.layers} layers)"
    return [(name, f"{t_t:.3f} s", f"{t_o:.3f} s", f"{t_t / t_o:.2f}x")]


def speech_rows(args) -> list[tuple]:
    """Whole-sample latency of the shipped TTS model for one sentence (about 5 s of speech) from a
    shipped prompt, torch vs onnxruntime, Griffin-Lim and HiFi-GAN; none without a speech model."""
    from resgen import assets_dir
    from resgen.speech.audio import load_audio
    from resgen.core.weights import ModelFileError
    try:
        pipe_t = resgen.load("speech", backend="torch", device=args.device, model_dir=args.speech_model)
        pipe_o = resgen.load("speech", backend="onnx", model_dir=args.speech_model)
    except ModelFileError as e:
        print(f"(no speech rows: {e})")
        return []
    prompt = load_audio(sorted((assets_dir() / "speech" / "prompts").glob("*.wav"))[0])
    rows = []
    for voc in ("griffin-lim", "hifigan"):
        run_t = lambda: pipe_t.generate(SPEECH_TEXT, prompt, 22050, seed=0, vocoder=voc)  # noqa: E731
        run_o = lambda: pipe_o.generate(SPEECH_TEXT, prompt, 22050, seed=0, vocoder=voc)  # noqa: E731
        secs = run_o().duration
        t_t = timeit(run_t, max(1, args.repeats // 2))
        t_o = timeit(run_o, max(1, args.repeats // 2))
        T, w, s = pipe_o.defaults.steps, pipe_o.defaults.cfg, pipe_o.defaults.speaker_cfg
        batch = 1 + (w != 1) + (s != 1)
        rows.append((f"whole sample, {secs:.1f} s of speech (T={T}, CFG {w:g}, voice {s:g}: {T} calls"
                     f"{f' of batch {batch}' if batch > 1 else ''}, {voc}; RTF torch / ort {t_t / secs:.2f} / "
                     f"{t_o / secs:.2f}{f'; model {args.speech_model}' if args.speech_model else ''})",
                     f"{t_t:.3f} s", f"{t_o:.3f} s", f"{t_t / t_o:.2f}x"))
    return rows


@torch.no_grad()
def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu", help="torch device of the 'torch eager' column (cpu or cuda)")
    p.add_argument("--depth-only", action="store_true", help="only the depth study (ResGEN vs the AR baseline)")
    p.add_argument("--speech-model", default=None,
                   help="speech model folder of the speech rows (default assets/speech; e.g. one with a part-int8 "
                        "vocoder.onnx, docs/backends.md)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import onnxruntime
    dev = torch.device(args.device)
    pipe_t = resgen.load("image", backend="torch", device=args.device)
    pipe_o = resgen.load("image", backend="onnx")
    cfg, T = pipe_t.den_cfg, args.steps
    cfg_on = pipe_t.defaults.cfg if pipe_t.defaults.cfg != 1.0 else 3.0   # guidance on (each call a batch of 2B)
    rows = []

    def tokens(b):
        return torch.randint(0, cfg.codebook_size + 1, (b, cfg.positions, cfg.depth)), torch.zeros(b, dtype=torch.long)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for b in (() if args.depth_only else (1, 16)):
        tk, y = tokens(b)
        tk_d, y_d = tk.to(dev), y.to(dev)
        t_t = timeit(lambda: (pipe_t.predict(tk_d, y_d), sync()), args.repeats * 4)
        t_o = timeit(lambda: pipe_o.predict(tk, y), args.repeats * 4)
        rows.append((f"denoiser call, batch {b}", f"{t_t * 1e3:.1f} ms", f"{t_o * 1e3:.1f} ms", f"{t_t / t_o:.2f}x"))
    for name, b in (() if args.depth_only else ((f"one image (T={T}, CFG: {T} calls of batch 2)", 1), ("batch of 64 images", 64))):
        t_t = timeit(lambda: pipe_t.generate([7] * b, steps=T, cfg=cfg_on, seed=0), max(1, args.repeats // 2))
        t_o = timeit(lambda: pipe_o.generate([7] * b, steps=T, cfg=cfg_on, seed=0), max(1, args.repeats // 2))
        if b == 1:
            rows.append((f"whole sample, {name}", f"{t_t:.3f} s", f"{t_o:.3f} s", f"{t_t / t_o:.2f}x"))
        else:
            rows.append((f"images per second, {name}", f"{b / t_t:.1f}", f"{b / t_o:.1f}", f"{t_t / t_o:.2f}x"))

    rows += [] if args.depth_only else emoji_rows(args)
    rows += [] if args.depth_only else speech_rows(args)

    # depth study: same width/layers, fresh weights for D = 4, 8, 16, same T (torch, batch 1)
    depth_rows = []
    for D in (4, 8, 16):
        c = type(cfg)(**{**cfg.__dict__, "depth": D})
        den = Denoiser(c).eval().to(dev)
        rvq = ResidualVQ(RVQConfig(depth=D, codebook_size=c.codebook_size, dim=c.code_dim)).to(dev)
        per_sample = timeit(lambda: (sample_once(den, rvq, c, 1, T, cfg_on, device=dev), sync()), args.repeats)
        tk = torch.randint(0, c.codebook_size + 1, (1, c.positions, D), device=dev)
        y0 = torch.zeros(1, dtype=torch.long, device=dev)
        per_call = timeit(lambda: (den(tk, y0), sync()), args.repeats * 4)
        torch.manual_seed(0)
        ar = RQTransformer(ARConfig(positions=c.positions, depth=D, codebook_size=c.codebook_size,
                                    num_classes=c.num_classes)).eval().to(dev)
        y1 = torch.tensor([7], device=dev)
        ar_t = timeit(lambda: (ar_sample(ar, y1, torch.Generator(dev).manual_seed(0), cfg=cfg_on), sync()),
                      max(1, args.repeats // 2))
        depth_rows.append((D, T, per_sample, c.positions * D, ar_t))
    print(f"machine: {machine()}; {platform.platform()}; torch column on {dev}")
    print(f"python {platform.python_version()}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__} "
          f"({pipe_o.backend}); model assets/image: D={cfg.depth}, N={cfg.positions}, width {cfg.width}, "
          f"{cfg.layers} layers; T={T}, CFG {cfg_on:g}; median of {args.repeats}+ runs\n")
    if rows:
        print(f"| measurement | torch eager ({dev.type}) | {pipe_o.backend} | torch / ort |")
        print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("\n| RVQ depth D | ResGEN calls per sample | ResGEN time per sample (torch) | "
          "AR baseline calls (N*D, KV cache) | AR time per sample (torch) | AR / ResGEN |")
    print("|---|---|---|---|---|---|")
    base = depth_rows[0][2]
    for D, calls, t, ar_calls, ar_t in depth_rows:
        print(f"| {D} | {calls} | {t:.3f} s ({t / base:.2f}x of D=4) | {ar_calls} | {ar_t:.2f} s | {ar_t / t:.1f}x |")
    print(f"\n(depth study on torch, {dev.type})")


if __name__ == "__main__":
    main()
