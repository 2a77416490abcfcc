"""The speech pipeline and `resgen sample speech` over a tiny synthetic model (not the quality)."""
import numpy as np
import pytest
import soundfile as sf
import torch
from tiny import resgen as resgen_cli

import resgen
from resgen.speech.audio import AudioError
from resgen.core.trace import load_traces
from resgen.speech.aligned import generate_aligned

SR = 44100


def _tone(seconds=2.0, sr=SR, amp=0.2):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * 150 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


@pytest.fixture(scope="module")
def pipe(tiny_speech_dir):
    return resgen.load("speech", model_dir=tiny_speech_dir)


def test_generate_keeps_the_prompt_and_fills_the_target(pipe):
    r = pipe.generate("The quick brown fox.", _tone(), SR, steps=4, seed=3, vocoder="griffin-lim")
    Np, Nt = r.prompt_positions, len(r.codes)
    assert len(r.traces) == 4 and Np > 0 and Nt > 0
    assert len(r.audio) == Nt * pipe.cfg.frames_per_position * 256 and r.sample_rate == 22050
    assert r.mel.shape == (80, Nt * pipe.cfg.frames_per_position)
    prompt = pipe.prompt_codes(_tone(), SR)
    for t in r.traces:
        assert not t.mask[0, :Np].any() and torch.equal(t.codes[0, :Np], prompt)
    assert r.traces[0].mask[0, Np:].any() and not r.traces[-1].mask.any()
    again = pipe.generate("The quick brown fox.", _tone(), SR, steps=4, seed=3, vocoder="griffin-lim")
    assert torch.equal(again.codes, r.codes)
    assert r.phonemes[0] == r.phonemes[-1] == "<sil>"


def test_guidance_on_the_voice_changes_the_speech_and_needs_a_model_trained_for_it(pipe, monkeypatch):
    assert pipe.voice_guidance                       # the tiny model is trained with --prompt-drop 0.2
    kw = {"steps": 4, "seed": 3, "vocoder": "griffin-lim"}
    plain = pipe.generate("The quick brown fox.", _tone(), SR, **kw)
    voiced = pipe.generate("The quick brown fox.", _tone(), SR, speaker_cfg=3.0, **kw)
    again = pipe.generate("The quick brown fox.", _tone(), SR, speaker_cfg=3.0, **kw)
    assert voiced.settings["speaker_cfg"] == 3.0 and plain.settings["speaker_cfg"] == 1.0
    first = [r.traces[0].pred_sum for r in (voiced, again, plain)]     # the guided draw of the first step
    assert torch.equal(first[0], first[1]) and not torch.allclose(first[0], first[2])
    monkeypatch.setattr(pipe, "voice_guidance", False)
    with pytest.raises(ValueError, match="not trained for guidance on the voice"):
        pipe.generate("The quick brown fox.", _tone(), SR, speaker_cfg=2.0, **kw)
    same = pipe.generate("The quick brown fox.", _tone(), SR, speaker_cfg=1.0, **kw)
    assert torch.equal(same.codes, plain.codes) and torch.equal(same.traces[0].pred_sum, first[2])


def test_the_postfilter_changes_the_mel_not_the_codes(pipe, monkeypatch):
    kw = dict(steps=3, seed=2, vocoder="griffin-lim")
    assert pipe.postfilter.contrast == 0.0                          # a model saved without one: no postfilter
    plain = pipe.generate("The quick brown fox.", _tone(), SR, **kw)
    sharp = pipe.generate("The quick brown fox.", _tone(), SR, contrast=0.5, **kw)
    assert torch.equal(plain.codes, sharp.codes) and not torch.allclose(plain.mel, sharp.mel)
    prompt = plain.traces[-1].codes[0, :plain.prompt_positions]
    assert torch.allclose(plain.mel, pipe.decode(plain.codes, context=prompt)) and sharp.settings["contrast"] == 0.5
    from resgen.speech.postfilter import PostfilterConfig
    monkeypatch.setattr(pipe, "postfilter", PostfilterConfig(contrast=0.5))
    default = pipe.generate("The quick brown fox.", _tone(), SR, **kw)   # the model's default when not given
    assert torch.allclose(default.mel, sharp.mel) and default.settings["contrast"] == 0.5


