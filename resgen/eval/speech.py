"""`resgen eval speech`: zero-shot TTS on held-out voices speaking held-out sentences.

Protocol (deterministic): for every held-out utterance i of voice v (text never seen in training,
voice never seen in training), the prompt is the next utterance of v (cyclic order, a different
sentence) and the reference is the one after it. Rows:
  ground truth       the corpus recording of i (espeak-ng)
  vocoder only       log-mel of i -> HiFi-GAN: what the vocoder alone costs
  resynthesis        i -> tokenizer (all D depths) -> HiFi-GAN: the ceiling the tokens allow
  ResGEN             text of i + prompt -> generated speech (the model's default settings)
Measures: speaker similarity = resemblyzer cosine to the reference utterance; speaker
identification = nearest enrolled held-out voice (enrolment: mean embedding of the voice's other
utterances, never i or its prompt); WER of a vocabulary-restricted pocketsphinx (see
speech_metrics); the tokenizer's log-mel L1 per depth; the real-time factor of one ~5-second
sentence with each vocoder (median of --repeats runs).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from resgen.core.config import CFG_SCHEDULES
from resgen.eval.image import apply_sampler_overrides, machine


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--model", default=None, help="model folder (default: assets/speech)")
    p.add_argument("--data", default="runs/speech-data", help="corpus folder from `resgen data speech`")
    p.add_argument("--n", type=int, default=0, help="evaluate the first n held-out utterances (0 = all)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--cfg", type=float, default=None)
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--mog-noise", type=float, default=None,
                   help="MoG draw = mean + this x sigma x N(0, I) (default: the model's, see SamplerConfig)")
    p.add_argument("--cfg-schedule", default=None, choices=CFG_SCHEDULES,
                   help="guidance per step (default: the model's, see SamplerConfig)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocoder", default="hifigan", choices=("hifigan", "griffin-lim"))
    p.add_argument("--repeats", type=int, default=3, help="runs of the real-time-factor measurement")
    p.add_argument("--no-resynthesis", action="store_true",
                   help="skip the 'vocoder only' and 'resynthesis' rows")
    p.add_argument("--no-model", action="store_true",
                   help="only the recordings, 'vocoder only' and 'resynthesis' rows (a tokenizer's ceiling; "
                        "no generation, no real-time factor)")
    p.add_argument("--save-audio", default=None, help="write generated WAVs here")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--threads", type=int, default=0)


class HeldOut:
    """The corpus's held-out split: audio, texts, voices and their accents."""

    def __init__(self, data: Path):
        meta = json.loads((data / "corpus.json").read_text())
        f = np.load(data / "heldout.npz")
        ao = f["audio_offsets"]
        self.audio = [f["audio"][ao[i]:ao[i + 1]].astype(np.float32) / 32768 for i in range(len(ao) - 1)]
        self.texts: list[str] = json.loads(str(f["texts"]))
        self.voice = f["voice"].astype(int)
        self.voices = meta["voices"]
        self.sample_rate = int(meta["sample_rate"])

    def accent(self, i: int) -> str:
        return self.voices[self.voice[i]]["accent"]

    def triples(self, min_prompt_s: float = 1.5) -> list[tuple[int, int, int]]:
        """(target, prompt, reference) utterance indices of one voice: the prompt is the next
        utterance (cyclic) of at least min_prompt_s seconds, the reference the next one after it."""
        out = []
        for v in sorted(set(self.voice.tolist())):
            idx = np.nonzero(self.voice == v)[0].tolist()
            if len(idx) < 3:
                continue
            for k in range(len(idx)):
                after = [idx[(k + s) % len(idx)] for s in range(1, len(idx))]
                prompts = [u for u in after if len(self.audio[u]) >= min_prompt_s * self.sample_rate]
                if not prompts:
                    continue
                j = prompts[0]
                ref = next(u for u in after if u != j)
                out.append((k, idx[k], j, ref))
        return [t[1:] for t in sorted(out)]          # round-robin over voices, so any first n spans them


def tokenizer_l1(pipe, held: HeldOut) -> list[float]:
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


def score(rows: dict[str, list[np.ndarray]], texts: list[str], triples, held: HeldOut, sr: int) -> dict:
    """Speaker similarity, identification and WER for each row of audio (one per triple)."""
    from resgen.eval.speech_metrics import Recogniser, SpeakerEncoder, cosine, identify, wer
    enc = SpeakerEncoder()
    asr = Recogniser(texts)
    real = [enc(a, held.sample_rate) for a in held.audio]
    out = {"vocabulary": len(asr.vocabulary), "out_of_vocabulary": asr.out_of_vocabulary}
    for name, audios in rows.items():
        sims, hits, hyps = [], [], []
        for (i, j, k), a in zip(triples, audios):
            e = enc(a, sr)
            sims.append(cosine(e, real[k]))
            enrolled = {}
            for v in sorted(set(held.voice.tolist())):
                others = [u for u in np.nonzero(held.voice == v)[0] if u not in (i, j)]
                enrolled[v] = np.mean([real[u] for u in others], 0)
            hits.append(identify(e, enrolled) == held.voice[i])
            hyps.append(asr.transcribe(a, sr))
        out[name] = {"similarity": float(np.mean(sims)), "similarity_std": float(np.std(sims)),
                     "identification": float(np.mean(hits)), "wer": wer([texts[t[0]] for t in triples], hyps),
                     "examples": [{"text": texts[t[0]], "heard": h} for t, h in list(zip(triples, hyps))[:5]]}
    return out


def rtf(pipe, held: HeldOut, repeats: int, settings: dict) -> dict:
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


