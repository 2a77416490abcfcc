"""benchmarks/quality/voice_draws.py: the spread of a split's mean over draws of its voices."""
import importlib.util
from pathlib import Path

import numpy as np

spec = importlib.util.spec_from_file_location(
    "voice_draws", Path(__file__).resolve().parents[1] / "benchmarks" / "quality" / "voice_draws.py")
voice_draws = importlib.util.module_from_spec(spec)
spec.loader.exec_module(voice_draws)


def test_draws_weigh_pairs_and_span_the_voices():
    per_voice = [np.array([0.8, 0.8, 0.8]), np.array([0.9]), np.array([0.7, 0.7])]
    every = voice_draws.draws(per_voice, 3, replace=False, resamples=50)
    assert np.allclose(every, (2.4 + 0.9 + 1.4) / 6)                # all voices without replacement: the pair mean
    one = voice_draws.draws(per_voice, 1, replace=False, resamples=2000)
    assert set(np.round(one, 6)) == {0.8, 0.9, 0.7}                 # one voice: that voice's mean, each drawn
    again = voice_draws.draws(per_voice, 3, replace=True, resamples=2000)
    assert again.min() >= 0.7 - 1e-9 and again.max() <= 0.9 + 1e-9 and again.std() > 0.01   # redrawn: a spread
    assert np.array_equal(again, voice_draws.draws(per_voice, 3, replace=True, resamples=2000))   # seeded
