"""Speech diagnosis: one lever a row, each scored by `resgen eval speech` (PER of the project's recogniser,
speaker similarity, speaker identification, length ratio) on one split, against the recordings' row of the same run.

    python benchmarks/quality/speech_levers.py --data runs/speech-data-270v --split val --json out/levers_val.json
    python benchmarks/quality/speech_levers.py --data runs/speech-data-270v --split val --only steps,cfg
    python benchmarks/quality/speech_levers.py --data runs/speech-data-270v --split heldout \\
        --levers "chosen=--steps 32 --temperature 0.5" --model-rows "sigma 1.0=runs/speech-s1"

Sampler levers (the shipped model, everything else at its defaults): steps, CFG, reveal temperature, top-p over
components, the draw from the mixture (component mean, a sample within the component, the most likely component),
and the re-quantisation of the predicted sum (nearest code or a draw near it). Training-side levers are other model
folders (--model-rows NAME=DIR, each at its own defaults). Choose settings on --split val; report on heldout.
"""
from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

SAMPLER_LEVERS = {
    "steps": ["--steps 8", "--steps 32"],
    "cfg": ["--cfg 1.5", "--cfg 2", "--cfg 3"],
    "temperature": ["--temperature 0.25", "--temperature 0.5", "--temperature 2"],
    "top-p": ["--top-p 0.5", "--top-p 0.8"],
    "mixture draw": ["--pi-temperature 0", "--mog-noise 0.5", "--mog-noise 1"],
    "re-quantisation": ["--code-temperature 0.5", "--code-temperature 1"],
}


def eval_speech(argv: list[str]) -> dict:
    from resgen.cli.main import build_parser
    args = build_parser().parse_args(["eval", "speech", *argv])
    return args.func(args)


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="corpus folder (with val.npz: resgen data speech --val-voices 10)")
    p.add_argument("--split", default="val", choices=("val", "heldout"))
    p.add_argument("--n", type=int, default=0, help="the first n pairs of the split (0 = all)")
    p.add_argument("--model", default=None, help="the model of the sampler rows (default: assets/speech)")
    p.add_argument("--only", default=None, help="comma-separated sampler levers to run (default: all): "
                   + ", ".join(SAMPLER_LEVERS))
    p.add_argument("--levers", action="append", default=[], metavar="NAME=FLAGS",
                   help="an extra row: eval speech flags, e.g. 'chosen=--steps 32 --temperature 0.5'")
    p.add_argument("--model-rows", action="append", default=[], metavar="NAME=DIR", help="another model, its defaults")
    p.add_argument("--no-sampler-levers", action="store_true", help="only the default row and --levers/--model-rows")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    base = ["--data", a.data, "--split", a.split, "--n", str(a.n), "--no-resynthesis", "--repeats", "0",
            "--threads", str(a.threads)]
    shipped = ["--model", a.model] if a.model else []
    rows = [("defaults", "the model's own settings", shipped)]
    chosen = {} if a.no_sampler_levers else {k: v for k, v in SAMPLER_LEVERS.items()
                                             if a.only is None or k in a.only.split(",")}
    for lever, settings in chosen.items():
        rows += [(lever, s, shipped + shlex.split(s)) for s in settings]
    for spec in a.levers:
        name, _, flags = spec.partition("=")
        rows.append((name, flags, shipped + shlex.split(flags)))
    for spec in a.model_rows:
        name, _, folder = spec.partition("=")
        rows.append((name, f"--model {folder}", ["--model", folder]))
    out, recordings = [], None
    for lever, setting, flags in rows:
        res = eval_speech(base + flags)
        s = res["scores"]
        recordings = s["recordings"]
        row = s.get("ResGEN, recording's alignment") if "--oracle-durations" in flags else s["ResGEN"]
        out.append({"lever": lever, "setting": setting, "settings": res["settings"],
                    **{k: row[k] for k in ("per", "similarity", "identification", "length_ratio")}})
        if a.json:
            Path(a.json).write_text(json.dumps({"split": a.split, "pairs": res["pairs"], "rows": out,
                                                "recordings": {k: recordings[k] for k in
                                                               ("per", "similarity", "identification")}}, indent=2))
    print(f"\nsplit {a.split}, {res['pairs']} pairs; recordings: PER {recordings['per']:.3f}, similarity "
          f"{recordings['similarity']:.3f}, identification {recordings['identification']:.3f}")
    print("| lever | setting | PER | similarity | speaker id | length ratio |")
    print("|---|---|---|---|---|---|")
    for r in out:
        print(f"| {r['lever']} | {r['setting']} | {r['per']:.3f} | {r['similarity']:.3f} | {r['identification']:.3f} "
              f"| {r['length_ratio']:.3f} |")
    return out


if __name__ == "__main__":
    main()
