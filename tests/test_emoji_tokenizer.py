"""The colour tokenizer: 64x64 RGB -> an 8x8 grid of D codes, decoded from any number of depths; its trainer runs
on the emoji set with augmentation and resumes."""
import json

import numpy as np
import pytest
import torch

import resgen

from resgen.cli.main import main
from resgen.core.config import ImageTokenizerConfig, RVQConfig
from resgen.core.weights import load_module
from resgen.image import emoji_data as ed
from resgen.image.tokenizer import ImageTokenizer

from test_emoji_data import _fake_packages

CFG = ImageTokenizerConfig(in_channels=3, image_size=64, channels=(8, 8, 16, 16),
                           rvq=RVQConfig(depth=4, codebook_size=16, dim=4))


def test_shapes_and_per_depth_decoding():
    torch.manual_seed(0)
    tok = ImageTokenizer(CFG).eval()
    x = torch.rand(3, 3, 64, 64)
    codes = tok.encode(x)
    assert tok.grid == 8 and codes.shape == (3, 64, 4) and codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) < 16
    for d in range(1, 5):                                          # depth d: the sum of the first d embeddings
        img = tok.decode(codes, d)
        assert img.shape == (3, 3, 64, 64) and 0 <= float(img.min()) and float(img.max()) <= 1
        ref = tok.decode_latent(tok.rvq.decode(codes, d)).clamp(0, 1)
        assert torch.allclose(img, ref)
    assert not torch.allclose(tok.decode(codes, 1), tok.decode(codes, 4))
    rec, c2, _ = tok(x)                                              # the training pass agrees with encode
    assert rec.shape == x.shape and torch.equal(c2, codes)


def test_channels_must_fit_the_image_size():
    with pytest.raises(ValueError, match="divisible"):
        ImageTokenizer(ImageTokenizerConfig(in_channels=3, image_size=60, channels=(8, 8, 16, 16)))


def test_trainer_on_the_emoji_set_writes_a_colour_tokenizer_and_resumes(tmp_path, capsys):
    src = _fake_packages(tmp_path / "src", per_cat=4)
    ed.build(src, tmp_path / "emoji", val=0.25, heldout=0.25)
    args = ["train", "image-tokenizer", "--data", "emoji", "--emoji-data", str(tmp_path / "emoji"), "--steps", "4",
            "--batch-size", "4", "--depth", "3", "--codebook-size", "8", "--code-dim", "4", "--channels", "8,8,8,8",
            "--threads", "1"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert main(args + ["--out", str(tmp_path / "b"), "--stop-at", "2"]) == 0
    assert main(args + ["--out", str(tmp_path / "b")]) == 0                  # resumed from step 2
    meta = json.loads((tmp_path / "a" / "tokenizer.json").read_text())
    assert meta["tokenizer"]["in_channels"] == 3 and meta["tokenizer"]["image_size"] == 64
    cfg = ImageTokenizerConfig(in_channels=3, image_size=64, channels=(8, 8, 8, 8),
                               rvq=RVQConfig(depth=3, codebook_size=8, dim=4))
    a = load_module(ImageTokenizer(cfg), tmp_path / "a" / "tokenizer.safetensors")
    b = load_module(ImageTokenizer(cfg), tmp_path / "b" / "tokenizer.safetensors")
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):   # deterministic through a resume
        assert torch.allclose(va, vb, atol=1e-6), k
    img = ed.load_emoji(tmp_path / "emoji", "heldout")["images"]
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(0, 3, 1, 2).float() / 255
    assert a.decode(a.encode(x)).shape == x.shape