def test_contrast_matched_to_the_prompt(pipe, monkeypatch):
    from resgen.speech.postfilter import MATCH, PostfilterConfig, detail
    kw = dict(steps=3, seed=2, vocoder="griffin-lim")
    plain = pipe.generate("The quick brown fox.", _tone(), SR, **kw)
    matched = pipe.generate("The quick brown fox.", _tone(), SR, contrast="prompt", **kw)
    used = matched.settings["contrast"]
    assert matched.settings["contrast_setting"] == MATCH and isinstance(used, float) and 0 <= used <= 1
    assert torch.equal(plain.codes, matched.codes)
    assert torch.allclose(matched.mel, pipe.postfilter.apply(plain.mel, used))      # the contrast it reports
    expected = PostfilterConfig(contrast=MATCH).contrast_for(plain.mel, pipe.prompt_detail(_tone(), SR))
    assert used == pytest.approx(expected)
    assert pipe.prompt_detail(_tone(), SR) == pytest.approx(pipe.prompt_detail(_tone(sr=22050), 22050), rel=0.05)
    monkeypatch.setattr(pipe, "postfilter", PostfilterConfig(contrast=MATCH, prompt_ratio=2.0))
    default = pipe.generate("The quick brown fox.", _tone(), SR, **kw)       # the model's default when not given
    assert default.settings["contrast_setting"] == MATCH and default.settings["contrast"] >= used
    assert default.settings["contrast"] > 0 and detail(default.mel) > detail(plain.mel)
    off = pipe.generate("The quick brown fox.", _tone(), SR, contrast=0, **kw)      # a user's number wins
    assert off.settings["contrast"] == 0 and "contrast_setting" not in off.settings


def test_the_speech_is_decoded_behind_the_prompt(pipe):
    r = pipe.generate("The quick brown fox.", _tone(), SR, steps=3, seed=1, vocoder="griffin-lim")
    Np, s = r.prompt_positions, pipe.tokenizer.cfg.downsample
    whole = pipe.decode(r.traces[-1].codes[0])                       # prompt and target as one sequence
    assert r.mel.shape == (80, len(r.codes) * s) and torch.allclose(r.mel, whole[:, Np * s:], atol=1e-5)
    alone = pipe.decode(r.codes)                                     # GroupNorm and convolutions see only the target
    assert not torch.allclose(r.mel, alone, atol=1e-3)
    prompt = r.traces[-1].codes[0, :Np]
    assert torch.equal(pipe.decode(r.codes, context=prompt[:0]), alone)
    revealed = torch.zeros_like(r.codes, dtype=torch.bool)          # nothing masked: the partial view is the speech
    assert torch.allclose(pipe.decode_partial(r.codes, revealed, prompt), r.mel, atol=1e-5)
    d1 = pipe.decode(r.codes, 1, prompt)                             # depth 1 of the target, the prompt whole
    front = pipe.tokenizer.rvq.decode(prompt[None])
    z = torch.cat([front, pipe.tokenizer.rvq.decode(r.codes[None], 1)], 1)
    assert torch.allclose(d1, pipe.tokenizer.decode_latent(z)[0, :, Np * s:], atol=1e-5)
    assert not torch.allclose(d1, r.mel, atol=1e-3)
    before = pipe.generate("The quick brown fox.", _tone(), SR, steps=3, seed=1, vocoder="griffin-lim",
                           behind_prompt=False)                      # the decoding before, for diagnosis
    assert torch.equal(before.codes, r.codes) and torch.allclose(before.mel, alone)


