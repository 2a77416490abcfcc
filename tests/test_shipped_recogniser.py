"""The shipped phoneme recogniser (assets/speech-recogniser) can see intelligibility: on speech it never heard
(espeak-ng voices and sentences made here) its PER is low, and the same audio scored against the wrong sentences,
or audio with its words destroyed, scores far worse."""
import numpy as np
import pytest

import resgen
from resgen.eval.recogniser import load_recogniser, per
from resgen.speech.corpus import Phonemizer
from resgen.speech.espeak import Espeak, Voice

SENTENCES = ["Nothing is as simple as it seems at first.", "The early bird catches the worm, they say.",
             "Never trust a computer you cannot throw out of a window.", "A penny saved is a penny earned.",
             "Every cloud has a silver lining somewhere."]
VOICE = Voice("en-us", "f3", pitch=55, rate=165, pitch_range=60)      # not a corpus voice: pitch range 60


@pytest.fixture(scope="module")
def fixture():
    rec = load_recogniser(resgen.assets_dir() / "speech-recogniser")
    es, ph = Espeak(), Phonemizer()
    audio = [es.synth(s, VOICE)[0].astype(np.float32) / 32768 for s in SENTENCES]
    refs = [rec.reference(p) for p in ph(SENTENCES, VOICE.accent)]
    return rec, audio, refs


def test_right_sentences_score_low_and_wrong_ones_high(fixture):
    rec, audio, refs = fixture
    hyps = rec.transcribe_all(audio, 22050)
    right, wrong = per(refs, hyps), per(refs[1:] + refs[:1], hyps)
    assert right <= 0.2, (right, hyps[0])
    assert wrong >= 0.7 and wrong - right >= 0.5, (right, wrong)


def test_destroyed_speech_scores_high(fixture):
    """Time-reversed audio keeps the voice and the spectrum but not the words."""
    rec, audio, refs = fixture
    assert per(refs, rec.transcribe_all([a[::-1].copy() for a in audio], 22050)) >= 0.6


def test_other_sample_rates_are_resampled(fixture):
    from resgen.speech.audio import resample
    rec, audio, refs = fixture
    at16k = [resample(a, 22050, 16000) for a in audio]
    assert per(refs, rec.transcribe_all(at16k, 16000)) <= 0.25


def test_sentence_choice_picks_the_spoken_sentence_and_noise_is_at_chance(fixture):
    rec, audio, _ = fixture
    candidates = Phonemizer()(SENTENCES, VOICE.accent)
    assert rec.choose(audio, 22050, candidates) == [0, 1, 2, 3, 4]
    assert rec.choose(audio[::-1], 22050, candidates) == [4, 3, 2, 1, 0]                # not by position
    rng = np.random.default_rng(0)
    noise = [(rng.standard_normal(3 * 22050) * 0.05).astype(np.float32) for _ in audio]   # one length: no hint
    assert sum(p == k for k, p in enumerate(rec.choose(noise, 22050, candidates))) <= 2
