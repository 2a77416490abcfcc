"""The paper-claims table as printed (markdown) and the claims read off its rows (met / not met / not measured)."""
from __future__ import annotations


def print_table(rep: dict) -> None:
    print(f"machine: {rep['machine']}; torch {rep['torch']}; CFG {rep['cfg']}; ResGEN top-p {rep.get('top_p')}; "
          f"{rep['n_per_class']} samples per class (seed {rep.get('seed', 0)}); FID reference {rep['n_ref']} test images")
    print("\n| model | parameters | calls per sample (CFG / none) | s per sample, batch 1 | s per image, batch 64 "
          "| FID with CFG | FID without CFG | precision / recall, CFG | precision / recall, none "
          "| classifier accuracy | tokenizer PSNR (dB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rep["rows"]:
        fid = [f"{r[k]:.2f}" if k in r else "-" for k in ("fid_cfg", "fid_no_cfg")]
        pr = [f"{r[f'precision_{t}']:.3f} / {r[f'recall_{t}']:.3f}" if f"precision_{t}" in r else "-"
              for t in ("cfg", "no_cfg")]
        acc = f"{r['accuracy']:.4f}" if "accuracy" in r else "-"
        print(f"| {r['name']} | {r['params'] / 1e6:.2f}M | {r['calls_cfg']} / {r['calls_no_cfg']} | "
              f"{r['s_batch1']:.3f} | {r['s_per_image_b64']:.4f} | {fid[0]} | {fid[1]} | {pr[0]} | {pr[1]} | {acc} | "
              f"{r['tokenizer_psnr']:.2f} |")
    for r in rep["rows"]:
        if "settings" in r:
            guided = f"CFG column at {r['cfg']:g}, " if "cfg" in r else ""
            trained = f" (trained with MoG sigma {r['sigma']:g})" if "sigma" in r else ""
            print(f"{r['name']} sampler{trained}: {guided}" + ", ".join(f"{k} {v:g}" for k, v in r["settings"].items()))
    if rep.get("codes"):
        print(f"FID sets read from {rep['codes']}")
    if "real" in rep:
        r = rep["real"]
        print(f"{r['images']} training images scored as a sample set (this protocol's ceiling): FID {r['fid']:.2f}, "
              f"precision / recall {r['precision']:.3f} / {r['recall']:.3f}, classifier accuracy {r['accuracy']:.4f}")
    base = rep["rows"][0]
    for r in rep["rows"][1:]:
        print(f"{r['name']}: {r['s_batch1'] / base['s_batch1']:.2f}x the batch-1 time and "
              f"{r['s_per_image_b64'] / base['s_per_image_b64']:.2f}x the batch-64 time per image of {base['name']}")
    if rep.get("claims"):
        print(f"\nClaims ({base['name']} is ResGEN):")
        for c in rep["claims"]:
            print(f"- {c['claim']}: {c['verdict']} ({c['measured']})")


def _finite(*xs) -> bool:
    return all(isinstance(x, (int, float)) and x == x for x in xs)          # present and not NaN


def claim_checks(rows: list[dict]) -> list[dict]:
    """The paper's claims (and issue 6's thresholds) read off one table's rows: a list of
    {claim, measured, verdict} with verdict "met", "not met" or "not measured" (a row or column
    missing). The first row is ResGEN, as in the time ratios; lower FID is better."""
    base, by_key = rows[0], {r.get("key"): r for r in rows}
    if base.get("key") in ("AR", "PT"):                 # no ResGEN row to read the claims against
        return []
    ar, pt, r4, r16 = (by_key.get(k) for k in ("AR", "PT", "R4", "R16"))
    checks = []

    def check(claim: str, ok: bool | None, measured: str):
        checks.append({"claim": claim, "measured": measured,
                       "verdict": "not measured" if ok is None else ("met" if ok else "not met")})

    def ratio(claim: str, a, b, limit: float, at_least: bool):
        t = (a or {}).get("s_batch1"), (b or {}).get("s_batch1")
        ok = None if not _finite(*t) else (t[0] / t[1] >= limit if at_least else t[0] / t[1] <= limit)
        missing = "no such row" if a is None or b is None else "no timing"
        check(claim, ok, f"{t[0] / t[1]:.2f}x ({t[0]:.3f} vs {t[1]:.3f} s)" if ok is not None else missing)

    def fid_no_worse(claim: str, other: dict | None):
        for tag, words in (("fid_cfg", "with CFG"), ("fid_no_cfg", "without CFG")):
            f = base.get(tag), (other or {}).get(tag)
            ok = None if not _finite(*f) else f[0] <= f[1]
            missing = "no such row" if other is None else "no FID"
            check(f"{claim}, {words}", ok, f"FID {f[0]:.2f} vs {f[1]:.2f}" if ok is not None else missing)

    ratio("ResGEN at least 3x faster than the AR baseline at batch 1", ar, base, 3.0, at_least=True)
    fid_no_worse("ResGEN's FID no worse than the AR baseline's", ar)
    fid_no_worse("ResGEN's FID no worse than the per-token baseline's", pt)
    ratio("ResGEN D=16 within 1.3x of D=4's time at batch 1", r16, r4, 1.3, at_least=False)
    depths = [r for r in (r4, by_key.get("R8"), r16) if r is not None and _finite(r.get("fid_cfg"))]
    fids = [r["fid_cfg"] for r in depths]
    check("deeper RVQ gives a better FID with CFG (D = " + " / ".join(r["key"][1:] for r in depths) + ")",
          None if len(depths) < 2 else all(a > b for a, b in zip(fids, fids[1:])),
          " / ".join(f"{f:.2f}" for f in fids) + ("" if len(depths) > 1 else " (one depth: needs two)")
          if depths else "no FID")
    return checks
