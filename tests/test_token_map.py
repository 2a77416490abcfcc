"""The unrolled token map (app/token_map.py): its slot table against a hand-made trace, one hover text per slot, the
waterline order and the selected outline."""
import re

import numpy as np
import pytest

from app.token_map import cell_text, slot_table, token_map_svg


def _trace():
    """T=3 steps, 1 sample, N=4 positions, D=3 depths, top-down: position i knows min(D, i*(t+1)//2) depths
    after step t; codes 10*i + j + 1, guesses 500 + ..., confidence -(j + 1) / 10."""
    T, N, D = 3, 4, 3
    known = np.array([[min(D, i * (t + 1) // 2) for i in range(N)] for t in range(T)])     # (T, N)
    mask = np.arange(D)[None, None] >= known[..., None]                                     # (T, N, D)
    revealed = np.concatenate([~mask[:1], mask[:-1] & ~mask[1:]])
    codes = np.where(mask, 0, 10 * np.arange(N)[:, None] + np.arange(D) + 1)
    pred = np.where(mask, 500 + np.arange(T)[:, None, None] * 10 + np.arange(D), codes)
    conf = np.broadcast_to(-(np.arange(D) + 1) / 10, (T, N, D)).astype(np.float32).copy()
    prior = np.concatenate([np.ones((1, N, D), bool), mask[:-1]])
    conf[~prior] = np.nan                                                                    # known before the step
    return {k: v[:, None] for k, v in dict(mask=mask, revealed=revealed, codes=codes, pred_codes=pred,
                                           confidence=conf).items()}, known


def test_slot_table_reads_state_code_step_and_confidence():
    arrays, known = _trace()
    s = slot_table(arrays, 1, 0)                      # after step 2 of 3
    assert (s["mask"].sum(1) == 3 - known[1]).all()
    assert s["now"][2].tolist() == [False, True, False] and s["when"][2].tolist() == [0, 1, -1]
    assert s["code"][2].tolist() == [21, 22, 512]     # held codes, then this step's guess
    assert s["code"][0].tolist() == [510, 511, 512]   # masked: this step's guess
    assert s["when"][0].tolist() == [-1, -1, -1]
    np.testing.assert_allclose(s["conf"][3], [-0.1, -0.2, -0.3], rtol=1e-6)   # at reveal, not NaN later
    assert "re-masked" in cell_text("position 0", 3, s, 0, 1, 3)
    assert "revealed at this step (2/3): code 22" in cell_text("position 2", 3, s, 2, 1, 3)
    assert "code 21, revealed at step 1/3" in cell_text("position 2", 3, s, 2, 0, 3)


def test_svg_has_one_titled_cell_per_slot_and_the_selected_outline():
    arrays, _ = _trace()
    svg = token_map_svg(arrays, 1, 0, selected=2)
    titles = re.findall(r'<rect data-pos="(\d+)"[^>]*><title>([^<]*)</title>', svg)
    assert len(titles) == 4 * 3
    assert [int(p) for p, _ in titles] == [p for p in range(4) for _ in range(3)]
    assert all(t.startswith(f"position {p} · depth ") for p, t in titles)
    assert svg.count('class="selected"') == 1 and 'class="waterline"' in svg
    assert token_map_svg(arrays, 1, 0).count('class="selected"') == 0


def test_known_depth_order_puts_the_most_known_first():
    arrays, known = _trace()
    svg = token_map_svg(arrays, 2, 0, order="known depth")
    cols = [int(p) for p in re.findall(r'<rect data-pos="(\d+)" x="\d+" y="4"', svg)]   # depth-1 cells, left to right
    assert [known[2][c] for c in cols] == sorted(known[2], reverse=True)
    with pytest.raises(ValueError, match="order must be one of"):
        token_map_svg(arrays, 0, 0, order="random")


def test_start_skips_the_prompt_positions():
    arrays, _ = _trace()
    svg = token_map_svg(arrays, 0, 0, start=2)
    assert len(re.findall(r"<rect data-pos=", svg)) == 2 * 3