def test_denoiser_trains_on_augmented_emoji_tokens_with_category_classes(tmp_path):
    src = _fake_packages(tmp_path / "src", per_cat=4)
    ed.build(src, tmp_path / "emoji", val=0.25, heldout=0.25)
    tok = tmp_path / "tok"
    assert main(["train", "image-tokenizer", "--data", "emoji", "--emoji-data", str(tmp_path / "emoji"), "--steps", "2",
                 "--batch-size", "4", "--depth", "3", "--codebook-size", "8", "--code-dim", "4", "--channels",
                 "8,8,8,8", "--threads", "1", "--out", str(tok)]) == 0
    out = tmp_path / "model"
    assert main(["train", "image", "--data", "emoji", "--emoji-data", str(tmp_path / "emoji"), "--augment-copies", "2",
                 "--tokenizer", str(tok), "--out", str(out), "--steps", "3", "--batch-size", "4", "--width", "16",
                 "--layers", "1", "--heads", "2", "--components", "4", "--rank", "2", "--threads", "1"]) == 0
    meta = json.loads((out / "config.json").read_text())
    assert meta["classes"] == list(ed.CATEGORIES) and meta["denoiser"]["num_classes"] == 9 and meta["data"] == "emoji"
    n_train = len(ed.load_emoji(tmp_path / "emoji", "train")["label"])
    with np.load(out / "codes_train.npz") as z:
        assert z["codes"].shape == (3 * n_train, 64, 3)                       # each image and 2 augmented copies
        assert (z["labels"][:n_train] == z["labels"][n_train:2 * n_train]).all()
        assert not (z["codes"][:n_train] == z["codes"][n_train:2 * n_train]).all()


def test_a_grey_tokenizer_does_not_fit_the_emoji(tmp_path, tiny_model_dir, capsys):
    assert main(["train", "image", "--data", "emoji", "--tokenizer", str(tiny_model_dir), "--out",
                 str(tmp_path / "m"), "--steps", "1"]) == 2
    assert "does not fit --data emoji" in capsys.readouterr().err


@pytest.fixture(scope="module")
def emoji_model(tiny_emoji_dir):
    """A tiny colour model (tests/tiny.py) and, beside it, the synthetic emoji set it was trained on (emoji/)."""
    return tiny_emoji_dir


def test_the_pipeline_draws_colour_images_from_a_colour_model(emoji_model, tmp_path):
    out = emoji_model
    from resgen.image.io import save_images
    from resgen.image.pipeline import ImagePipeline
    pipe = ImagePipeline(out, backend="torch")
    assert pipe.colour and pipe.grid == 8 and pipe.classes == list(ed.CATEGORIES)
    res = pipe.generate(labels=["animals & nature", 8], steps=4, cfg=2.0, seed=0)
    assert res.images.shape == (2, 64, 64, 3) and res.images.dtype == np.uint8
    assert res.labels == [2, 8] and len(res.traces) == 4
    for d in (1, 3):
        assert pipe.decode(res.codes, d).shape == (2, 64, 64, 3)
    mask = torch.zeros(res.codes.shape, dtype=torch.bool)
    assert torch.allclose(pipe.decode_partial(res.codes, mask), pipe.decode(res.codes), atol=1e-5)
    paths = save_images(tmp_path / "png", res.images, res.labels, pipe.classes)
    from PIL import Image
    assert Image.open(paths[0]).mode == "RGB" and Image.open(tmp_path / "png" / "grid.png").size == ((2 * 66 + 2) * 4, 68 * 4)
    with pytest.raises(ValueError, match="Smileys & Emotion"):             # a bad name lists the valid ones
        pipe.generate(labels=["Dogs"], steps=2)


def test_nearest_training_psnr_sees_copies():
    from resgen.eval.emoji import COPY_PSNR, copy_stats
    g = torch.Generator().manual_seed(0)
    train = torch.rand(20, 3, 8, 8, generator=g)
    copies = (train[:5] + 0.005 * torch.randn(5, 3, 8, 8, generator=g)).clamp(0, 1)     # PSNR ~46 dB
    new = torch.rand(5, 3, 8, 8, generator=g)                                          # PSNR ~8 dB
    assert copy_stats(copies, train)["copy_rate"] == 1.0
    s = copy_stats(new, train)
    assert s["copy_rate"] == 0.0 and s["nearest_psnr_median"] < COPY_PSNR
    assert copy_stats(torch.cat([copies, new]), train)["copy_rate"] == 0.5


