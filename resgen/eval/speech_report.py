"""Scores and tables of `resgen eval speech`: phoneme error rate (the project's CTC recogniser, the headline),
speaker similarity and identification (resemblyzer), length ratio, and pocketsphinx's WER as an optional column;
per row of audio, and per voice."""
from __future__ import annotations

import numpy as np

from resgen.eval.recogniser import edit_distance, per


def score(rows: dict[str, list[np.ndarray]], triples, split, sr: int, recogniser, pocketsphinx: bool) -> dict:
    """rows: name -> one audio (at sr) per triple (target i, prompt j, reference k)."""
    from resgen.eval.speech_metrics import SpeakerEncoder, cosine, identify
    enc = SpeakerEncoder()
    real = [enc(a, split.sample_rate) for a in split.audio]
    refs = [recogniser.reference(split.phonemes[i]) for i, _, _ in triples]
    asr = None
    out: dict = {}
    if pocketsphinx:
        from resgen.eval.speech_metrics import Pocketsphinx, wer
        asr = Pocketsphinx(split.texts)
        out["pocketsphinx_vocabulary"] = len(asr.vocabulary)
    enrolled_for = {}
    for i, j, _ in triples:                 # enrolment: the mean of the voice's other utterances (never i or its prompt)
        enrolled_for[(i, j)] = {v: np.mean([real[u] for u in np.nonzero(split.voice == v)[0] if u not in (i, j)], 0)
                                for v in sorted(set(split.voice.tolist()))}
    rec_len = [len(split.audio[i]) / split.sample_rate for i, _, _ in triples]
    texts = sorted({split.texts[i] for i, _, _ in triples})                 # the sentence-choice candidates
    first = {t: next(i for i, _, _ in triples if split.texts[i] == t) for t in texts}
    candidates = [split.phonemes[first[t]] for t in texts]
    out["sentence_candidates"] = len(texts)
    for name, audios in rows.items():
        hyps = recogniser.transcribe_all(audios, sr)
        sims, hits, errs = [], [], []
        for (i, j, k), a, h, r in zip(triples, audios, hyps, refs):
            e = enc(a, sr)
            sims.append(cosine(e, real[k]))
            hits.append(identify(e, enrolled_for[(i, j)]) == split.voice[i])
            errs.append(edit_distance(r, h))
        lens = [len(a) / sr for a in audios]
        row = {"per": per(refs, hyps), "similarity": float(np.mean(sims)), "similarity_std": float(np.std(sims)),
               "identification": float(np.mean(hits)), "length_ratio": sum(lens) / sum(rec_len),
               "per_utterance": [e / max(1, len(r)) for e, r in zip(errs, refs)], "seconds_utterance": lens,
               "similarity_utterance": [float(s) for s in sims], "hit_utterance": [bool(h) for h in hits],
               "examples": [{"text": split.texts[t[0]], "reference": " ".join(r), "heard": " ".join(h)}
                            for t, r, h in list(zip(triples, refs, hyps))[:3]]}
        picks = recogniser.choose(audios, sr, candidates)
        row["sentence_choice"] = float(np.mean([texts[c] == split.texts[t[0]] for c, t in zip(picks, triples)]))
        if name == "recordings":            # the instrument's own check: the same audio against another sentence
            row["per_wrong_sentence"] = per(refs[1:] + refs[:1], hyps)
        if asr is not None:
            row["wer"] = wer([split.texts[t[0]] for t in triples], [asr.transcribe(a, sr) for a in audios])
        out[name] = row
    out["per_voice"] = per_voice(out, rows, triples, split, refs, rec_len)
    return out


def seed_mean(rows: list[dict]) -> dict:
    """Score rows of one model sampled with several seeds on the same pairs -> one row: each pair's scores averaged
    over the seeds (hits become the share of seeds identified; benchmarks/quality/paired.py reads it like any row),
    each aggregate the mean of the seeds', and under "seeds" / "seed_sd" each seed's aggregate and their spread."""
    keys = ("per", "similarity", "identification", "length_ratio", "sentence_choice", "wer")
    out: dict = {k: float(np.mean([r[k] for r in rows])) for k in keys if all(k in r for r in rows)}
    for k in ("per_utterance", "similarity_utterance", "hit_utterance", "seconds_utterance"):
        out[k] = np.mean([np.asarray(r[k], float) for r in rows], 0).tolist()
    out["similarity_std"] = float(np.std(out["similarity_utterance"]))
    out["seeds"] = {k: [r[k] for r in rows] for k in ("per", "similarity", "identification")}
    out["seed_sd"] = {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in out["seeds"].items()}
    out["examples"] = rows[0].get("examples", [])
    return out