def _buzz(seconds=2.0, sr=SR):
    """A voice-like prompt: a 120 Hz pulse train (every band has energy), steady in level."""
    x = np.zeros(int(seconds * sr), np.float32)
    x[:: sr // 120] = 0.5
    return x


def test_the_tokenizers_error_on_the_prompt_is_taken_out(pipe, monkeypatch):
    from resgen.speech.correction import fit
    from resgen.speech.postfilter import PostfilterConfig
    kw = dict(steps=3, seed=2, vocoder="griffin-lim", contrast=0)
    plain = pipe.generate("The quick brown fox.", _buzz(), SR, **kw)     # the tiny model's default: no correction
    assert plain.settings["correction"] == 0 and plain.settings["correction_map"] is None
    fixed = pipe.generate("The quick brown fox.", _buzz(), SR, correction=1, **kw)
    assert torch.equal(plain.codes, fixed.codes)
    shift = fixed.mel - plain.mel                                     # one offset per band, the same on every frame
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-4) and shift.abs().max() > 1e-2
    Np, s = plain.prompt_positions, pipe.tokenizer.cfg.downsample
    expected = fit(pipe.prompt_voice(_buzz(), SR).mel, pipe.decode(plain.traces[-1].codes[0])[:, : Np * s])
    assert torch.allclose(shift[:, 0], torch.tensor(expected.shift), atol=1e-4)     # real minus decoded prompt
    assert fixed.settings["correction_map"]["shift"] == pytest.approx(list(expected.shift), abs=1e-4)
    assert fixed.trace_meta()["correction_map"] == fixed.settings["correction_map"]
    half = pipe.generate("The quick brown fox.", _buzz(), SR, correction=0.5, **kw)
    assert torch.allclose(half.mel - plain.mel, shift / 2, atol=1e-4)
    alone = pipe.generate("The quick brown fox.", _buzz(), SR, correction=1, behind_prompt=False, **kw)
    assert alone.settings["correction_map"] is not None                # fitted on the prompt decoded alone
    monkeypatch.setattr(pipe, "postfilter", PostfilterConfig(correction=1.0))
    default = pipe.generate("The quick brown fox.", _buzz(), SR, **kw)       # the model's default when not given
    assert torch.allclose(default.mel, fixed.mel) and default.settings["correction"] == 1.0
    with pytest.raises(ValueError, match="correction"):
        pipe.generate("The quick brown fox.", _buzz(), SR, correction=3, **kw)


def test_speed_changes_the_length(pipe):
    slow = pipe.plan_target(pipe.phonemes("The quick brown fox."), pipe.prompt_codes(_tone(), SR), 0.5)
    fast = pipe.plan_target(pipe.phonemes("The quick brown fox."), pipe.prompt_codes(_tone(), SR), 2.0)
    assert slow[0].sum() > fast[0].sum() and len(slow[1]) >= len(fast[1])     # frames, then positions


