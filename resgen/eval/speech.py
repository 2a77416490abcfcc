"""`resgen eval speech`: zero-shot TTS on voices and sentences never trained on.

Protocol (deterministic): for every utterance i of voice v in the split (held-out by default; `--split val` for
choosing settings; `--split test` for a wider report split), the prompt is the next utterance of v (cyclic order, a
different sentence) and the reference is the one after it. Rows, each scored the same way:
  recordings         the corpus recording of i
  vocoder only       log-mel of i -> vocoder: what the vocoder alone costs
  resynthesis d=k    i -> tokenizer, decoded from its first k depths -> vocoder: the ceiling the tokens allow
  ResGEN             text of i + prompt -> generated speech (the model's settings unless overridden)
Measures: phoneme error rate (the headline) of the project's CTC phoneme recogniser (resgen/eval/recogniser.py,
trained on training voices only) against the phonemes of i's text; speaker similarity = resemblyzer cosine to the
reference utterance; speaker identification = nearest enrolled voice of the split (enrolment: mean embedding of the
voice's other utterances, never i or its prompt); length ratio to the recordings; optionally pocketsphinx's WER
(`--pocketsphinx`: it scores even the recordings near 0.9, so it cannot see intelligibility); the tokenizer's log-mel
L1 per depth; a per-voice table; the real-time factor of one ~5-second sentence with each vocoder.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from resgen.core.argtypes import ranged, ranged_or, whole
from resgen.core.backends import BACKENDS
from resgen.core.config import CFG_SCHEDULES
from resgen.core.sampler import MAX_CODE_TEMPERATURE, MAX_PI_TEMPERATURE, MAX_SPEAKER_CFG
from resgen.eval.image import apply_sampler_overrides, machine
from resgen.eval.speech_data import SPLITS, CorpusSplit
from resgen.eval.speech_report import seed_mean
from resgen.speech.postfilter import MATCH, MAX_CONTRAST, mean_contrast
from resgen.speech.aligned import generate_aligned

SEED_STRIDE = 100    # --seeds K samples with seed, seed + 100, ... (the seeds of the separate runs quoted in docs/)
MAX_SEEDS = 20


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--model", default=None, help="model folder (default: assets/speech)")
    p.add_argument("--data", default="runs/speech-data", help="corpus folder from `resgen data speech`")
    p.add_argument("--split", default="heldout", choices=SPLITS,
                   help="held-out voices and sentences (report), the validation ones (choose settings on these), or "
                        "the test ones (a wider report split: `resgen data speech --test-voices N`)")
    p.add_argument("--recogniser", default=None,
                   help="phoneme recogniser folder (default: assets/speech-recogniser; `resgen train recogniser`)")
    p.add_argument("--depths", default="all",
                   help="tokenizer depths of the resynthesis rows: 'all', 'none' or a list like 4,8")
    p.add_argument("--pocketsphinx", action="store_true", help="also pocketsphinx's WER (secondary column)")
    p.add_argument("--oracle-durations", action="store_true",
                   help="also a row 'ResGEN, recording's alignment': the model given each recording's own phoneme "
                        "durations instead of predicted ones (tells the duration path from the acoustic model)")
    p.add_argument("--oracle-depths", default=None,
                   help="also rows 'ResGEN, recording's depths 1..k' for a list like 1,2,4: the model given each "
                        "recording's alignment and its true tokens at depths 1..k, filling the rest (tells coarse "
                        "content from fine detail)")
    p.add_argument("--behind-prompt", action="store_true",
                   help="also a row 'resynthesis d=D behind the prompt': each recording's codes decoded behind its "
                        "pair's prompt codes, as the model's speech is decoded (that decoding's ceiling)")
    p.add_argument("--decode-alone", action="store_true",
                   help="decode the model's codes without the prompt's in front (the decoding before 2026-12-07)")
    p.add_argument("--prompt-text", action="store_true",
                   help="give the model each prompt's transcript, so it takes the prompt speaker's pace")
    p.add_argument("--n", type=int, default=0, help="evaluate the first n held-out utterances (0 = all)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--cfg", type=float, default=None)
    p.add_argument("--speaker-cfg", type=ranged(MAX_SPEAKER_CFG), default=None,
                   help="guidance on the prompt's voice (1 = none; default: the model's)")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--contrast", type=ranged_or(MATCH, MAX_CONTRAST), default=None,
                   help='spectral-contrast postfilter on generated mels (0 = none, "prompt" = matched to each '
                        "prompt's formant detail; default: the model's)")
    p.add_argument("--correction", type=ranged(1.0), default=None,
                   help="the tokenizer's error on each prompt taken out of the speech at this strength (0 = none; "
                        "default: the model's)")
    p.add_argument("--mog-noise", type=float, default=None,
                   help="MoG draw = mean + this x sigma x N(0, I) (default: the model's, see SamplerConfig)")
    p.add_argument("--pi-temperature", type=ranged(MAX_PI_TEMPERATURE), default=None,
                   help="mixture logits / this before the component draw (0 = the most likely component, the mode)")
    p.add_argument("--code-temperature", type=ranged(MAX_CODE_TEMPERATURE), default=None,
                   help="re-quantisation: codes drawn near the predicted sum at this temperature (0 = nearest code)")
    p.add_argument("--cfg-schedule", default=None, choices=CFG_SCHEDULES,
                   help="guidance per step (default: the model's, see SamplerConfig)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=whole(1, MAX_SEEDS), default=1,
                   help=f"sample the model's row with K seeds (seed, seed + {SEED_STRIDE}, ...) and add a row "
                        "'ResGEN, mean of K seeds' (each pair's scores averaged over them; the seeds' spread printed)")
    p.add_argument("--vocoder", default="hifigan", choices=("hifigan", "griffin-lim"))
    p.add_argument("--backend", default="torch", choices=BACKENDS,
                   help="where the denoiser and HiFi-GAN run (default torch, the reference; auto = what users get)")
    p.add_argument("--repeats", type=int, default=3, help="runs of the real-time-factor measurement (0 = none)")
    p.add_argument("--no-resynthesis", action="store_true",
                   help="skip the 'vocoder only' and 'resynthesis' rows (same as --depths none, without the vocoder row)")
    p.add_argument("--no-model", action="store_true",
                   help="only the recordings, 'vocoder only' and 'resynthesis' rows (a tokenizer's ceiling; "
                        "no generation, no real-time factor)")
    p.add_argument("--save-audio", default=None, help="write generated WAVs here")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--threads", type=int, default=0)


def tokenizer_l1(pipe, held: CorpusSplit) -> list[float]:
    """Mean absolute log-mel error of decode(encode(mel), d) for d = 1..D over the held-out split."""
    from resgen.speech.audio import log_mel
    D = pipe.tok_cfg.rvq.depth
    err, n = np.zeros(D), 0
    with torch.no_grad():
        for a in held.audio:
            mel = log_mel(torch.from_numpy(a))[0]                            # (80, F)
            codes = pipe.tokenizer.encode(mel[None])
            F = min(mel.shape[-1], codes.shape[1] * pipe.tok_cfg.downsample)
            for d in range(D):
                rec = pipe.tokenizer.decode(codes, d + 1)[0]
                err[d] += (rec[:, :F] - mel[:, :F]).abs().mean().item()
            n += 1
    return (err / max(n, 1)).tolist()


def rtf(pipe, held: CorpusSplit, repeats: int, settings: dict) -> dict:
    """Real-time factor of the held-out sentence whose recording is closest to 5 s, per vocoder."""
    i = int(np.argmin([abs(len(a) / held.sample_rate - 5.0) for a in held.audio]))
    prompt = next(u for u in range(len(held.audio)) if held.voice[u] == held.voice[i] and u != i)
    out = {"text": held.texts[i]}
    for voc in ("griffin-lim", "hifigan"):
        runs = []
        for r in range(repeats + 1):              # the first run warms up (lazy vocoder load)
            res = pipe.generate(held.texts[i], held.audio[prompt], held.sample_rate, accent=held.accent(i),
                                vocoder=voc, **settings)
            if r:
                runs.append((res.seconds, res.duration))
        secs = float(np.median([s for s, _ in runs]))
        out[voc] = {"seconds": secs, "audio_s": runs[0][1], "rtf": secs / runs[0][1]}
    return out


def parse_depths(spec: str, D: int) -> list[int]:
    """'all' -> 1..D, 'none' -> [], '4,8' -> [4, 8] (each in 1..D)."""
    from resgen.core.errors import UsageError
    if spec == "all":
        return list(range(1, D + 1))
    if spec == "none":
        return []
    try:
        depths = sorted({int(d) for d in spec.split(",")})
    except ValueError:
        raise UsageError(f"--depths {spec!r}: expected 'all', 'none' or numbers like 4,8") from None
    if not depths or depths[0] < 1 or depths[-1] > D:
        raise UsageError(f"--depths {spec!r}: depths run from 1 to {D}")
    return depths


def run(args) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    import resgen

    from resgen.core.errors import UsageError
    from resgen.core.paths import assets_dir
    from resgen.eval.recogniser import load_recogniser
    from resgen.eval.speech_report import print_table, score
    data = Path(args.data)
    if not (data / f"{args.split}.npz").exists():
        raise UsageError(f"no {args.split} split at {data} (run `resgen data speech --out {data}` first)")
    if args.no_model and args.no_resynthesis:
        raise UsageError("--no-model with --no-resynthesis leaves nothing to evaluate")
    rec_dir = Path(args.recogniser) if args.recogniser else assets_dir() / "speech-recogniser"
    if not (rec_dir / "recogniser.json").exists():
        raise UsageError(f"no phoneme recogniser at {rec_dir} (build one: `resgen train recogniser --data DIR "
                         f"--out {rec_dir}`)")
    recogniser = load_recogniser(rec_dir)
    pipe = resgen.load("speech", backend=args.backend, model_dir=args.model)
    apply_sampler_overrides(pipe, args)
    depths = [] if args.no_resynthesis else parse_depths(args.depths, pipe.tok_cfg.rvq.depth)
    split = CorpusSplit(data, args.split)
    triples = split.triples()
    if args.n:
        triples = triples[: args.n]
    settings = {"steps": args.steps, "cfg": args.cfg, "temperature": args.temperature, "top_p": args.top_p,
                "speaker_cfg": args.speaker_cfg, "contrast": args.contrast, "behind_prompt": not args.decode_alone,
                "correction": args.correction}
    try:
        checked = pipe.sampling_settings(args.steps, args.cfg, args.temperature, args.top_p, args.seed, 1.0,
                                         speaker_cfg=args.speaker_cfg)
    except ValueError as e:
        raise UsageError(str(e)) from None
    res: dict = {"machine": machine(), "torch": torch.__version__, "model": str(pipe.model_dir),
                 "recogniser": str(rec_dir), "split": args.split, "pairs": len(triples),
                 "voices": len({int(split.voice[t[0]]) for t in triples}), "vocoder": args.vocoder,
                 "settings": {**checked,
                              **{k: getattr(pipe.defaults, k) for k in ("mog_noise", "cfg_schedule", "code_temperature")},
                              "prompt_text": bool(args.prompt_text), "behind_prompt": not args.decode_alone,
                              "contrast": pipe.postfilter.resolve(args.contrast),
                              "correction": pipe.postfilter.resolve_correction(args.correction)}}
    if args.prompt_text:
        res["settings"]["pace"] = "each prompt's, from its transcript"
    res["tokenizer_l1_per_depth"] = tokenizer_l1(pipe, split)

    from tqdm import tqdm

    from resgen.speech.audio import MelConfig, log_mel
    sr = MelConfig.sample_rate
    rows: dict[str, list[np.ndarray]] = {"recordings": [split.audio[i] for i, _, _ in triples]}
    encoded: dict[int, torch.Tensor] = {}                  # each recording's codes, encoded once for every row

    def codes_of(i: int, mel: torch.Tensor | None = None) -> torch.Tensor:
        if i not in encoded:
            with torch.no_grad():
                encoded[i] = pipe.tokenizer.encode(log_mel(torch.from_numpy(split.audio[i])) if mel is None else mel)[0]
        return encoded[i]
    if not args.no_resynthesis:
        rows["vocoder only"] = []
        rows.update({f"resynthesis d={d}": [] for d in depths})
        for i, _, _ in tqdm(triples, desc="resynthesis", dynamic_ncols=True, mininterval=5.0):
            mel = log_mel(torch.from_numpy(split.audio[i]))                   # (1, 80, F)
            codes = codes_of(i, mel)
            rows["vocoder only"].append(pipe.vocode(mel[0], args.vocoder))
            for d in depths:
                rows[f"resynthesis d={d}"].append(pipe.vocode(pipe.decode(codes, d), args.vocoder))
    if args.behind_prompt:
        name = f"resynthesis d={pipe.tok_cfg.rvq.depth} behind the prompt"
        rows[name] = []
        for i, j, _ in tqdm(triples, desc="behind the prompt", dynamic_ncols=True, mininterval=5.0):
            codes = codes_of(i)
            prompt = pipe.prompt_codes(split.audio[j], split.sample_rate)
            rows[name].append(pipe.vocode(pipe.decode(codes, context=prompt), args.vocoder))
    if depths:
        res["full_resynthesis"] = f"resynthesis d={depths[-1]}"
    if not args.no_model:
        rows["ResGEN"] = generate_all(pipe, split, triples, args, settings, res)
        seed_rows = ["ResGEN"]
        for k in range(1, args.seeds):
            seed = args.seed + SEED_STRIDE * k
            seed_rows.append(f"ResGEN, seed {seed}")
            rows[seed_rows[-1]] = generate_all(pipe, split, triples, args, settings, {}, seed)
    if not args.no_model and args.oracle_durations:
        rows["ResGEN, recording's alignment"] = [
            generate_aligned(pipe, split.phonemes[i], torch.from_numpy(split.durations[i]), split.audio[j],
                             split.sample_rate, seed=args.seed + n, vocoder=args.vocoder, contrast=args.contrast,
                             correction=args.correction)
            for n, (i, j, _) in enumerate(tqdm(triples, desc="aligned", dynamic_ncols=True, mininterval=5.0))]
    if not args.no_model and args.oracle_depths:
        rows.update(oracle_depth_rows(pipe, split, triples, args))
    res["rows"] = list(rows)
    res["backends"] = {"denoiser": pipe.backend, "vocoder": pipe.vocoder_backend}
    res["scores"] = score(rows, triples, split, sr, recogniser, args.pocketsphinx)
    if not args.no_model and args.seeds > 1:
        name = f"ResGEN, mean of {args.seeds} seeds"
        res["scores"][name] = seed_mean([res["scores"][n] for n in seed_rows])
        res["rows"].append(name)
    if not args.no_model and args.repeats > 0:
        res["rtf"] = rtf(pipe, split, args.repeats, settings)
    print_table(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, ensure_ascii=False))
    return res


def oracle_depth_rows(pipe, split: CorpusSplit, triples, args) -> dict[str, list[np.ndarray]]:
    """Rows 'ResGEN, recording's depths 1..k': generation from each recording's alignment with its true tokens at
    depths 1..k given (k = 0: the alignment only)."""
    from tqdm import tqdm

    from resgen.speech.audio import log_mel
    ks = [int(k) for k in str(args.oracle_depths).split(",") if k.strip()]
    D = pipe.tok_cfg.rvq.depth
    if not ks or any(not 0 <= k < D for k in ks):
        from resgen.core.errors import UsageError
        raise UsageError(f"--oracle-depths takes depths between 0 and {D - 1}, like 1,2,4")
    rows = {f"ResGEN, recording's depths 1..{k}" if k else "ResGEN, recording's alignment": [] for k in ks}
    for n, (i, j, _) in enumerate(tqdm(triples, desc="oracle depths", dynamic_ncols=True, mininterval=5.0)):
        with torch.no_grad():
            codes = pipe.tokenizer.encode(log_mel(torch.from_numpy(split.audio[i])))[0]      # (Nt, D)
        for k, name in zip(ks, rows):
            rows[name].append(generate_aligned(pipe, split.phonemes[i], torch.from_numpy(split.durations[i]),
                                               split.audio[j], split.sample_rate, seed=args.seed + n,
                                               vocoder=args.vocoder, known=codes[:, :k], contrast=args.contrast,
                                               correction=args.correction))
    return rows


def generate_all(pipe, held: CorpusSplit, triples, args, settings: dict, res: dict,
                 seed: int | None = None) -> list[np.ndarray]:
    """Speak every target text from its prompt, pair n with seed (args.seed when None) + n; notes the time and
    length ratio in res["generation"]."""
    seed = args.seed if seed is None else seed
    from tqdm import tqdm

    from resgen.speech.audio import MelConfig, save_audio
    gen, t0, audio_s, paces, contrasts = [], time.perf_counter(), 0.0, [], []
    for n, (i, j, _) in enumerate(tqdm(triples, desc="ResGEN", dynamic_ncols=True, mininterval=5.0)):
        r = pipe.generate(held.texts[i], held.audio[j], held.sample_rate, accent=held.accent(i),
                          seed=seed + n, vocoder=args.vocoder,
                          prompt_text=held.texts[j] if args.prompt_text else None, **settings)
        gen.append(r.audio)
        paces.append(r.settings.get("pace", 1.0))
        contrasts.append(mean_contrast(r.settings.get("contrast", 0.0)))
        audio_s += r.duration
        if args.save_audio:
            Path(args.save_audio).mkdir(parents=True, exist_ok=True)
            tag = "" if seed == args.seed else f"_seed{seed}"
            save_audio(Path(args.save_audio) / f"{n:03d}_voice{held.voice[i]}{tag}.wav", r.audio)
    sr = MelConfig.sample_rate
    res["generation"] = {"seconds": time.perf_counter() - t0, "audio_s": audio_s,
                         "duration_ratio": audio_s / sum(len(held.audio[i]) / sr for i, _, _ in triples),
                         "pace_median": float(np.median(paces)) if paces else 1.0,
                         "contrast_mean": float(np.mean(contrasts)) if contrasts else 0.0}
    return gen
