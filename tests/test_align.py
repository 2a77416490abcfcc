"""The forced aligner: the CTC Viterbi path on hand-made scores, and phoneme boundaries on espeak speech made here
(a voice outside the corpus) against espeak's own phoneme events, far closer than an even split."""
import numpy as np
import pytest

import resgen
from resgen.eval.align import Aligner, boundaries, boundary_errors, ctc_viterbi

MS = 256 / 22050 * 1000                      # one mel frame in ms


def _scores(path, V=4, hi=0.0, lo=-10.0):
    """log-probs (T, V) that favour the given symbol per frame."""
    lp = np.full((len(path), V), lo)
    lp[np.arange(len(path)), path] = hi
    return lp


def test_viterbi_follows_the_spikes_and_keeps_order():
    #          frame: 0  1  2  3  4  5  6  7  8
    lp = _scores([0, 1, 0, 0, 2, 2, 0, 3, 0])
    states = ctc_viterbi(lp, [1, 2, 3])
    assert states.tolist() == [0, 1, 2, 2, 3, 3, 4, 5, 6]
    assert boundaries(states, 3, "start").tolist() == [1, 4, 7, 8]
    assert boundaries(states, 3, "mid").tolist() == [1, 3.0, 6.5, 8]


def test_repeated_labels_need_a_blank_between_and_too_few_frames_fail():
    lp = _scores([1, 0, 1, 0])
    assert ctc_viterbi(lp, [1, 1]).tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="cannot hold"):
        ctc_viterbi(_scores([1, 1]), [1, 1])
    lp = _scores([0, 2, 0])                           # labels the scores do not favour still get a monotonic path
    s = ctc_viterbi(lp, [1, 3])
    assert (np.diff(s) >= 0).all() and {1, 3} <= set(s.tolist())


SENTENCES = ["Nothing is as simple as it seems at first.", "The early bird catches the worm, they say.",
             "Never trust a computer you cannot throw out of a window.", "A penny saved is a penny earned."]


def test_boundaries_on_espeak_speech_match_its_events():
    from resgen.eval.recogniser import load_recogniser
    from resgen.speech.corpus import Phonemizer, durations_from_events
    from resgen.speech.espeak import Espeak, Voice
    voice = Voice("en-us", "f3", pitch=55, rate=165, pitch_range=60)          # not a corpus voice
    aligner = Aligner(load_recogniser(resgen.assets_dir() / "speech-recogniser"))
    es, ph = Espeak(), Phonemizer()
    ours, even = [], []
    for text, phonemes in zip(SENTENCES, ph(SENTENCES, voice.accent)):
        audio, events = es.synth(text, voice)
        n = len(audio) // 256
        seq, ref = durations_from_events(events, n)
        if seq[1:-1] != phonemes:                        # as the corpus builder: skip where the two disagree
            continue
        got_seq, got = aligner.align(audio.astype(np.float32) / 32768, phonemes)
        assert got_seq == seq and sum(got) == n and min(got[1:-1]) >= 1
        ours.append(boundary_errors(ref, got)[1:-1])
        L = len(ref) - 2                                  # an even split of espeak's own speech span
        cuts = np.round(np.linspace(ref[0], n - ref[-1], L + 1)).astype(int)
        even.append(boundary_errors(ref, np.diff(np.concatenate([[0], cuts, [n]])).tolist())[1:-1])
    assert len(ours) >= 3
    ours, even = np.concatenate(ours) * MS, np.concatenate(even) * MS
    assert ours.mean() <= 35 and np.mean(ours <= 50) >= 0.85, (ours.mean(), np.mean(ours <= 50))
    assert ours.mean() <= even.mean() / 2, (ours.mean(), even.mean())
