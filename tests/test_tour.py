"""The guided tour's steps (app/tour.py): it waits for a run, then walks five steps that set the page and loops."""
import numpy as np

from app.tour import tour_step


def test_the_tour_waits_for_a_run_then_acts_and_loops():
    k, text, act = tour_step(0, None)
    assert k == 1 and "Tour 1/5" in text and act == {}
    assert tour_step(1, None)[0] == 1                                  # still no run: it waits
    arrays = {"codes": np.zeros((16, 2, 64, 8), np.int16)}
    seen = []
    k = 1
    for _ in range(4):
        k, text, act = tour_step(k, arrays)
        seen.append((text.split(":")[0], act))
    assert [s for s, _ in seen] == ["**Tour 2/5", "**Tour 3/5", "**Tour 4/5", "**Tour 5/5"]
    assert seen[0][1] == {"step": 1}
    assert seen[1][1] == {"step": 8, "selected": 36}
    assert seen[2][1] == {"depth": 1, "order": "known depth"}
    assert seen[3][1]["method"] is True and seen[3][1]["step"] == 16 and k == 0
    assert "512 tokens in 16 network calls" in seen[3][0] + text
    assert tour_step(0, arrays)[1].startswith("**Tour 2/5")         # a run already there: the tour starts on it
