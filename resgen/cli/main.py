"""The `resgen` command line: sample, data, train, eval.

Every user error ends in one line on stderr and a non-zero exit status, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

from resgen.core.errors import UsageError


def _sample_parsers(sub):
    from resgen.cli import sample as cli_sample
    p = sub.add_parser("sample", help="generate with a shipped model")
    ssub = p.add_subparsers(dest="task", required=True)
    s = ssub.add_parser("image", help="class-conditional Fashion-MNIST images")
    cli_sample.add_image_args(s)
    s.set_defaults(func=cli_sample.run_image)
    s = ssub.add_parser("speech", help="zero-shot text-to-speech in the voice of a prompt recording")
    cli_sample.add_speech_args(s)
    s.set_defaults(func=cli_sample.run_speech)


def _train_parsers(sub):
    from resgen.train import image_tokenizer
    p = sub.add_parser("train", help="train a tokenizer, denoiser or classifier")
    tsub = p.add_subparsers(dest="what", required=True)
    t = tsub.add_parser("image-tokenizer", help="the Fashion-MNIST RQ-VAE")
    image_tokenizer.add_args(t)
    t.set_defaults(func=lambda a: image_tokenizer.run(a))
    from resgen.train import image
    t = tsub.add_parser("image", help="the class-conditional ResGEN denoiser on image tokens")
    image.add_args(t)
    t.set_defaults(func=lambda a: image.run(a))
    from resgen.train import image_ar
    t = tsub.add_parser("image-ar", help="the autoregressive baseline (RQ-Transformer style) on the same image tokens")
    image_ar.add_args(t)
    t.set_defaults(func=lambda a: image_ar.run(a))
    from resgen.train import image_per_token
    t = tsub.add_parser("image-per-token",
                        help="the per-token masked baseline (ResGEN backbone, D categorical heads) on the same image tokens")
    image_per_token.add_args(t)
    t.set_defaults(func=lambda a: image_per_token.run(a))
    from resgen.train import speech_tokenizer
    t = tsub.add_parser("speech-tokenizer", help="the mel RQ-VAE on the speech corpus")
    speech_tokenizer.add_args(t)
    t.set_defaults(func=lambda a: speech_tokenizer.run(a))
    from resgen.train import vocoder
    t = tsub.add_parser("vocoder", help="fine-tune the HiFi-GAN vocoder on the corpora's recordings, "
                                        "or distil a smaller one from it")
    vocoder.add_args(t)
    t.set_defaults(func=lambda a: vocoder.run(a))
    from resgen.train import speech
    t = tsub.add_parser("speech", help="the zero-shot TTS model (ResGEN denoiser + duration predictor)")
    speech.add_args(t)
    t.set_defaults(func=lambda a: speech.run(a))
    from resgen.train import recogniser
    t = tsub.add_parser("recogniser", help="the CTC phoneme recogniser used by `resgen eval speech` (training voices only)")
    recogniser.add_args(t)
    t.set_defaults(func=lambda a: recogniser.run(a))
    from resgen.train import classifier
    t = tsub.add_parser("classifier", help="the Fashion-MNIST classifier used by the evaluation")
    classifier.add_args(t)
    t.set_defaults(func=lambda a: classifier.run(a))


def _eval_parsers(sub):
    from resgen.eval import image as eval_image
    p = sub.add_parser("eval", help="measure a shipped model")
    esub = p.add_subparsers(dest="task", required=True)
    e = esub.add_parser("image", help="PSNR per depth, FID and classifier accuracy on Fashion-MNIST")
    eval_image.add_args(e)
    e.set_defaults(func=eval_image.run)
    from resgen.eval import emoji as eval_emoji
    e = esub.add_parser("emoji", help="the colour emoji model on held-out emoji: tokenizer PSNR per depth, FID, "
                                      "classifier accuracy and copies of training images, next to real emoji")
    eval_emoji.add_args(e)
    e.set_defaults(func=eval_emoji.run)
    from resgen.eval import speech as eval_speech
    e = esub.add_parser("speech", help="speaker similarity, speaker identification, WER and RTF on held-out voices")
    eval_speech.add_args(e)
    e.set_defaults(func=eval_speech.run)


def _data_parsers(sub):
    from resgen.speech import corpus as speech_corpus
    p = sub.add_parser("data", help="build a training corpus")
    dsub = p.add_subparsers(dest="what", required=True)
    d = dsub.add_parser("speech", help="synthesise the multi-speaker espeak-ng corpus (text, phonemes, durations)")
    speech_corpus.add_args(d)
    d.set_defaults(func=speech_corpus.run)
    from resgen.speech import engine_corpus
    d = dsub.add_parser("speech-engines", help="realistic voices: Kokoro-82M, flite, Festival, Pico and Piper "
                                               "utterances in the corpus layout (text, phonemes; durations by "
                                               "forced alignment)")
    engine_corpus.add_args(d)
    from resgen.cli import data_engines
    d.set_defaults(func=data_engines.run)
    from resgen.train import gta
    d = dsub.add_parser("speech-gta", help="the speech model's own codes for training recordings, on their alignment "
                                           "(to fine-tune the tokenizer's decoder on: --gta)")
    gta.add_args(d)
    d.set_defaults(func=gta.run)
    from resgen.speech import human_corpus
    d = dsub.add_parser("speech-human", help="real human recordings with transcripts from installable packages "
                                             "(Asterisk prompts, pocketsphinx test data): an evaluation-only set")
    human_corpus.add_args(d)
    d.set_defaults(func=human_corpus.run)
    from resgen.image import emoji_data
    d = dsub.add_parser("emoji", help="64x64 colour emoji (Noto and Twemoji styles) from the installed npm packages, "
                                      "split by emoji")
    emoji_data.add_args(d)
    d.set_defaults(func=emoji_data.run)
    d = dsub.add_parser("speech-prompts", help="example prompt WAVs from the held-out voices (for assets/speech/prompts)")
    d.add_argument("--data", default="runs/speech-data")
    d.add_argument("--out", default="assets/speech/prompts")
    d.add_argument("--n", type=int, default=6, help="number of held-out voices")
    d.add_argument("--seconds", type=float, default=2.5, help="the shortest utterance taken (cut to it unless --whole)")
    d.add_argument("--whole", action="store_true",
                   help="keep each utterance whole, so prompts.json's text is exactly what the prompt says")
    d.add_argument("--voices", default=None,
                   help="held-out voices by key or name, comma-separated (for example kokoro:bf_alice,human:librivox)")
    d.add_argument("--append", action="store_true", help="keep the other entries of the folder's prompts.json")
    from resgen.speech import prompt_export
    d.set_defaults(func=prompt_export.run_prompts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="resgen", description="ResGEN: masked generation over RVQ tokens")
    sub = parser.add_subparsers(dest="command", required=True)
    _sample_parsers(sub)
    _data_parsers(sub)
    _train_parsers(sub)
    _eval_parsers(sub)
    return parser


def _one_line_warning(message, category, *args, **kwargs) -> str:
    return f"resgen: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    import warnings
    from resgen.core.weights import ModelFileError
    warnings.formatwarning = _one_line_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (UsageError, ModelFileError) as e:
        print(f"resgen: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("resgen: interrupted", file=sys.stderr)
        return 130
    return 0
