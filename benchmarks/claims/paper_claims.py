"""The paper's claims at small scale, one table measured in one run on one machine.

    python benchmarks/claims/paper_claims.py --ar runs/image-ar --per-token runs/image-per-token \
        --depth 4=runs/image-d4 --depth 16=runs/image-d16 [--n-per-class 1000] [--n-ref 10000]

Rows (each only where its model folder exists): ResGEN (the shipped model, assets/image, unless
--no-shipped) and ResGEN on tokenizers of other RVQ depths (model folders like assets/image, from
`resgen train image-tokenizer --depth D` + `resgen train image`), the first of them the reference
for the time ratios; then the autoregressive same-token baseline (`resgen train image-ar`) and the
per-token masked baseline (`resgen train image-per-token`), both on the shipped tokens. Columns:
parameters, network calls per sample, wall time per sample at batch 1 and per image at batch 64
(this machine, torch), FID against the test images with and without CFG, with the precision
(fidelity) and recall (diversity) of each set's Inception features against the test images' (k = 3
nearest neighbours, Kynkaanniemi et al. 2019) to tell which of the two an FID gap is, the accuracy of the
shipped classifier at labelling the CFG samples as their requested class, and the PSNR of the
row's tokenizer at full depth on the 10k test images (the ceiling its tokens set).

ResGEN and the per-token baseline make T calls per sample, the AR baseline N*D (one per token);
under CFG every model's conditional and unconditional rows ride in the same batch (a batch of 2 at
batch 1), so guidance costs no extra calls.

--cfg sets the guidance of every row's CFG column; --row-cfg KEY=W gives one row its own (e.g.
AR=3), so that each model can be measured at the guidance that suits it best.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import resgen
from resgen.core.sampler import MAX_CODE_TEMPERATURE
from resgen.eval.image import balanced_subset, cached_features, machine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import claim_checks, print_table  # noqa: E402
from rows import BaselineRow, ResGENRow, interleaved_medians, row_guidance  # noqa: E402


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ar", default="runs/image-ar")
    p.add_argument("--per-token", default="runs/image-per-token")
    p.add_argument("--depth", action="append", default=[], help="D=FOLDER, a ResGEN model on a depth-D tokenizer")
    p.add_argument("--n-per-class", type=int, default=1000)
    p.add_argument("--n-ref", type=int, default=10000)
    p.add_argument("--cfg", type=float, default=None, help="guidance of the CFG column (default: the first row's)")
    p.add_argument("--row-cfg", action="append", default=[], metavar="KEY=W",
                   help="guidance of one row's CFG column instead of --cfg (KEY: shipped, R<D>, AR or PT), e.g. AR=3")
    p.add_argument("--top-p", type=float, default=None, help="ResGEN's top-p for every ResGEN row (default: the first row's)")
    p.add_argument("--no-shipped", action="store_true",
                   help="leave out the shipped model's row (the first --depth row is then the reference)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first FID batch (batch i: seed + i)")
    p.add_argument("--repeats", type=int, default=5, help="timing rounds at batch 1 (half as many at batch 64)")
    p.add_argument("--batch", type=int, default=250)
    p.add_argument("--steps", type=int, default=None, help="T of every masked row (default: each row's config.json)")
    p.add_argument("--temperature", type=float, default=None,
                   help="reveal temperature of every masked row (default: each ResGEN row's own; the per-token row: the shipped model's)")
    p.add_argument("--ar-top-p", type=float, default=1.0, help="the AR row's nucleus over each token (default 1)")
    p.add_argument("--pi-temperature", type=float, default=None, help="ResGEN's mixture temperature (default: each row's own)")
    p.add_argument("--mog-noise", type=float, default=None,
                   help="ResGEN's draw = component mean + this x sigma x N(0, I) (default: each row's own, 0)")
    p.add_argument("--code-temperature", type=float, default=None,
                   help="ResGEN's codes drawn from softmax(-dist / (beta x this)) at each depth (default: each row's own, 0 = nearest)")
    p.add_argument("--device", default="cpu", help="where the models sample (timings are meant for the CPU)")
    p.add_argument("--save-codes", default=None, metavar="DIR",
                   help="only sample the FID sets (with CFG and without) and store their tokens in DIR, e.g. on a GPU")
    p.add_argument("--codes", default=None, metavar="DIR",
                   help="take the FID sets' tokens from DIR (written by --save-codes with the same settings) instead of sampling them")
    p.add_argument("--no-fid", action="store_true")
    p.add_argument("--no-timing", action="store_true",
                   help="skip the timings (e.g. to score some rows' --codes sets beside other work; their Inception "
                        "features are cached, so the full run that follows reuses them)")
    p.add_argument("--real-row", action="store_true",
                   help="also score as many training images as samples (the first of each class) like a sample "
                        "set: the ceiling of FID, precision, recall and accuracy on this protocol")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ResGENRow.steps, ResGENRow.temperature, ResGENRow.pi_temperature = args.steps, args.temperature, args.pi_temperature
    for name, hi in (("mog_noise", 10.0), ("code_temperature", MAX_CODE_TEMPERATURE)):
        v = getattr(args, name)
        if v is not None and not 0 <= v <= hi:
            p.error(f"--{name.replace('_', '-')} must be between 0 and {hi:g}")
    ResGENRow.draw = {"mog_noise": args.mog_noise, "code_temperature": args.code_temperature}
    if not 0 < args.ar_top_p <= 1:
        p.error("--ar-top-p must be in (0, 1]")
    BaselineRow.ar_top_p = args.ar_top_p

    rows = [] if args.no_shipped else [ResGENRow("ResGEN (shipped, D=8)", None, "shipped", args.device)]
    for spec in args.depth:                                 # ResGEN rows first: the first is the reference
        D, folder = spec.split("=", 1)
        rows.append(ResGENRow(f"ResGEN, D={D}", folder, f"R{D}", args.device))
    for kind, folder, name, key in (("ar", args.ar, "AR baseline (RQ-Transformer style)", "AR"),
                                    ("per-token", args.per_token, "per-token masked baseline", "PT")):
        if (Path(folder) / ("ar.json" if kind == "ar" else "per_token.json")).exists():
            rows.append(BaselineRow(name, kind, folder, key, args.device))
        else:
            print(f"(no {name}: {folder} has no trained model)")
    if not rows or not (isinstance(rows[0], ResGENRow) or args.no_timing or args.save_codes):
        p.error("no ResGEN row (the reference of the time ratios): give --depth D=FOLDER or leave out --no-shipped")
    cfg_all = rows[0].pipe.defaults.cfg if args.cfg is None else args.cfg
    row_cfg = row_guidance(args.row_cfg, [r.key for r in rows], p.error)
    for r in rows:
        r.cfg = row_cfg.get(r.key, cfg_all)
    ResGENRow.top_p = rows[0].pipe.defaults.top_p if args.top_p is None else args.top_p
    labels = torch.arange(10).repeat_interleave(args.n_per_class).tolist()

    def fid_codes(r, cfg: float) -> torch.Tensor | None:
        """The FID set of row r at guidance cfg: sampled here, or read from --codes (checked to be
        the set these settings ask for; None where --codes lacks it)."""
        meta = {"row": r.name, "cfg": cfg, "seed": args.seed, "batch": args.batch, "n_per_class": args.n_per_class,
                **(r.meta() if isinstance(r, ResGENRow) else r.settings())}
        folder = args.codes or args.save_codes
        path = Path(folder or ".") / f"{r.key}_cfg{cfg:g}.npz"
        if folder and path.exists():                    # --save-codes keeps a set it already has
            with np.load(path) as f:
                saved, codes = json.loads(str(f["meta"])), torch.from_numpy(f["codes"].astype(np.int64))
            if saved == meta:
                return codes
            if args.codes:
                raise SystemExit(f"{path} was sampled with {saved}, not {meta}")
        elif args.codes:
            print(f"({path}: missing, so no FID or accuracy for {r.name}; sample it with --save-codes)")
            return None
        codes = torch.cat([r.codes(labels[i:i + args.batch], cfg, args.seed + i).cpu()
                           for i in range(0, len(labels), args.batch)])
        if args.save_codes:
            Path(args.save_codes).mkdir(parents=True, exist_ok=True)
            small = np.uint8 if int(codes.max()) < 256 else np.int16       # 256 codes a depth: one byte a token
            np.savez_compressed(Path(args.save_codes) / f"{r.key}_cfg{cfg:g}.npz", codes=codes.numpy().astype(small),
                                meta=json.dumps(meta))
        return codes

    if args.save_codes:
        for r in rows:
            for cfg in (r.cfg, 1.0):
                t0 = time.perf_counter()
                fid_codes(r, cfg)
                print(f"{r.key} cfg {cfg:g}: {len(labels)} samples in {time.perf_counter() - t0:.1f} s", flush=True)
        return {}

    from resgen.eval.classifier import Classifier
    from resgen.image.data import load_fashion_mnist
    from resgen.eval.metrics import feature_stats, frechet_distance, knn_radii, precision_recall
    from resgen.core.weights import load_module
    xt, yt = load_fashion_mnist("test")
    test = torch.from_numpy(xt.copy()).float().div(255)
    clf = load_module(Classifier(), resgen.assets_dir() / "image" / "classifier.safetensors").eval()
    feat = ref = None
    if not args.no_fid:
        from resgen.eval.fid import DEFAULT_CACHE, InceptionFeatures
        feat = InceptionFeatures()
        ref_feats = cached_features(feat, test[balanced_subset(torch.from_numpy(yt), args.n_ref)], DEFAULT_CACHE)
        ref, ref_radii = feature_stats(ref_feats), knn_radii(ref_feats)
    out = [{"name": r.name, "key": r.key, "params": r.params, "cfg": r.cfg, "calls_cfg": r.calls(r.cfg),
            "calls_no_cfg": r.calls(1.0), "settings": r.meta() if isinstance(r, ResGENRow) else r.settings(),
            **({"sigma": r.pipe.den_cfg.mog.sigma} if isinstance(r, ResGENRow) else {})} for r in rows]
    # all timings first, rows interleaved within each round (the FID work below is not timed)
    nan = [float("nan")] * len(rows)
    b1 = nan if args.no_timing else interleaved_medians([lambda r=r: r.images([7], r.cfg, 0) for r in rows],
                                                        args.repeats)
    b64 = nan if args.no_timing else interleaved_medians([lambda r=r: r.images([7] * 64, r.cfg, 0) for r in rows],
                                                         max(1, args.repeats // 2))
    from resgen.eval.metrics import tokenizer_psnr
    for r, res, t1, t64 in zip(rows, out, b1, b64):
        res["s_batch1"], res["s_per_image_b64"] = t1, t64 / 64
        with torch.no_grad():                                       # the tokens' own ceiling, full depth
            res["tokenizer_psnr"] = tokenizer_psnr(r.pipe.tokenizer, test[:, None], depths=[r.pipe.depth])[0]
        for tag, cfg in (("cfg", r.cfg), ("no_cfg", 1.0)):
            codes = fid_codes(r, cfg)
            if codes is None:
                continue
            imgs = torch.cat([r.pipe.decode(codes[i:i + args.batch]).clamp(0, 1)
                              for i in range(0, len(codes), args.batch)])
            if tag == "cfg":
                res["accuracy"] = (clf.predict(imgs) == torch.tensor(labels)).float().mean().item()
            if feat is not None:
                # sample sets read from --codes are fixed files: their features are cached like the reference's
                feats = (cached_features(feat, imgs, DEFAULT_CACHE, name=f"{r.key}_cfg{cfg:g}") if args.codes
                         else feat(imgs, progress=f"{r.name} {tag}"))
                res[f"fid_{tag}"] = frechet_distance(*ref, *feature_stats(feats))
                pr = precision_recall(ref_feats, feats, real_radii=ref_radii)
                res[f"precision_{tag}"], res[f"recall_{tag}"] = pr
    report = {"machine": machine(), "torch": torch.__version__, "cfg": cfg_all, "top_p": ResGENRow.top_p,
              "n_per_class": args.n_per_class, "seed": args.seed, "codes": args.codes,
              "n_ref": args.n_ref, "rows": out}
    if args.real_row and feat is not None:
        xr, yr = load_fashion_mnist("train")
        idx = balanced_subset(torch.from_numpy(yr), len(labels)).numpy()
        real = torch.from_numpy(xr[idx]).float().div(255)
        feats = cached_features(feat, real, DEFAULT_CACHE, name="fashion_train")
        report["real"] = {"images": len(idx), "fid": frechet_distance(*ref, *feature_stats(feats)),
                          "accuracy": (clf.predict(real) == torch.from_numpy(yr[idx])).float().mean().item(),
                          **dict(zip(("precision", "recall"),
                                     precision_recall(ref_feats, feats, real_radii=ref_radii)))}
    report["claims"] = claim_checks(out)
    print_table(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
