"""FID, precision / recall and classifier accuracy of the claims models against the guidance scale, on the tuning
protocol, to give each model of the claims table the CFG that suits it before the full protocol.

    python benchmarks/claims/guidance.py --depth 8=assets/image-d8 --cfg 1.25,1.5,2 --out runs/guidance/R8
    python benchmarks/claims/guidance.py --ar assets/image-ar --cfg 1.5,2,3 --out runs/guidance/AR

Each scale is one `paper_claims.py --save-codes` call (the sets land in --out; the unguided set is
sampled once and kept), then one `--codes --no-timing` call that scores them; the rows' other
settings are paper_claims' (ResGEN: --steps/--temperature/--pi-temperature/--top-p as given in
--extra; the AR model at temperature 1 and top-p 1 unless --extra has --ar-top-p). Each call loads
the models and scores the unguided set again (its Inception features come from the cache): a few
seconds a scale against minutes of sampling. Default protocol: 200 samples a class against 2,000 test images,
a small-sample FID that is biased upwards and comparable only within one protocol.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import paper_claims  # noqa: E402

METRICS = ("fid_cfg", "fid_no_cfg", "precision_cfg", "recall_cfg", "precision_no_cfg", "recall_no_cfg", "accuracy")


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--depth", action="append", default=[], help="D=FOLDER, a ResGEN row (as in paper_claims)")
    p.add_argument("--ar", default="none", help="an AR model folder (default: no AR row)")
    p.add_argument("--per-token", default="none", help="a per-token model folder (default: no such row)")
    p.add_argument("--cfg", required=True, help="comma-separated guidance scales, e.g. 1.25,1.5,2")
    p.add_argument("--out", required=True, help="folder of the sample sets and the JSON results")
    p.add_argument("--n-per-class", default="200")
    p.add_argument("--n-ref", default="2000")
    p.add_argument("--extra", default="", help="more paper_claims options, one string (e.g. '--steps 16 --top-p 1')")
    p.add_argument("--threads", default="1")
    args = p.parse_args(argv)
    try:
        scales = [float(w) for w in args.cfg.split(",")]
    except ValueError:
        p.error(f"--cfg {args.cfg!r}: expected comma-separated numbers")
    if not args.depth and args.ar == "none" and args.per_token == "none":
        p.error("no model: give --depth D=FOLDER, --ar FOLDER or --per-token FOLDER")
    common = ["--no-shipped", "--ar", args.ar, "--per-token", args.per_token, "--n-per-class", args.n_per_class,
              "--n-ref", args.n_ref, "--threads", args.threads, *sum((["--depth", d] for d in args.depth), []),
              *args.extra.split()]
    out = Path(args.out)
    results = []
    for w in scales:
        guided = ["--cfg", f"{w:g}"]
        paper_claims.main(common + guided + ["--save-codes", str(out)])
        rep = paper_claims.main(common + guided + ["--codes", str(out), "--no-timing"])
        for r in rep["rows"]:
            results.append({"name": r["name"], "cfg": w, "settings": r["settings"],
                            **{k: r.get(k) for k in METRICS}})
        (out / "guidance.json").write_text(json.dumps({"argv": sys.argv[1:] if argv is None else argv,
                                                       "machine": rep["machine"], "results": results}, indent=2))
    print(f"\n{args.n_per_class} samples a class against {args.n_ref} test images")
    print("| model | CFG | FID with CFG | FID without CFG | precision / recall, CFG | precision / recall, none "
          "| classifier accuracy (CFG samples) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        v = {k: "-" if r[k] is None else f"{r[k]:.{2 if k.startswith('fid') else 3}f}" for k in METRICS}
        print(f"| {r['name']} | {r['cfg']:g} | {v['fid_cfg']} | {v['fid_no_cfg']} | {v['precision_cfg']} / "
              f"{v['recall_cfg']} | {v['precision_no_cfg']} / {v['recall_no_cfg']} | {v['accuracy']} |")
    return results


if __name__ == "__main__":
    main()
