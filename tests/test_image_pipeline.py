import numpy as np
import pytest

import resgen
from resgen.core.trace import load_traces, save_traces
from resgen.core.weights import ModelFileError
from tiny import resgen as run_cli


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir


def test_generate_and_trace_round_trip(model_dir, tmp_path):
    pipe = resgen.load("image", model_dir=model_dir)
    res = pipe.generate([0, 3, "Bag"], steps=5, cfg=2.0, seed=0)
    assert res.images.shape == (3, 28, 28) and res.images.dtype == np.uint8
    assert len(res.traces) == 5 and not res.traces[-1].mask.any()
    again = pipe.generate([0, 3, 8], steps=5, cfg=2.0, seed=0)
    assert np.array_equal(res.images, again.images)
    path = tmp_path / "t.npz"
    save_traces(path, res.traces, res.trace_meta(pipe))
    arrays, meta = load_traces(path)
    assert arrays["codes"].shape == (5, 3, 64, 4)
    assert meta["labels"] == [0, 3, 8] and meta["steps"] == 5 and meta["grid"] == [8, 8]
    assert arrays["masked"].tolist() == [int(t.mask[0].sum()) for t in res.traces]
    assert np.array_equal(arrays["codes"][-1], res.codes.numpy())


def test_generate_steps_streams_T_traces(model_dir):
    pipe = resgen.load("image", model_dir=model_dir)
    traces = list(pipe.generate_steps([1], steps=3, seed=1))
    assert [t.step for t in traces] == [0, 1, 2]
    partial = pipe.decode_partial(traces[0].codes, traces[0].mask)
    assert partial.shape == (1, 28, 28)


def test_bad_inputs_raise_value_errors(model_dir):
    pipe = resgen.load("image", model_dir=model_dir)
    for kwargs in ({"labels": [10]}, {"labels": ["Shoe"]}, {"labels": [0], "steps": 0},
                   {"labels": [0], "top_p": 0}, {"labels": [0], "pi_temperature": -1},
                   {"labels": [0], "pi_temperature": 11}, {"labels": []}):
        with pytest.raises(ValueError):
            pipe.generate(**kwargs)


def test_corrupt_or_missing_weights(model_dir, tmp_path):
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    with open(broken / "denoiser.safetensors", "r+b") as f:
        f.seek(100)
        f.write(b"garbage")
    with pytest.raises(ModelFileError, match="stale or corrupt"):
        resgen.load("image", model_dir=broken)
    (broken / "denoiser.safetensors").unlink()
    with pytest.raises(ModelFileError, match="missing"):
        resgen.load("image", model_dir=broken)


def test_cli_sample_writes_pngs_and_trace(model_dir, tmp_path):
    out = tmp_path / "out"
    r = run_cli("sample", "image", "--model", str(model_dir), "--label", "7", "--n", "4", "--steps", "4",
                "--out", str(out), "--trace", str(tmp_path / "tr.npz"))
    assert r.returncode == 0, r.stderr
    assert len(list(out.glob("0*_7_sneaker.png"))) == 4 and (out / "grid.png").exists()
    arrays, meta = load_traces(tmp_path / "tr.npz")
    assert arrays["mask"].shape == (4, 4, 64, 4) and meta["labels"] == [7] * 4


def test_cli_sample_uses_the_models_own_sampler_settings(model_dir, tmp_path):
    """Without --steps/--cfg/--temperature the sampler settings come from the model's config.json."""
    import json
    import shutil
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    meta = json.loads((model / "config.json").read_text())
    meta["sampler"].update(steps=5, cfg=1.5, temperature=0.5, pi_temperature=0.75)
    (model / "config.json").write_text(json.dumps(meta))
    r = run_cli("sample", "image", "--model", str(model), "--n", "1", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert "steps 5, cfg 1.5, temperature 0.5" in r.stderr and "pi_temperature 0.75" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--label", "12"], "out of range"),
    (["--label", "Shoe"], "unknown class"),
    (["--steps", "0"], "--steps"),
    (["--pi-temperature", "11"], "pi_temperature"),
    (["--n", "0"], "--n"),
    (["--n", "1000"], "--n"),
    (["--out", "/proc/forbidden/x"], "cannot create output folder"),
])
def test_cli_bad_input_one_line_error(model_dir, tmp_path, args, message):
    r = run_cli("sample", "image", "--model", str(model_dir), "--backend", "torch", "--out", str(tmp_path / "o"), *args)
    assert r.returncode != 0
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_missing_and_corrupt_model(model_dir, tmp_path):
    r = run_cli("sample", "image", "--model", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "missing" in r.stderr and "Traceback" not in r.stderr
    import shutil
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "config.json").write_text("{not json")
    r = run_cli("sample", "image", "--model", str(broken), "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and "cannot parse" in r.stderr and "Traceback" not in r.stderr


def test_eval_classifier_falls_back_to_shipped_and_missing_is_one_line(model_dir, tmp_path):
    from resgen import assets_dir
    from resgen.eval.image import classifier_path
    assert classifier_path(None, tmp_path) == assets_dir() / "image" / "classifier.safetensors"
    assert str(classifier_path("x.safetensors", model_dir)) == "x.safetensors"
    r = run_cli("eval", "image", "--model", str(model_dir), "--classifier", str(tmp_path / "none.safetensors"),
                "--no-fid", "--n-per-class", "1")
    assert r.returncode == 2 and "missing model file" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
