"""benchmarks/paper_claims.py: the per-row guidance option (the table itself is a benchmark)."""
import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location(
    "paper_claims", Path(__file__).resolve().parents[1] / "benchmarks" / "paper_claims.py")
paper_claims = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paper_claims)


def _error(message):
    raise SystemExit(message)


def test_row_cfg_parses_known_rows():
    keys = ["R8", "R16", "AR", "PT"]
    assert paper_claims.row_guidance(["AR=3", "PT=1.25"], keys, _error) == {"AR": 3.0, "PT": 1.25}
    assert paper_claims.row_guidance([], keys, _error) == {}


@pytest.mark.parametrize("spec, words", [("AR3", "expected KEY=W"), ("AR=x", "expected KEY=W"),
                                         ("R4=2", "no row 'R4'"), ("AR=25", "between 0 and 20")])
def test_row_cfg_refuses_bad_items(spec, words):
    with pytest.raises(SystemExit, match=words):
        paper_claims.row_guidance([spec], ["R8", "AR"], _error)


@pytest.mark.parametrize("p", ["0", "1.5"])
def test_ar_top_p_out_of_range_is_refused_before_any_work(p, capsys):
    with pytest.raises(SystemExit) as e:
        paper_claims.main(["--ar-top-p", p, "--no-shipped"])
    assert e.value.code == 2 and "--ar-top-p must be in (0, 1]" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--mog-noise", "--code-temperature"])
def test_draw_knobs_out_of_range_are_refused_before_any_work(flag, capsys):
    with pytest.raises(SystemExit) as e:
        paper_claims.main([flag, "-1", "--no-shipped"])
    assert e.value.code == 2 and f"{flag} must be between 0 and 10" in capsys.readouterr().err
