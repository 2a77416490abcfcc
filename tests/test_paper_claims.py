"""benchmarks/claims/paper_claims.py: the per-row guidance option (the table itself is a benchmark)."""
import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location(
    "paper_claims", Path(__file__).resolve().parents[1] / "benchmarks" / "claims" / "paper_claims.py")
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


def _row(key, s_batch1=float("nan"), **fids):
    return {"key": key, "name": key, "s_batch1": s_batch1, **fids}


def _verdicts(rows):
    return {c["claim"]: c["verdict"] for c in paper_claims.claim_checks(rows)}


def test_claim_checks_read_the_thresholds_of_issue_6():
    rows = [_row("R8", 0.30, fid_cfg=89.5, fid_no_cfg=97.2), _row("R4", 0.26, fid_cfg=88.0, fid_no_cfg=95.0),
            _row("R16", 0.33, fid_cfg=116.0), _row("AR", 1.20, fid_cfg=99.5, fid_no_cfg=96.0),
            _row("PT", 0.30, fid_cfg=86.6, fid_no_cfg=89.4)]
    v = _verdicts(rows)
    assert v["ResGEN at least 3x faster than the AR baseline at batch 1"] == "met"          # 4.0x
    assert v["ResGEN's FID no worse than the AR baseline's, with CFG"] == "met"             # 89.5 <= 99.5
    assert v["ResGEN's FID no worse than the AR baseline's, without CFG"] == "not met"      # 97.2 > 96.0
    assert v["ResGEN's FID no worse than the per-token baseline's, with CFG"] == "not met"
    assert v["ResGEN D=16 within 1.3x of D=4's time at batch 1"] == "met"                   # 1.27x
    assert v["deeper RVQ gives a better FID with CFG (D = 4 / 8 / 16)"] == "not met"


def test_claim_checks_say_what_was_not_measured():
    rows = [_row("R8", fid_cfg=50.0), _row("AR", fid_cfg=60.0), _row("R16", fid_cfg=40.0)]
    v = _verdicts(rows)
    assert v["ResGEN at least 3x faster than the AR baseline at batch 1"] == "not measured"   # --no-timing
    assert v["ResGEN's FID no worse than the AR baseline's, with CFG"] == "met"
    assert v["ResGEN's FID no worse than the AR baseline's, without CFG"] == "not measured"
    assert v["ResGEN's FID no worse than the per-token baseline's, with CFG"] == "not measured"
    assert v["ResGEN D=16 within 1.3x of D=4's time at batch 1"] == "not measured"
    assert v["deeper RVQ gives a better FID with CFG (D = 8 / 16)"] == "met"
    slow = [_row("R8", 0.5), _row("AR", 1.0), _row("R4", 0.2), _row("R16", 0.3)]
    v = _verdicts(slow)
    assert v["ResGEN at least 3x faster than the AR baseline at batch 1"] == "not met"        # 2.0x
    assert v["ResGEN D=16 within 1.3x of D=4's time at batch 1"] == "not met"                 # 1.5x
    assert paper_claims.claim_checks([_row("AR", 1.0, fid_cfg=40.0)]) == []                  # no ResGEN row


def test_claim_checks_tell_a_missing_row_from_a_missing_column():
    measured = {c["claim"]: c["measured"] for c in paper_claims.claim_checks([_row("R8", fid_cfg=50.0), _row("AR")])}
    assert measured["ResGEN's FID no worse than the AR baseline's, with CFG"] == "no FID"
    assert measured["ResGEN's FID no worse than the per-token baseline's, with CFG"] == "no such row"
    assert measured["ResGEN at least 3x faster than the AR baseline at batch 1"] == "no timing"
    assert measured["ResGEN D=16 within 1.3x of D=4's time at batch 1"] == "no such row"
