"""benchmarks/quality/paired.py: a side may pool runs of the same pairs under other seeds (each pair's mean)."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

spec = importlib.util.spec_from_file_location(
    "paired", Path(__file__).resolve().parents[1] / "benchmarks" / "quality" / "paired.py")
paired = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paired)


def _run(path, seed, sims, per=None, hits=None, split="val"):
    n = len(sims)
    row = {"similarity_utterance": sims, "per_utterance": per or [0.1] * n, "hit_utterance": hits or [True] * n}
    path.write_text(json.dumps({"split": split, "settings": {"seed": seed}, "scores": {"ResGEN": row}}))
    return str(path)


def test_runs_of_a_side_are_averaged_pair_by_pair(tmp_path, capsys):
    a0 = _run(tmp_path / "a0.json", 0, [0.8, 0.9, 0.7])
    a1 = _run(tmp_path / "a1.json", 100, [0.6, 0.9, 0.9], hits=[False, True, True])
    b0 = _run(tmp_path / "b0.json", 0, [0.8, 0.9, 0.8])
    b1 = _run(tmp_path / "b1.json", 100, [0.8, 0.9, 0.8])
    side = paired.side_scores(f"{a0},{a1}", "ResGEN")
    assert np.allclose(side["similarity_utterance"], [0.7, 0.9, 0.8])
    assert np.allclose(side["hit_utterance"], [0.5, 1, 1])
    paired.main([f"{a0},{a1}", f"{b1},{b0}"])                      # pooled by seed, in any order
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("| similarity"))
    assert "| 0.800 | 0.833 | +0.0333 |" in line


def test_a_side_refuses_two_runs_of_one_seed_or_other_pairs(tmp_path):
    a0 = _run(tmp_path / "a0.json", 0, [0.8, 0.9])
    again = _run(tmp_path / "again.json", 0, [0.7, 0.9])
    short = _run(tmp_path / "short.json", 1, [0.7])
    with pytest.raises(SystemExit, match="same seed"):
        paired.side_scores(f"{a0},{again}", "ResGEN")
    with pytest.raises(SystemExit, match="different numbers of pairs"):
        paired.side_scores(f"{a0},{short}", "ResGEN")


def test_skip_leaves_out_the_first_pairs(tmp_path, capsys):
    a = _run(tmp_path / "a.json", 0, [0.1, 0.8, 0.9])
    b = _run(tmp_path / "b.json", 0, [0.9, 0.7, 0.8])
    paired.main([a, b, "--skip", "1"])
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("| similarity"))
    assert "| 2 | 0.850 | 0.750 | -0.1000 |" in line
    with pytest.raises(SystemExit, match="no pairs left"):
        paired.main([a, b, "--skip", "3"])
    with pytest.raises(SystemExit, match="0 or more"):
        paired.main([a, b, "--skip", "-1"])


def test_sides_must_share_seeds_and_split_and_files_must_be_readable(tmp_path):
    a0 = _run(tmp_path / "a0.json", 0, [0.8, 0.9])
    b100 = _run(tmp_path / "b100.json", 100, [0.7, 0.9])
    held = _run(tmp_path / "held.json", 0, [0.7, 0.9], split="heldout")
    with pytest.raises(SystemExit, match="same seeds on both sides"):
        paired.main([a0, b100])
    with pytest.raises(SystemExit, match="split"):
        paired.main([a0, held])
    with pytest.raises(SystemExit, match="not a readable evaluation JSON"):
        paired.main([a0, str(tmp_path / "missing.json")])
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SystemExit, match="not a readable evaluation JSON"):
        paired.main([a0, str(tmp_path / "bad.json")])
    with pytest.raises(SystemExit, match="no row 'Mine'"):
        paired.main([a0, _run(tmp_path / "b0.json", 0, [0.7, 0.9]), "--row", "Mine"])
