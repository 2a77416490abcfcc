"""The Speech tab's run: an example voice picked (its audio and, where the WAV says exactly that, its transcript),
and the generation itself, streamed step by step and chunk by chunk (handlers of app/speech_tab.py)."""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import gradio as gr

from . import render


def transcript_of(wav: Path) -> str:
    """The text an example prompt says, from its folder's prompts.json; "" unless the WAV is the whole utterance."""
    try:
        items = json.loads((Path(wav).parent / "prompts.json").read_text())
    except (OSError, ValueError):
        return ""
    return next((i.get("text", "") for i in items if i.get("file") == Path(wav).name and i.get("whole")), "")


def correction_note(arrays: dict) -> str:
    """'; voice colour corrected from the prompt (bands moved 0.31 log units on average)' for a run whose mel was
    corrected (the first chunk's map), else nothing."""
    fix = arrays["meta"].get("correction_map")
    if not fix:
        return ""
    mean = sum(abs(b) for b in fix["shift"]) / len(fix["shift"])
    return f"; voice colour corrected from the prompt (bands moved {mean:.2f} log units on average)"


def contrast_note(setting, used: list) -> str:
    """The run line's words for the postfilter: nothing when off; the value, or each chunk's when matched to the
    prompt."""
    if setting == "prompt":
        from resgen.speech.postfilter import check_contrast, describe
        return "; formant contrast matched to the prompt: " + ", ".join(describe(check_contrast(c)) for c in used)
    return f"; formant contrast {setting:g}" if setting else ""


def make_handlers(load, examples: dict[str, Path]):
    """load(backend) -> SpeechPipeline (a gr.Error when it cannot). -> (pick_example, generate)."""

    def pick_example(name):
        if not name or name not in examples:
            return gr.update(), gr.update()
        import soundfile as sf
        audio, rate = sf.read(str(examples[name]), dtype="float32")
        return (rate, audio), transcript_of(examples[name])   # gradio caches the audio: the prompt is then a path

    def generate(text, prompt, speed, steps, cfg, seed, randomize, vocoder, accent, backend, prompt_text="",
                 speaker_cfg=None, contrast=None, contrast_match=False, correct=None):
        if prompt is None:
            raise gr.Error("Give a voice prompt: upload or record a few seconds, or pick an example voice.")
        from resgen.speech.audio import AudioError
        from resgen.speech.prompt_audio import read_prompt
        try:                                        # a file path (type="filepath"): wav, flac, ogg or mp3, no ffmpeg
            audio, rate = read_prompt(prompt)
        except AudioError as e:
            raise gr.Error(str(e)) from None
        try:
            seed = int(seed or 0)
        except (TypeError, ValueError):
            raise gr.Error("Seed must be a whole number.") from None
        seed = random.randrange(2**31) if randomize else seed
        prompt_text = (prompt_text or "").strip() or None
        pipe = load(backend)
        try:
            contrast = pipe.postfilter.resolve("prompt" if contrast_match else contrast)
            # the box ticked: the model's strength (all of it for a model without a default); None: the model's own
            correction = pipe.postfilter.resolve_correction(
                None if correct is None else (pipe.postfilter.correction or 1.0) if correct else 0.0)
            voice = pipe.prompt_voice(audio, int(rate)) if contrast == "prompt" or correction else None
        except (ValueError, AudioError) as e:
            raise gr.Error(str(e)) from None
        from resgen.speech.chunks import crossfade_join
        from resgen.speech.pipeline import CROSSFADE_S
        try:
            chunks = pipe.chunk_text(text, audio, int(rate), speed=speed, accent=accent, prompt_text=prompt_text)
        except (ValueError, AudioError) as e:
            raise gr.Error(str(e)) from None
        from resgen.core.trace import trace_arrays
        t0, parts, mels, all_arrays, n = time.perf_counter(), [], [], [], len(chunks)
        for k, chunk in enumerate(chunks):
            try:
                it, Np, phonemes, s = pipe.generate_steps(chunk, audio, int(rate), speed=speed, steps=int(steps),
                                                          cfg=cfg, seed=seed + k, accent=accent,
                                                          prompt_text=prompt_text, speaker_cfg=speaker_cfg)
            except (ValueError, AudioError) as e:
                raise gr.Error(f"chunk {k + 1} of {n}: {e}" if n > 1 else str(e)) from None
            where = f"chunk {k + 1}/{n}, " if n > 1 else ""
            traces = []
            for tr in it:
                traces.append(tr)
                yield (None, None, f"{where}step {tr.step + 1}/{s['steps']}: {tr.masked} target slots still masked",
                       None, gr.update(), gr.update(), None)
            codes = traces[-1].codes[0, Np:]
            spoken = pipe.speak_codes(traces[-1].codes[0], Np, contrast, vocoder, voice=voice, correction=correction)
            mel, wav_k, used = spoken.mel, spoken.audio, spoken.contrast
            mels.append(mel)
            parts.append(wav_k)
            arrays = trace_arrays(traces)
            arrays["meta"] = {"task": "speech", "prompt_positions": Np, "phonemes": phonemes, "text": chunk,
                              "chunk": k + 1, "chunks": n, "vocoder": vocoder, "_backend_choice": backend,
                              "contrast": used,
                              "correction": correction,
                              "correction_map": None if spoken.correction is None else spoken.correction.as_dict(), **s}
            all_arrays.append(arrays)
        wav = crossfade_join(parts, 22050, CROSSFADE_S)
        secs = time.perf_counter() - t0
        dur = len(wav) / 22050
        rows = ["with and without the text"] if s["cfg"] != 1 else []
        rows += ["without the prompt's voice"] if s["speaker_cfg"] != 1 else []
        pair = f" ({', '.join(rows)}, one batch of {len(rows) + 1})" if rows else ""
        calls = s["steps"] * n
        voc = vocoder + (f" ({pipe.vocoder_backend}, {pipe.vocoder_precision})"
                         if vocoder == "hifigan" and pipe.vocoder_backend else "")
        pace = (f"; the prompt speaker's pace from its transcript: durations x {s['pace']:.2f}" if prompt_text
                else "") + contrast_note(contrast, [a["meta"]["contrast"] for a in all_arrays])
        pace += correction_note(all_arrays[0])
        info = (f"{dur:.2f} s of speech in {secs:.2f} s (real-time factor {secs / max(dur, 1e-9):.2f}) on "
                f"{pipe.backend}, vocoder {voc}; seed {seed}; {s['steps']} steps, {calls} denoiser calls{pair}; "
                + (f"{n} chunks (seeds {seed}..{seed + n - 1}), joined with a {CROSSFADE_S * 1000:.0f} ms cross-fade"
                   if n > 1 else f"{len(phonemes) - 2} phonemes, {len(codes)} positions x {pipe.tok_cfg.rvq.depth} depths")
                + pace + "".join(f"\nPrompt: {notice}." for notice in s.get("prompt_notices", [])))
        import torch
        mel = torch.cat(mels, -1)
        yield ((22050, wav), render.mel_image(mel.cpu().numpy()), info, all_arrays[0],
               gr.update(maximum=s["steps"], value=s["steps"]),
               gr.update(maximum=max(n, 2), value=1, visible=n > 1, interactive=n > 1), all_arrays)

    return pick_example, generate
