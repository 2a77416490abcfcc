"""Long text: split at sentence, then clause, then word boundaries; chunks joined with a cross-fade."""
import numpy as np
import pytest

import resgen
from resgen.speech.chunks import crossfade_join, split_text
from resgen.speech.pipeline import CROSSFADE_S, MAX_TEXT


def _fits(n):
    return lambda s: len(s) <= n


def test_sentences_first_then_clauses_then_words():
    text = "Short one. Another short one! This sentence is long, with a clause; and a tail. End?"
    assert split_text(text, _fits(100), max_chars=200) == [text]
    assert split_text(text, _fits(100), max_chars=30) == [       # packed up to max_chars; a sentence that fits stays whole
        "Short one. Another short one!", "This sentence is long, with a clause; and a tail.", "End?"]
    chunks = split_text(text, _fits(25), max_chars=25)
    assert "This sentence is long," in chunks and "with a clause;" in " ".join(chunks)
    words = split_text("one two three four five six seven", _fits(9))
    assert words == ["one two", "three", "four five", "six seven"]


@pytest.mark.parametrize("limit", [12, 25, 60])
def test_chunks_fit_and_keep_the_words_in_order(limit):
    text = ("It was the best of times, it was the worst of times. It was the age of wisdom — it was the age of "
            "foolishness; it was the epoch of belief.\nIt was the season of Light!")
    chunks = split_text(text, _fits(limit), max_chars=limit)
    assert all(len(c) <= limit for c in chunks)
    assert " ".join(chunks).split() == [w for w in text.replace("—", " ").split()]


def test_crossfade_join_overlaps_and_stays_continuous():
    sr = 1000
    parts = [np.ones(200, np.float32), -np.ones(300, np.float32), np.full(100, 0.5, np.float32)]
    out = crossfade_join(parts, sr, fade_s=0.03)
    assert len(out) == 600 - 2 * 30
    assert np.abs(np.diff(out)).max() < 0.1                   # no click: the joints ramp
    assert out[0] == 1 and out[-1] == 0.5
    assert len(crossfade_join([np.ones(10), np.ones(5)], sr, fade_s=0.03)) == 10    # fade clipped to the shorter part
    assert len(crossfade_join([], sr)) == 0


@pytest.fixture(scope="module")
def pipe(tiny_speech_dir):
    return resgen.load("speech", model_dir=tiny_speech_dir)


def _tone(seconds=2.0, sr=22050):
    t = np.arange(int(seconds * sr)) / sr
    return (0.2 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)


def test_three_chunks_make_one_continuous_wav(pipe):
    """Three sentences of ~140 characters: each is one chunk (chunks are packed up to CHUNK_CHARS = 200)."""
    sentence = ("The cat sat down on the mat by the door, and then the cat looked around the room for a while "
                "before it went to sleep in the sun.")
    assert len(pipe.chunk_text(sentence, _tone(), 22050)) == 1
    text = " ".join(s.replace("cat", animal) for s, animal in zip([sentence] * 3, ["cat", "dog", "fox"]))
    chunks = pipe.chunk_text(text, _tone(), 22050)
    assert len(chunks) == 3 and " ".join(chunks) == text
    seen = []
    r = pipe.generate(text, _tone(), 22050, steps=2, seed=5, vocoder="griffin-lim",
                      on_chunk=lambda k, n, c: seen.append((k, n, c)))
    assert [(k, n) for k, n, _ in seen] == [(0, 3), (1, 3), (2, 3)] and [c for *_, c in seen] == chunks
    assert len(r.parts) == 3 and r.chunk_texts == chunks
    fade = int(round(CROSSFADE_S * r.sample_rate))
    assert len(r.audio) == sum(len(p.audio) for p in r.parts) - 2 * fade
    assert r.mel.shape[-1] == sum(p.mel.shape[-1] for p in r.parts)
    assert r.traces is r.parts[0].traces and r.settings["chunks"] == 3
    assert [p.settings["seed"] for p in r.parts] == [5, 6, 7]
    again = pipe.generate(chunks[1], _tone(), 22050, steps=2, seed=6, vocoder="griffin-lim")
    assert np.array_equal(again.codes, r.parts[1].codes)      # chunk k is the plain generation with seed + k


def test_over_long_text_is_refused(pipe):
    with pytest.raises(ValueError, match=f"at most {MAX_TEXT}"):
        pipe.chunk_text("word " * 700, _tone(), 22050)
    with pytest.raises(ValueError, match="empty"):
        pipe.generate("   ", _tone(), 22050)
