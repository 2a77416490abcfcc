"""Comparing generators (resgen/baselines/compare.py): model discovery, the AR trace, runs on tiny models,
and ResGEN depth variants (tokenizers of depth 4 and 16) that train, load and sample."""
import shutil

import numpy as np
import pytest
import torch

import resgen
from resgen.baselines.ar import load_ar
from resgen.baselines.compare import (CompareRun, ar_trace_arrays, check_ar_tokens, installed_image_models, revealed_share,
                            run_ar, run_resgen)
from resgen.core.weights import ModelFileError
from tiny import tiny_ar, tiny_model


@pytest.fixture(scope="module")
def root(tmp_path_factory, tiny_model_dir):
    """A models folder: image/ (tiny, D=4), image-d16/ (tiny, D=16) and image-ar/ (on image/'s tokens)."""
    root = tmp_path_factory.mktemp("models")
    shutil.copytree(tiny_model_dir, root / "image")
    d16 = tiny_model(tmp_path_factory.mktemp("d16"), depth=16)
    shutil.copytree(d16, root / "image-d16")
    tiny_ar(root / "image-ar", root / "image")
    (root / "image-dx").mkdir()                                  # not a depth variant: ignored
    return root


def test_installed_models_are_found_in_order(root):
    models = installed_image_models(root)
    assert [(m.kind, m.depth, m.folder.name) for m in models] == [
        ("resgen", 4, "image"), ("resgen", 16, "image-d16"), ("ar", 4, "image-ar")]
    assert models[0].name == "ResGEN D=4 (shipped)"


def test_depth_variants_load_and_sample(root):
    for folder, depth in (("image", 4), ("image-d16", 16)):
        pipe = resgen.load("image", backend="torch", model_dir=root / folder)
        assert pipe.depth == depth
        run = run_resgen(pipe, folder, [1, 2], seed=0, cfg=2.0, steps=5)
        assert run.images.shape == (2, 28, 28) and run.images.dtype == np.uint8
        assert run.frames == 5 and run.calls == 5          # T (CFG rides in the same batch), whatever D is
        assert run.arrays["codes"].shape == (5, 2, 64, depth)
        assert not run.arrays["mask"][-1].any()


def test_ar_trace_reveals_one_position_per_frame():
    B, N, D = 2, 6, 3
    codes = torch.randint(0, 8, (B, N, D), generator=torch.Generator().manual_seed(0))
    logp = -torch.rand(B, N, D)
    a = ar_trace_arrays(codes, logp)
    assert a["codes"].shape == (N, B, N, D) and a["mask"].shape == (N, B, N, D)
    assert (a["revealed"].sum((1, 2, 3)) == B * D).all()                    # D tokens per sample per frame
    assert (a["mask"][1:] <= a["mask"][:-1]).all()                          # masks only shrink
    assert not a["mask"][-1].any() and (a["codes"][-1] == codes.numpy()).all()
    known = ~a["mask"]
    assert (a["codes"][1:][known[:-1]] == a["codes"][:-1][known[:-1]]).all()  # drawn tokens never change
    assert list(a["masked"]) == [(N - 1 - f) * D for f in range(N)]
    assert np.allclose(a["confidence"][2, :, 2], logp[:, 2].numpy()) and np.isnan(a["confidence"][2, :, 3]).all()


def test_ar_run_matches_its_sampler_and_decodes(root):
    pipe = resgen.load("image", backend="torch", model_dir=root / "image")
    model = load_ar(root / "image-ar")
    check_ar_tokens(root / "image-ar", pipe)
    run = run_ar(model, pipe, "AR", [3, 3, 5], seed=4, cfg=1.5)
    again = run_ar(model, pipe, "AR", [3, 3, 5], seed=4, cfg=1.5)
    assert (run.images == again.images).all()                               # same seed, same samples
    assert run.frames == 64 and run.calls == 64 * 4
    assert run.images.shape == (3, 28, 28)
    share = revealed_share(run)
    assert share[0] == pytest.approx(1 / 64) and share[-1] == 1.0 and (np.diff(share) > 0).all()
    with pytest.raises(ValueError, match="cfg"):
        run_ar(model, pipe, "AR", [3], seed=0, cfg=-1)


def test_ar_on_other_tokens_is_refused(root):
    other = resgen.load("image", backend="torch", model_dir=root / "image-d16")
    with pytest.raises(ModelFileError, match="another tokenizer"):
        check_ar_tokens(root / "image-ar", other)


def test_frame_at_maps_a_share_of_calls_to_a_frame():
    run = CompareRun("x", np.zeros((1, 28, 28), np.uint8), {}, np.array([2, 4, 6, 8]), 0.1)
    assert [run.frame_at(s) for s in (0.0, 0.1, 0.25, 0.26, 0.5, 0.99, 1.0, 2.0)] == [0, 0, 0, 1, 1, 3, 3, 3]


def test_shipped_depth_variants_load_and_sample():
    models = [m for m in installed_image_models(resgen.assets_dir()) if m.folder.name.startswith("image-d")]
    if not models:
        pytest.skip("no depth variants in assets/")
    for m in models:
        pipe = resgen.load("image", backend="torch", model_dir=m.folder)
        assert pipe.depth == m.depth
        run = run_resgen(pipe, m.name, [7, 8], seed=0, cfg=1.5, steps=8)
        assert run.calls == 8 and run.images.std() > 10                     # T calls; not a blank image