def test_eval_emoji_reports_every_row(emoji_model, tmp_path, capsys):
    out, data, clf = emoji_model, emoji_model.parent / "emoji", tmp_path / "clf"
    common = ["--data", "emoji", "--emoji-data", str(data), "--threads", "1", "--batch-size", "4"]
    assert main(["train", "classifier", *common, "--steps", "2", "--out", str(clf)]) == 0
    assert "held-out" in capsys.readouterr().out
    assert main(["eval", "emoji", "--model", str(out), "--data", str(data), "--classifier", str(clf),
                 "--no-fid", "--n-per-class", "2", "--steps", "2", "--json", str(tmp_path / "r.json"),
                 "--save-grid", str(tmp_path / "g.png"), "--threads", "1"]) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert [t["depth"] for t in r["tokenizer"]] == [1, 2, 3]
    names = [w["images"] for w in r["rows"]]
    assert names[0] == "real heldout" and "floor" in names[1] and names[2].startswith("ResGEN, CFG")
    assert names[3] == "ResGEN, no CFG" and r["rows"][2]["n"] == 18
    assert all(0 <= w["copy_rate"] <= 1 and 0 <= w["classifier_accuracy"] <= 1 for w in r["rows"])
    assert "| tokenizer depth |" in capsys.readouterr().out
    assert main(["eval", "emoji", "--model", str(out), "--data", str(data), "--classifier",
                 str(tmp_path / "none"), "--no-fid"]) == 2
    assert "resgen train classifier --data emoji" in capsys.readouterr().err


@pytest.fixture
def shipped_root(emoji_model, tiny_model_dir, tmp_path, monkeypatch):
    """An assets/ folder holding the tiny grey model as `image` and the tiny colour one as `image-emoji`."""
    import shutil
    root = tmp_path / "assets"
    shutil.copytree(tiny_model_dir, root / "image")
    shutil.copytree(emoji_model, root / "image-emoji")
    monkeypatch.setenv("RESGEN_ASSETS", str(root))
    return root


def test_models_are_picked_by_name_in_any_case_or_by_folder(shipped_root, emoji_model):
    from resgen.image.models import resolve_image_model
    assert resolve_image_model("Emoji") == shipped_root / "image-emoji"
    assert resolve_image_model(None) == resolve_image_model("IMAGE") == shipped_root / "image"
    assert resolve_image_model(str(emoji_model)) == emoji_model
    with pytest.raises(ValueError, match="unknown image model 'dogs'.*image, emoji"):
        resolve_image_model("dogs")
    assert resgen.load("image", model="EMOJI", backend="torch").colour
    assert not resgen.load("image", backend="torch").colour


def test_cli_samples_the_emoji_model_by_name_and_class_name(shipped_root, tmp_path):
    from tiny import resgen as run_cli
    r = run_cli("sample", "image", "--model", "emoji", "--label", "animals & nature,Flags", "--n", "2", "--steps",
                "2", "--backend", "torch", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    from PIL import Image
    names = sorted(p.name for p in (tmp_path / "o").glob("*.png"))
    assert len(names) == 3 and Image.open(tmp_path / "o" / names[0]).mode == "RGB"   # 2 images + grid.png


@pytest.mark.parametrize("args, message", [
    (["--model", "emoji", "--label", "Dogs"], "unknown class 'Dogs'; choose one of: Smileys & Emotion, People & Body"),
    (["--model", "emoji", "--label", "9"], "label 9 is out of range 0..8"),
    (["--model", "dogs"], "unknown image model 'dogs': give a shipped model's name (image, emoji) or a model folder"),
    (["--model", "image", "--label", "Flags"], "unknown class 'Flags'; choose one of: T-shirt/top"),
])
def test_cli_bad_model_or_class_name_is_one_clear_line(shipped_root, tmp_path, args, message):
    from tiny import resgen as run_cli
    r = run_cli("sample", "image", *args, "--steps", "1", "--n", "1", "--backend", "torch", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