def per_voice(scores: dict, rows, triples, split, refs, rec_len: list[float]) -> dict:
    """voice name -> row name -> (PER, similarity, identification, length ratio) over that voice's utterances."""
    table: dict = {}
    voices = sorted({int(split.voice[i]) for i, _, _ in triples})
    for v in voices:
        sel = [n for n, (i, _, _) in enumerate(triples) if split.voice[i] == v]
        name = split.voice_name(triples[sel[0]][0])
        table[name] = {}
        for row in rows:
            s = scores[row]
            errs = sum(s["per_utterance"][n] * max(1, len(refs[n])) for n in sel)
            seconds = sum(s["seconds_utterance"][n] for n in sel)
            table[name][row] = {"per": errs / max(1, sum(len(refs[n]) for n in sel)),
                                "similarity": float(np.mean([s["similarity_utterance"][n] for n in sel])),
                                "identification": float(np.mean([s["hit_utterance"][n] for n in sel])),
                                "length_ratio": seconds / sum(rec_len[n] for n in sel),
                                "pairs": len(sel)}
    return table


def print_table(res: dict) -> None:
    s = res["scores"]
    print(f"machine: {res['machine']}; torch {res['torch']}; model {res['model']}; recogniser {res['recogniser']}")
    backends = res.get("backends", {})
    print(f"settings: {res['settings']}; vocoder {res['vocoder']} (on {backends.get('vocoder') or 'torch'}); "
          f"denoiser on {backends.get('denoiser', 'torch')}; split {res['split']}: {res['pairs']} "
          f"(voice, sentence) pairs from {res['voices']} voices never trained on")
    L = res["tokenizer_l1_per_depth"]
    print("\n| depth d | " + " | ".join(str(d + 1) for d in range(len(L))) + " |")
    print("|---|" + "---|" * len(L))
    print("| tokenizer log-mel L1 | " + " | ".join(f"{v:.3f}" for v in L) + " |")
    wer = any("wer" in r for r in s.values() if isinstance(r, dict))
    print("\n| speech | PER (own recogniser) | speaker similarity (mean ± sd) | speaker identification "
          f"| length ratio | sentence choice (of {s.get('sentence_candidates', '?')}) |"
          + (" pocketsphinx WER |" if wer else ""))
    print("|---|---|---|---|---|---|" + ("---|" if wer else ""))
    one = res.get("voices", 2) < 2                  # identification among one voice is always right: not shown
    for name in res["rows"]:
        r = s[name]
        print(f"| {name} | {r['per']:.3f} | {r['similarity']:.3f} ± {r['similarity_std']:.3f} | "
              + ("- (one voice) |" if one else f"{r['identification']:.3f} |")
              + f" {r['length_ratio']:.3f} | {r.get('sentence_choice', float('nan')):.3f} |"
              + (f" {r['wer']:.3f} |" if wer else ""))
    for name in res["rows"]:
        if "seeds" in s[name]:
            v, sd = s[name]["seeds"], s[name]["seed_sd"]
            print(f"({name}: similarity {' / '.join(f'{x:.3f}' for x in v['similarity'])}, sd {sd['similarity']:.4f}; "
                  f"PER {' / '.join(f'{x:.3f}' for x in v['per'])}, sd {sd['per']:.4f})")
    rec = s.get("recordings", {})
    if "per_wrong_sentence" in rec:
        print(f"(instrument check: the recordings scored against another utterance's phonemes: PER "
              f"{rec['per_wrong_sentence']:.3f}, against their own {rec['per']:.3f})")
    shown = [n for n in ("recordings", res.get("full_resynthesis"), "ResGEN") if n in s]
    print("\n| voice | " + " | ".join(f"{n}: PER / sim / id" for n in shown) + " | ResGEN length ratio |")
    print("|---|" + "---|" * (len(shown) + 1))
    for voice, rows in s["per_voice"].items():
        cells = [f"{rows[n]['per']:.3f} / {rows[n]['similarity']:.3f} / {rows[n]['identification']:.2f}" for n in shown]
        cells.append(f"{rows['ResGEN']['length_ratio']:.2f}" if "ResGEN" in rows else "-")
        print(f"| {voice} ({rows[shown[0]]['pairs']}) | " + " | ".join(cells) + " |")
    if "generation" in res:
        g = res["generation"]
        print(f"\ngenerated {g['audio_s']:.1f} s of speech in {g['seconds']:.1f} s"
              + (f"; median pace from the prompts' transcripts {g['pace_median']:.2f}" if g.get("pace_median", 1) != 1
                 else ""))
    if "rtf" in res:
        r = res["rtf"]
        print(f"real-time factor ({r['griffin-lim']['audio_s']:.2f} s sentence, median of runs): "
              f"Griffin-Lim {r['griffin-lim']['rtf']:.3f} ({r['griffin-lim']['seconds']:.2f} s), "
              f"HiFi-GAN {r['hifigan']['rtf']:.3f} ({r['hifigan']['seconds']:.2f} s)")
    for name in ("recordings", "ResGEN"):
        for e in s.get(name, {}).get("examples", [])[:2]:
            print(f"  {name}: {e['text']!r}\n    reference {e['reference']}\n    heard     {e['heard']}")