def test_prompt_transcript_sets_the_pace_from_the_prompts_own_length(pipe, monkeypatch):
    """pace = the prompt's real frames / the frames predicted for its transcript: a longer transcript for the same
    audio means faster speech (a smaller pace); edge silence does not count; the pace is clamped to [0.5, 2] and
    the generation's durations are multiplied by it."""
    from resgen.speech import pace as pace_module
    assert pipe.pace(_tone(), SR, None) == pipe.pace(_tone(), SR, "  ") == 1.0
    monkeypatch.setattr(pace_module, "PACE_RANGE", (0.01, 100.0))     # the tiny model's raw ratios (far from 1)
    one, three = (pace_module.prompt_pace(pipe, _tone(), SR, "Hello there. " * k) for k in (1, 3))
    assert three < 0.6 * one
    padded = np.concatenate([np.zeros(SR, np.float32), _tone(), np.zeros(SR, np.float32)])
    assert abs(pace_module.prompt_pace(pipe, padded, SR, "Hello there. " * 3) - three) < 0.15 * three  # not 2x
    monkeypatch.undo()
    pace = pipe.pace(_tone(), SR, "Hello there.")
    assert pace == 2.0                                                 # clamped
    it, Np, ph, s = pipe.generate_steps("The quick brown fox.", _tone(), SR, steps=2, prompt_text="Hello there.")
    assert s["pace"] == 2.0
    plain = pipe.plan_target(ph, pipe.prompt_codes(_tone(), SR), 1.0)[0].sum()
    paced = pipe.plan_target(ph, pipe.prompt_codes(_tone(), SR), 1.0 / pace)[0].sum()
    assert paced > plain                                               # (tiny durations: 0-2 frames, rounded)
    r = pipe.generate("The quick brown fox.", _tone(), SR, steps=2, vocoder="griffin-lim", prompt_text="Hello there.")
    assert r.settings["pace"] == 2.0 and len(r.codes) == -(-int(paced) // pipe.cfg.frames_per_position)


@pytest.mark.parametrize("kwargs, err, match", [
    ({"text": ""}, ValueError, "empty"),
    ({"text": "a" * 401}, ValueError, "too long"),
    ({"text": "?! ... ;"}, ValueError, "pronounceable"),
    ({"prompt": np.zeros(SR * 2, np.float32)}, AudioError, "silent"),
    ({"prompt": _tone(0.3)}, AudioError, "too short"),
    ({"prompt": _tone(25)}, AudioError, "too long"),
    ({"speed": 3.0}, ValueError, "speed"),
    ({"accent": "fr"}, ValueError, "accent"),
    ({"steps": 0}, ValueError, "steps"),
    ({"vocoder": "wavenet"}, ValueError, "vocoder"),
    ({"speaker_cfg": 11}, ValueError, "speaker_cfg must be between 0 and 10"),
    ({"contrast": 1.5}, ValueError, "contrast must be between 0 and 1"),
    ({"contrast": "sharp"}, ValueError, 'contrast must be "prompt" or a number'),
    ({"prompt_text": "?! ... ;"}, ValueError, "the prompt's transcript: the text has no pronounceable words"),
])
def test_bad_input_is_a_clear_error(pipe, kwargs, err, match):
    args = {"text": "The quick brown fox.", "prompt": _tone(), "steps": 2, "vocoder": "griffin-lim"} | kwargs
    with pytest.raises(err, match=match):
        pipe.generate(args.pop("text"), args.pop("prompt"), SR, **args)


def test_cli_writes_wav_and_trace(tiny_speech_dir, tmp_path):
    quiet_start = np.concatenate([np.zeros(SR), _tone()])                     # 1 s of silence first
    sf.write(tmp_path / "p.wav", np.stack([quiet_start, quiet_start], 1), SR)
    r = resgen_cli("sample", "speech", "--text", "The quick brown fox.", "--prompt", str(tmp_path / "p.wav"),
                   "--model", str(tiny_speech_dir), "--steps", "3", "--out", str(tmp_path / "o.wav"),
                   "--trace", str(tmp_path / "o.npz"), "--vocoder", "griffin-lim", "--speaker-cfg", "1.5",
                   "--contrast", "0.3")
    assert r.returncode == 0, r.stderr
    assert "speaker_cfg 1.5, contrast 0.3" in r.stderr
    for notice in ("prompt: mixed 2 channels down to mono", "prompt: resampled from 44.1 kHz",
                   "prompt: trimmed silence: 0.9 s at the start"):
        assert notice in r.stderr, r.stderr
    audio, rate = sf.read(tmp_path / "o.wav")
    assert rate == 22050 and audio.ndim == 1 and len(audio) > 0
    arrays, meta = load_traces(tmp_path / "o.npz")
    assert meta["task"] == "speech" and meta["prompt_positions"] > 0 and arrays["codes"].shape[0] == 3
    assert len(meta["prompt_notices"]) == 3                                 # the trace says what was done too
    bad = resgen_cli("sample", "speech", "--text", "hello", "--prompt", str(tmp_path / "missing.wav"),
                     "--model", str(tiny_speech_dir), "--out", str(tmp_path / "x.wav"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "cannot read the prompt" in bad.stderr
    matched = resgen_cli("sample", "speech", "--text", "The quick brown fox.", "--prompt", str(tmp_path / "p.wav"),
                         "--model", str(tiny_speech_dir), "--steps", "2", "--out", str(tmp_path / "m.wav"),
                         "--vocoder", "griffin-lim", "--contrast", "Prompt")
    assert matched.returncode == 0 and "(matched to the prompt)" in matched.stderr, matched.stderr
    sharp = resgen_cli("sample", "speech", "--text", "hello", "--prompt", str(tmp_path / "p.wav"),
                       "--model", str(tiny_speech_dir), "--out", str(tmp_path / "x.wav"), "--contrast", "sharp")
    assert sharp.returncode == 2 and "argument --contrast: not a number: 'sharp' (or 'prompt')" in sharp.stderr
    fixed = resgen_cli("sample", "speech", "--text", "The quick brown fox.", "--prompt", str(tmp_path / "p.wav"),
                       "--model", str(tiny_speech_dir), "--steps", "2", "--out", str(tmp_path / "c.wav"),
                       "--vocoder", "griffin-lim", "--correction", "0.5")
    assert fixed.returncode == 0 and "correction 0.5," in fixed.stderr, fixed.stderr
    assert "correction 0," in matched.stderr                               # the tiny model's default: none
    over = resgen_cli("sample", "speech", "--text", "hello", "--prompt", str(tmp_path / "p.wav"),
                      "--model", str(tiny_speech_dir), "--out", str(tmp_path / "x.wav"), "--correction", "2")
    assert over.returncode == 2 and "--correction" in over.stderr


def test_steps_run_without_autograd_from_any_thread(pipe):
    """The app resumes the step generator from different worker threads: no_grad must hold in each."""
    import threading
    it, *_ = pipe.generate_steps("The quick brown fox.", _tone(), SR, steps=3, seed=0)
    seen = []

    def resume():
        seen.append(next(it).codes.requires_grad)

    for _ in range(3):
        th = threading.Thread(target=resume)
        th.start()
        th.join()
    assert seen == [False, False, False]


def test_generate_aligned_follows_the_given_durations(pipe):
    phonemes = ["<sil>", "ð", "ə", "k", "<sil>"]
    frames = torch.tensor([4, 8, 4, 12, 4])
    audio = generate_aligned(pipe, phonemes, frames, _tone(), SR, seed=1, vocoder="griffin-lim")
    positions = -(-int(frames.sum()) // pipe.cfg.frames_per_position)
    assert len(audio) == positions * pipe.cfg.frames_per_position * 256
    longer = generate_aligned(pipe, phonemes, frames * 2, _tone(), SR, seed=1, vocoder="griffin-lim")
    assert len(longer) == 2 * len(audio)


def test_given_depths_are_kept_and_the_rest_filled(pipe):
    prompt = pipe.prompt_codes(_tone(), SR)
    ids = torch.tensor([pipe.symbols[p] for p in ["<sil>", "ð", "ə", "<sil>"]])
    from resgen.speech.model import positions_phonemes
    pos = positions_phonemes(ids, torch.tensor([4, 8, 8, 4]), pipe.cfg.frames_per_position,
                             pipe.cfg.denoiser.cond_frames)
    D, V = pipe.tok_cfg.rvq.depth, pipe.tok_cfg.rvq.codebook_size
    known = torch.randint(0, V, (len(pos), 2), generator=torch.Generator().manual_seed(0))
    s = pipe.sampling_settings(4, None, None, None, 0, 1.0)
    traces = list(pipe._sample(prompt, pos, s, known))
    Np = len(prompt)
    assert len(traces) == 4 and not traces[0].mask[0, Np:, :2].any() and traces[0].mask[0, Np:, 2:].any()
    assert torch.equal(traces[-1].codes[0, Np:, :2], known) and not traces[-1].mask.any()
    audio = generate_aligned(pipe, ["<sil>", "ð", "ə", "<sil>"], torch.tensor([4, 8, 8, 4]), _tone(), SR,
                                  vocoder="griffin-lim", known=known[:3])            # shorter: padded by repetition
    assert len(audio) == len(pos) * pipe.cfg.frames_per_position * 256
