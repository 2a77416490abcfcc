"""`resgen data speech-engines`: build the engine corpus (resgen/speech/engine_corpus.py) and, with --align-with,
fill its phoneme durations by forced alignment (resgen/eval/align.py)."""
from __future__ import annotations

from pathlib import Path


def run(args) -> dict:
    from resgen.core.errors import UsageError
    from resgen.eval.align import align_corpus
    from resgen.speech.engine_corpus import CORPUS_ENGINES, EngineCorpusConfig, build
    from resgen.speech.engines import EngineError
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    bad = [e for e in engines if e not in CORPUS_ENGINES]
    if not engines or bad:
        raise UsageError(f"--engines takes a comma list of {', '.join(CORPUS_ENGINES)} (espeak voices: resgen data "
                         f"speech); got {args.engines!r}")
    if min(args.per_voice, args.per_heldout_voice, args.per_val_voice, args.workers) < 1 or min(
            args.blends, args.transforms, args.heldout_transforms) < 0:
        raise UsageError("--per-voice, --per-heldout-voice, --per-val-voice and --workers must be at least 1; "
                         "--blends, --transforms and --heldout-transforms at least 0")
    cfg = EngineCorpusConfig(engines, args.per_voice, args.per_heldout_voice, args.per_val_voice, args.blends,
                             seed=args.seed, transforms=args.transforms, heldout_transforms=args.heldout_transforms)
    try:
        summary = build(Path(args.out), cfg, workers=args.workers)
        if args.align_with:
            summary = align_corpus(Path(args.out), Path(args.align_with))
    except (EngineError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None
    n = summary["utterances"]
    print(f"wrote {args.out}: {n['train']} training utterances ({summary['hours']['train']:.2f} h), {n['heldout']} "
          f"held-out, {n['val']} validation; {len(summary['voices'])} voices; durations: "
          f"{'aligned' if args.align_with else 'none (run again with --align-with RECOGNISER)'}")
    return summary