def run(args) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    import resgen

    from resgen.core.errors import UsageError
    data = Path(args.data)
    if not (data / "heldout.npz").exists():
        raise UsageError(f"no corpus at {data} (run `resgen data speech --out {data}` first)")
    if args.no_model and args.no_resynthesis:
        raise UsageError("--no-model with --no-resynthesis leaves nothing to evaluate")
    pipe = resgen.load("speech", backend="torch", model_dir=args.model)
    apply_sampler_overrides(pipe, args)
    held = HeldOut(data)
    triples = held.triples()
    if args.n:
        triples = triples[: args.n]
    settings = {"steps": args.steps, "cfg": args.cfg, "temperature": args.temperature, "top_p": args.top_p}
    res: dict = {"machine": machine(), "torch": torch.__version__, "model": str(pipe.model_dir), "pairs": len(triples),
                 "voices": len({int(held.voice[t[0]]) for t in triples}), "vocoder": args.vocoder,
                 "settings": {**pipe._settings(args.steps, args.cfg, args.temperature, args.top_p, args.seed, 1.0),
                              "mog_noise": pipe.defaults.mog_noise, "cfg_schedule": pipe.defaults.cfg_schedule}}
    res["tokenizer_l1_per_depth"] = tokenizer_l1(pipe, held)

    from tqdm import tqdm

    from resgen.speech.audio import MelConfig, log_mel
    sr = MelConfig.sample_rate
    rows: dict[str, list[np.ndarray]] = {"ground truth": [held.audio[i] for i, _, _ in triples]}
    if not args.no_resynthesis:
        rows["vocoder only"], rows["resynthesis"] = [], []
        for i, _, _ in tqdm(triples, desc="resynthesis", dynamic_ncols=True, mininterval=5.0):
            mel = log_mel(torch.from_numpy(held.audio[i]))                   # (1, 80, F)
            with torch.no_grad():
                codes = pipe.tokenizer.encode(mel)[0]
            rows["vocoder only"].append(pipe.vocode(mel[0], args.vocoder))
            rows["resynthesis"].append(pipe.vocode(pipe.decode(codes), args.vocoder))
    if not args.no_model:
        rows["ResGEN"] = generate_all(pipe, held, triples, args, settings, res)
    res["scores"] = score(rows, held.texts, triples, held, sr)
    if not args.no_model:
        res["rtf"] = rtf(pipe, held, args.repeats, settings)
    print_table(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, ensure_ascii=False))
    return res


def generate_all(pipe, held: HeldOut, triples, args, settings: dict, res: dict) -> list[np.ndarray]:
    """Speak every target text from its prompt; notes the time and length ratio in res["generation"]."""
    from tqdm import tqdm

    from resgen.speech.audio import MelConfig, save_audio
    gen, t0, audio_s = [], time.perf_counter(), 0.0
    for n, (i, j, _) in enumerate(tqdm(triples, desc="ResGEN", dynamic_ncols=True, mininterval=5.0)):
        r = pipe.generate(held.texts[i], held.audio[j], held.sample_rate, accent=held.accent(i),
                          seed=args.seed + n, vocoder=args.vocoder, **settings)
        gen.append(r.audio)
        audio_s += r.duration
        if args.save_audio:
            Path(args.save_audio).mkdir(parents=True, exist_ok=True)
            save_audio(Path(args.save_audio) / f"{n:03d}_voice{held.voice[i]}.wav", r.audio)
    sr = MelConfig.sample_rate
    res["generation"] = {"seconds": time.perf_counter() - t0, "audio_s": audio_s,
                         "duration_ratio": audio_s / sum(len(held.audio[i]) / sr for i, _, _ in triples)}
    return gen


def print_table(res: dict) -> None:
    s = res["scores"]
    print(f"machine: {res['machine']}; torch {res['torch']}; model {res['model']}")
    print(f"settings: {res['settings']}; vocoder {res['vocoder']}; {res['pairs']} held-out (voice, sentence) pairs "
          f"from {res['voices']} unseen voices; ASR vocabulary {s['vocabulary']} words "
          f"({len(s['out_of_vocabulary'])} out of the recogniser's dictionary)")
    L = res["tokenizer_l1_per_depth"]
    print("\n| depth d | " + " | ".join(str(d + 1) for d in range(len(L))) + " |")
    print("|---|" + "---|" * len(L))
    print("| tokenizer log-mel L1, held-out | " + " | ".join(f"{v:.3f}" for v in L) + " |")
    print("\n| speech | speaker similarity (mean ± sd) | speaker identification | pocketsphinx WER |")
    print("|---|---|---|---|")
    for name in ("ground truth", "vocoder only", "resynthesis", "ResGEN"):
        if name in s:
            r = s[name]
            print(f"| {name} | {r['similarity']:.3f} ± {r['similarity_std']:.3f} | {r['identification']:.3f} | "
                  f"{r['wer']:.3f} |")
    if "generation" not in res:
        return
    g = res["generation"]
    print(f"\ngenerated {g['audio_s']:.1f} s of speech in {g['seconds']:.1f} s; length / ground-truth length "
          f"{g['duration_ratio']:.3f}")
    r = res["rtf"]
    print(f"real-time factor ({r['griffin-lim']['audio_s']:.2f} s sentence, median of runs): "
          f"Griffin-Lim {r['griffin-lim']['rtf']:.3f} ({r['griffin-lim']['seconds']:.2f} s), "
          f"HiFi-GAN {r['hifigan']['rtf']:.3f} ({r['hifigan']['seconds']:.2f} s)")
    for e in s["ResGEN"]["examples"][:3]:
        print(f"  ResGEN: {e['text']!r} heard as {e['heard']!r}")
