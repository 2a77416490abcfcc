"""`resgen data speech-human`: real recordings and transcripts assembled into an evaluation split (a synthetic
package tree here: no network)."""
import gzip
import json

import numpy as np
import soundfile as sf

from resgen.eval.speech_data import CorpusSplit
from resgen.speech.human_corpus import ASTERISK_DIR, ASTERISK_TEXT, asterisk_items, build, sphinx_items


def _tone(path, seconds, sr, f0=180.0):
    t = np.arange(int(seconds * sr)) / sr
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(7 * t))).astype(np.float32), sr)


def _tree(src, more: int = 0):
    """A package tree; `more` extra plain Asterisk prompts (prompt-000 ...)."""
    ast = src / "asterisk"
    lines = ["; Core Asterisk Sounds in English", "",
             "agent-loginok: Agent logged in, please wait for your call.",      # kept
             "both_help: press * to toggle pause, press # to enter a name",        # key symbols: dropped
             "spy-iax2: IAX (note: does not say \"2\")",                        # a note: dropped
             "hello: Hello there.",                                             # two words: dropped
             "long-one: This prompt is far too long for the evaluation set.",   # over max_seconds: dropped
             "missing: This file was never recorded at all.",                   # no wav: dropped
             "queue-thankyou: Thank you for your patience, please stay on the line."]
    lines += [f"prompt-{k:03d}: Please hold the line number {k} for us." for k in range(more)]
    (ast / ASTERISK_TEXT).parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(ast / ASTERISK_TEXT, "wt") as f:
        f.write("\n".join(lines) + "\n")
    for name, secs in [("agent-loginok", 1.5), ("both_help", 2), ("spy-iax2", 1), ("hello", 1), ("long-one", 20),
                       ("queue-thankyou", 2.5)] + [(f"prompt-{k:03d}", 1.6) for k in range(more)]:
        _tone(ast / ASTERISK_DIR / f"{name}.wav", secs, 8000)
    for sub, trans, rows in [("librivox", "transcription", ["he was not an ill disposed young man", "had he married",
                                                             "he might even have been made amiable himself"]),
                             ("cards", "cards.transcription", ["ten of clubs", "seven of hearts", "five five"])]:
        folder = src / "pocketsphinx" / sub
        for k, text in enumerate(rows):
            _tone(folder / f"{sub}{k}.wav", 1.2 + 0.3 * k, 16000, 120 + 40 * k)
        (folder / trans).write_text("".join(f"<s> {t} </s> ({sub}{k})\n" for k, t in enumerate(rows)))
    return src


def test_only_plain_sentences_that_were_recorded_are_kept(tmp_path):
    src = _tree(tmp_path / "src")
    items = asterisk_items(src / "asterisk", min_words=4, max_seconds=12)
    assert [w.stem for w, _ in items] == ["agent-loginok", "queue-thankyou"]
    assert items[0][1] == "Agent logged in, please wait for your call."
    cards = sphinx_items(src / "pocketsphinx" / "cards", "cards.transcription")
    assert [t for _, t in cards] == ["ten of clubs", "seven of hearts", "five five"]


def test_build_writes_an_evaluation_split_the_eval_reads(tmp_path):
    src = _tree(tmp_path / "src")
    s = build(src, tmp_path / "human")
    assert s["utterances"] == {"heldout": 8} and s["per_voice"] == {"human:asterisk": 2, "human:librivox": 3,
                                                                     "human:cards": 3}
    meta = json.loads((tmp_path / "human" / "corpus.json").read_text())
    assert all(v["kind"] == "human" and v["licence"] for v in meta["voices"])
    split = CorpusSplit(tmp_path / "human", "heldout")
    assert split.sample_rate == 22050 and len(split.audio) == 8
    assert abs(len(split.audio[0]) / 22050 - 1.5) < 0.02                          # resampled from 8 kHz
    assert split.texts[2] == "he was not an ill disposed young man"
    assert split.phonemes[2][0] == "<sil>" and len(split.phonemes[2]) > 10
    assert [split.voice_name(i) for i in (0, 2, 5)] == ["Allison Smith (Asterisk prompts)",
                                                        "LibriVox reader (Sense and Sensibility)", "CMU cards speaker"]
    assert len(split.triples()) >= 3                                              # voices with 3+ utterances pair up


def test_a_validation_split_of_the_last_asterisk_prompts(tmp_path):
    """--val N writes val.npz with the last N Asterisk prompts (one speaker) and leaves heldout.npz whole; it is
    refused when it would reach into the first 60 the held-out table uses."""
    import pytest
    src = _tree(tmp_path / "src", more=61)                                         # 63 Asterisk prompts
    whole = build(src, tmp_path / "a")
    s = build(src, tmp_path / "b", val=3)
    assert s["utterances"] == {"heldout": whole["utterances"]["heldout"], "val": 3}
    held, val = CorpusSplit(tmp_path / "b", "heldout"), CorpusSplit(tmp_path / "b", "val")
    asterisk = [t for t, v in zip(held.texts, held.voice) if v == 0]
    assert val.texts == asterisk[-3:] and set(val.voice.tolist()) == {0} and len(val.triples()) == 3
    assert np.array_equal(np.load(tmp_path / "a" / "heldout.npz")["audio"], np.load(tmp_path / "b" / "heldout.npz")["audio"])
    with pytest.raises(ValueError, match="60 for the held-out table"):
        build(src, tmp_path / "c", val=4)
    build(src, tmp_path / "b")                                                     # rebuilt without: no stale val
    assert not (tmp_path / "b" / "val.npz").exists()


def test_prompts_from_human_and_engine_corpora_append_to_the_listing(tmp_path):
    import pytest

    from app.speech_tab import prompt_examples
    from resgen.speech.prompt_export import export_prompts
    build(_tree(tmp_path / "src"), tmp_path / "human")
    out = tmp_path / "prompts"
    out.mkdir()
    (out / "prompts.json").write_text(json.dumps([{"file": "old.wav", "voice": "en+m1", "accent": "en", "text": "x"}]))
    sf.write(str(out / "old.wav"), np.zeros(800, np.float32), 22050)
    [wav] = export_prompts(tmp_path / "human", out, seconds=1.0, voices=["human:librivox"], append=True)
    listing = json.loads((out / "prompts.json").read_text())
    assert [e["file"] for e in listing] == ["old.wav", "human_librivox.wav"] and wav.name == "human_librivox.wav"
    assert listing[1]["kind"] == "human" and "public domain" in listing[1]["licence"]
    assert abs(sf.info(str(wav)).duration - 1.0) < 0.01
    assert list(prompt_examples(out)) == ["en+m1 (held out)",
                                          "LibriVox reader (Sense and Sensibility) (real human recording)"]
    export_prompts(tmp_path / "human", out, seconds=1.0, voices=["human:librivox"], append=True)   # no duplicate
    assert len(json.loads((out / "prompts.json").read_text())) == 2
    with pytest.raises(ValueError, match="no held-out voice 'human:nobody'.*human:cards"):
        export_prompts(tmp_path / "human", out, voices=["human:nobody"])
