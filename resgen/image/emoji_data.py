"""64x64 colour emoji from the npm packages `emoji-datasource-google` and `emoji-datasource-twitter` (no download at
run time: `make data` installs them under runs/emoji-src).

`resgen data emoji --src runs/emoji-src/node_modules --out runs/emoji-data` writes one `emoji.npz`:
  images    uint8 (M, 64, 64, 3)  RGB, alpha flattened onto a white background (BACKGROUND)
  label     int64 (M,)            category index into CATEGORIES (one class a category; "Component" is dropped)
  emoji     int64 (M,)            index of the base emoji in `names` (skin-tone variants share their base's)
  style     int64 (M,)            index into the styles written (google, twitter)
  split     int64 (M,)            0 train, 1 val, 2 held-out: by emoji, so no emoji crosses splits in any style
  flip_ok   bool  (M,)            whether a horizontal flip keeps the meaning (not for symbols, flags, clocks, text)
and `manifest.json` (classes, styles with their licences, counts per split and class, background, the command).
"""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from resgen.core.errors import UsageError

CATEGORIES = ("Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
              "Activities", "Objects", "Symbols", "Flags")
DROPPED = ("Component",)            # 5 skin-tone swatches and hair parts: not pictures of anything
STYLES = {                          # style -> (npm package, image folder, licence of the images, attribution)
    "google": ("emoji-datasource-google", "img/google/64", "Apache-2.0",
               "Noto Emoji, Copyright Google Inc. (github.com/googlefonts/noto-emoji)"),
    "twitter": ("emoji-datasource-twitter", "img/twitter/64", "CC-BY-4.0",
                "Twemoji, Copyright Twitter Inc. and other contributors (github.com/jdecked/twemoji)"),
}
PACKAGE_VERSION = "16.0.0"
BACKGROUND = (255, 255, 255)        # emoji are drawn for a light page; transparent pixels become white
SIZE = 64
NO_FLIP_CATEGORIES = ("Symbols", "Flags")
NO_FLIP_SUBCATEGORIES = ("time", "money", "mail", "book-paper", "writing", "office")   # clocks, signs, text
SPLITS = ("train", "val", "heldout")


def emoji_entries(src: Path, style: str, skin_tones: str = "base") -> list[dict]:
    """The package's emoji.json as rows {name, base, category, subcategory, path}, one per image that the style
    has; skin_tones: 'base' (one image per emoji) or 'all' (every skin-tone variant too, sharing its base)."""
    package, folder, _, _ = STYLES[style]
    root = src / package
    meta = root / "emoji.json"
    if not meta.exists():
        raise UsageError(f"{meta} not found: install the emoji packages with `make data` "
                         f"(npm install --prefix runs/emoji-src {package}@{PACKAGE_VERSION}) or pass --src")
    rows = []
    for e in json.loads(meta.read_text()):
        if e["category"] in DROPPED or not e.get(f"has_img_{style}", False):
            continue
        if e["category"] not in CATEGORIES:
            raise UsageError(f"{meta}: unknown category {e['category']!r} (expected one of {', '.join(CATEGORIES)})")
        base = e["unified"]
        variants = [e] + (list(e.get("skin_variations", {}).values()) if skin_tones == "all" else [])
        for v in variants:
            if v.get(f"has_img_{style}", True):
                rows.append({"name": (e.get("name") or e["short_name"]).lower(), "base": base,
                             "category": e["category"], "subcategory": e.get("subcategory", ""),
                             "path": root / folder / v["image"]})
    return rows


def flatten(rgba: np.ndarray, background=BACKGROUND) -> np.ndarray:
    """uint8 (H, W, 4) -> uint8 (H, W, 3): alpha-composited onto `background`."""
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * a + np.asarray(background, np.float32) * (1 - a)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def read_png(path: Path) -> np.ndarray:
    """A 64x64 emoji PNG -> uint8 (64, 64, 3) on the white background (resized with Lanczos if not 64x64)."""
    from PIL import Image
    with Image.open(path) as im:
        im = im.convert("RGBA")
        if im.size != (SIZE, SIZE):
            im = im.resize((SIZE, SIZE), Image.LANCZOS)
        return flatten(np.asarray(im))


