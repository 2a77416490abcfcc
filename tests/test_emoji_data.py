"""`resgen data emoji` on a synthetic copy of the npm packages' layout: alpha flattened onto white, one class a
category, Component dropped, skin tones grouped with their emoji, splits by emoji, clear errors."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from resgen.cli.main import main
from resgen.core.errors import UsageError
from resgen.image import emoji_data as ed
from resgen.image.emoji_augment import augment

CATS = ["Smileys & Emotion", "Animals & Nature", "Symbols", "Flags", "Component"]


def _fake_packages(root, per_cat=10, styles=("google", "twitter")):
    """Per style: emoji.json and 64x64 RGBA PNGs; a coloured disc on a transparent background, one colour an
    emoji; the first emoji of each category has two skin-tone variants."""
    rng = np.random.default_rng(0)
    entries = []
    for c, cat in enumerate(CATS):
        for k in range(per_cat):
            code = f"1F{c:01X}{k:02X}"
            e = {"name": f"{cat} {k}", "short_name": f"e{c}_{k}", "unified": code, "image": f"{code.lower()}.png",
                 "category": cat, "subcategory": "time" if k == 1 else "misc",
                 "has_img_google": True, "has_img_twitter": k != 2}              # twitter lacks one emoji a category
            if k == 0:
                e["skin_variations"] = {t: {"unified": f"{code}-{t}", "image": f"{code.lower()}-{t.lower()}.png",
                                            "has_img_google": True, "has_img_twitter": True} for t in ("1F3FB", "1F3FC")}
            entries.append(e)
    yy, xx = np.mgrid[:64, :64]
    disc = ((yy - 32) ** 2 + (xx - 32) ** 2) < 20 ** 2
    for style in styles:
        pkg = root / ed.STYLES[style][0]
        img = pkg / ed.STYLES[style][1]
        img.mkdir(parents=True)
        (pkg / "emoji.json").write_text(json.dumps(entries))
        for e in entries:
            for v in [e] + list(e.get("skin_variations", {}).values()):
                rgba = np.zeros((64, 64, 4), np.uint8)
                rgba[disc, :3] = rng.integers(0, 256, 3)
                rgba[disc, 3] = 255
                rgba[0, 0] = (0, 0, 0, 128)                                       # a half-transparent black pixel
                Image.fromarray(rgba, "RGBA").save(img / v["image"])
    return root


def test_build_flattens_splits_by_emoji_and_drops_component(tmp_path):
    src = _fake_packages(tmp_path / "src")
    m = ed.build(src, tmp_path / "out", val=0.2, heldout=0.2)
    with np.load(tmp_path / "out" / "emoji.npz") as z:
        d = {k: z[k] for k in z.files}
    M = len(d["label"])
    assert d["images"].shape == (M, 64, 64, 3) and d["images"].dtype == np.uint8
    assert M == 4 * 10 + 4 * 9                                 # 4 categories (Component dropped), twitter lacks 1 each
    assert tuple(d["images"][0, 63, 63]) == ed.BACKGROUND      # transparent -> white
    assert tuple(d["images"][0, 0, 0]) == (127, 127, 127)      # alpha 128/255 black over white
    assert set(d["label"]) == {ed.CATEGORIES.index(c) for c in CATS[:4]}
    for e in np.unique(d["emoji"]):                            # an emoji lives in one split, in every style
        assert len(set(d["split"][d["emoji"] == e])) == 1
    for c in set(d["label"]):                                  # stratified: each class in every split
        assert set(d["split"][d["label"] == c]) == {0, 1, 2}
    assert m["emoji"] == {"train": 24, "val": 8, "heldout": 8}
    assert not d["flip_ok"][d["label"] == ed.CATEGORIES.index("Symbols")].any()
    assert not d["flip_ok"][d["label"] == ed.CATEGORIES.index("Flags")].any()
    smileys = d["label"] == 0
    assert d["flip_ok"][smileys].sum() == smileys.sum() - 2    # the clock-like subcategory ("time") of each style
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert man["background"] == [255, 255, 255] and {s["licence"] for s in man["styles"]} == {"Apache-2.0", "CC-BY-4.0"}
    assert man["classes"] == list(ed.CATEGORIES)


def test_skin_tones_join_their_emoji_and_the_split_is_stable(tmp_path):
    src = _fake_packages(tmp_path / "src")
    ed.build(src, tmp_path / "base", styles=("google",), val=0.2, heldout=0.2)
    ed.build(src, tmp_path / "all", styles=("google", "twitter"), skin_tones="all", val=0.2, heldout=0.2)
    with np.load(tmp_path / "base" / "emoji.npz") as a, np.load(tmp_path / "all" / "emoji.npz") as b:
        assert len(b["label"]) == len(a["label"]) + 36 + 4 * 2 * 2      # twitter, plus 2 tones of 4 emoji x 2 styles
        split_a = dict(zip(a["names"][a["emoji"]], a["split"]))
        split_b = dict(zip(b["names"][b["emoji"]], b["split"]))
        assert split_a == split_b                                        # more styles and tones move no emoji


def test_cli_writes_the_set_and_a_sheet_and_load_reads_a_split(tmp_path, capsys):
    src = _fake_packages(tmp_path / "src")
    assert main(["data", "emoji", "--src", str(src), "--out", str(tmp_path / "o"), "--sheet",
                 str(tmp_path / "sheet.png")]) == 0
    assert "background white" in capsys.readouterr().out
    assert Image.open(tmp_path / "sheet.png").size[1] == len(ed.CATEGORIES) * 66 + 2
    held = ed.load_emoji(tmp_path / "o", "heldout")
    assert held["images"].shape[1:] == (64, 64, 3) and len(held["label"]) == len(held["emoji"]) > 0


@pytest.mark.parametrize("args, match", [
    (["--src", "/nonexistent"], "make data"),
    (["--styles", "apple"], "unknown style"),
    (["--val", "0.6", "--heldout", "0.5"], "shares"),
])
def test_bad_input_is_one_line(tmp_path, capsys, args, match):
    src = _fake_packages(tmp_path / "src")
    assert main(["data", "emoji", "--src", str(src), "--out", str(tmp_path / "o")] + args) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err and not (tmp_path / "o" / "emoji.npz").exists()
    with pytest.raises(UsageError, match="split must be"):
        ed.load_emoji(tmp_path, "test")


def test_augment_keeps_white_background_hue_and_respects_flip_ok():
    g = torch.Generator().manual_seed(0)
    x = torch.ones(64, 3, 16, 16)
    x[:, :, 4:12, 2:6] = torch.tensor([1.0, 0.2, 0.2])[:, None, None]              # a red bar on the left
    flip_ok = torch.arange(64) % 2 == 0
    y = augment(x, flip_ok, g, shift=2, jitter=0.1)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    right = y[..., 9:].lt(0.9).any(1).flatten(1).any(1)                              # ink on the right half
    assert right[flip_ok].any() and not right[~flip_ok].any()                        # only flip_ok images flip
    ink = y.lt(0.95).any(1)                                                           # (B, H, W)
    red = y[:, 0][ink] >= y[:, 1][ink]                                                # still red, never recoloured
    assert red.all()
    assert (y[:, :, 0, :] == 1).all() or (y[..., 14:, :] == 1).all()                  # the border stays white
    assert torch.equal(augment(x, flip_ok, torch.Generator().manual_seed(0), 2, 0.1), y)   # seeded