def split_of(bases: list[str], categories: list[str], val: float, heldout: float, seed: int) -> dict[str, int]:
    """base emoji -> 0/1/2 (train/val/held-out), stratified by category: within each category the emoji are ordered
    by a hash of (seed, code), the first `heldout` share is held out, the next `val` share validates. The hash
    depends on the code only, so adding a style or skin tones moves no emoji between splits."""
    by_cat: dict[str, list[str]] = {}
    for b, c in zip(bases, categories):
        by_cat.setdefault(c, [])
        if b not in by_cat[c]:
            by_cat[c].append(b)
    out = {}
    for cat, codes in by_cat.items():
        codes = sorted(codes, key=lambda b: hashlib.sha256(f"{seed}:{b}".encode()).hexdigest())
        n_held = int(round(heldout * len(codes)))
        n_val = int(round(val * len(codes)))
        for i, b in enumerate(codes):
            out[b] = 2 if i < n_held else 1 if i < n_held + n_val else 0
    return out


def build(src: Path, out: Path, styles=("google", "twitter"), skin_tones: str = "base", val: float = 0.1,
          heldout: float = 0.1, seed: int = 0, command: str = "") -> dict:
    """Read every style's images, split by emoji, write out/emoji.npz and out/manifest.json; returns the manifest."""
    if skin_tones not in ("base", "all"):
        raise UsageError(f"--skin-tones must be 'base' or 'all', not {skin_tones!r}")
    unknown = [s for s in styles if s not in STYLES]
    if unknown or not styles:
        raise UsageError(f"unknown style(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(STYLES)}")
    if not (0 <= val < 1 and 0 < heldout < 1 and val + heldout < 1):
        raise UsageError("--val and --heldout are shares of the emoji: 0 <= val, 0 < heldout, val + heldout < 1")
    rows = [(s, r) for s in styles for r in emoji_entries(Path(src), s, skin_tones)]
    if not rows:
        raise UsageError(f"no emoji images found under {src}")
    names = sorted({r["base"] for _, r in rows})
    index = {b: i for i, b in enumerate(names)}
    split = split_of([r["base"] for _, r in rows], [r["category"] for _, r in rows], val, heldout, seed)
    from tqdm import tqdm
    images = np.empty((len(rows), SIZE, SIZE, 3), np.uint8)
    missing = []
    for i, (s, r) in enumerate(tqdm(rows, desc="emoji", unit="img", mininterval=1.0)):
        if not r["path"].exists():
            missing.append(str(r["path"]))
            continue
        images[i] = read_png(r["path"])
    if missing:
        raise UsageError(f"{len(missing)} images listed in emoji.json are missing, e.g. {missing[0]}")
    label = np.array([CATEGORIES.index(r["category"]) for _, r in rows], np.int64)
    arrays = {
        "images": images, "label": label,
        "emoji": np.array([index[r["base"]] for _, r in rows], np.int64),
        "style": np.array([list(styles).index(s) for s, _ in rows], np.int64),
        "split": np.array([split[r["base"]] for _, r in rows], np.int64),
        "flip_ok": np.array([r["category"] not in NO_FLIP_CATEGORIES and r["subcategory"] not in NO_FLIP_SUBCATEGORIES
                             for _, r in rows], bool),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "emoji.npz", names=np.array(names), **arrays)
    counts = {sp: {c: int(((arrays["split"] == k) & (label == j)).sum()) for j, c in enumerate(CATEGORIES)}
              for k, sp in enumerate(SPLITS)}
    manifest = {
        "classes": list(CATEGORIES), "dropped_categories": list(DROPPED), "size": SIZE, "background": list(BACKGROUND),
        "styles": [{"name": s, "package": f"{STYLES[s][0]}@{PACKAGE_VERSION}", "licence": STYLES[s][2],
                    "attribution": STYLES[s][3]} for s in styles],
        "skin_tones": skin_tones, "split_by": "emoji (base code), stratified by category", "seed": seed,
        "shares": {"val": val, "heldout": heldout},
        "emoji": {sp: len({b for b, k in split.items() if k == i}) for i, sp in enumerate(SPLITS)},
        "images": {sp: int((arrays["split"] == i).sum()) for i, sp in enumerate(SPLITS)},
        "images_per_class": counts, "flip_ok_share": float(arrays["flip_ok"].mean()), "command": command,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def load_emoji(folder: Path, split: str = "train") -> dict[str, np.ndarray]:
    """One split of a built set: {images (M, 64, 64, 3) uint8, label, emoji, style, flip_ok}."""
    if split not in SPLITS:
        raise UsageError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    path = Path(folder) / "emoji.npz"
    if not path.exists():
        raise UsageError(f"{path} not found: build it with `resgen data emoji --out {folder}`")
    with np.load(path) as z:
        keep = z["split"] == SPLITS.index(split)
        return {k: z[k][keep] for k in ("images", "label", "emoji", "style", "flip_ok")}


def contact_sheet(folder: Path, path: Path, per_class: int = 12, split: str = "train", seed: int = 0) -> None:
    """A PNG with one row per class of `per_class` random images of the split (to look at the data)."""
    from PIL import Image
    d = load_emoji(folder, split)
    rng = np.random.default_rng(seed)
    pad = 2
    sheet = np.full((len(CATEGORIES) * (SIZE + pad) + pad, per_class * (SIZE + pad) + pad, 3), 200, np.uint8)
    for j in range(len(CATEGORIES)):
        idx = np.flatnonzero(d["label"] == j)
        for k, i in enumerate(rng.choice(idx, min(per_class, idx.size), replace=False) if idx.size else []):
            y, x = pad + j * (SIZE + pad), pad + k * (SIZE + pad)
            sheet[y:y + SIZE, x:x + SIZE] = d["images"][i]
    Image.fromarray(sheet).save(path)


def add_args(p: argparse.ArgumentParser):
    p.add_argument("--src", default="runs/emoji-src/node_modules",
                   help="folder holding the npm packages emoji-datasource-google / -twitter (`make data` installs them)")
    p.add_argument("--out", default="runs/emoji-data")
    p.add_argument("--styles", default="google,twitter", help="comma-separated: google, twitter")
    p.add_argument("--skin-tones", default="base", choices=("base", "all"),
                   help="base: one image per emoji and style; all: every skin-tone variant too (5x more people)")
    p.add_argument("--val", type=float, default=0.1, help="share of each category's emoji for validation")
    p.add_argument("--heldout", type=float, default=0.1, help="share of each category's emoji held out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sheet", default=None, help="also write a contact sheet PNG of the training split here")


def run(args):
    import sys
    m = build(Path(args.src), Path(args.out), tuple(s.strip() for s in args.styles.split(",") if s.strip()),
              args.skin_tones, args.val, args.heldout, args.seed, command=" ".join(["resgen"] + sys.argv[1:]))
    if args.sheet:
        contact_sheet(Path(args.out), Path(args.sheet))
    print(f"wrote {args.out}: {sum(m['images'].values())} images of {sum(m['emoji'].values())} emoji in "
          f"{len(m['styles'])} styles; train/val/held-out images {m['images']['train']}/{m['images']['val']}/"
          f"{m['images']['heldout']} ({m['emoji']['train']}/{m['emoji']['val']}/{m['emoji']['heldout']} emoji); "
          f"{len(CATEGORIES)} classes; background white")
