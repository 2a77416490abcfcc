"""Range-checked argparse types: a bad number fails while parsing, before any heavy work, with a
one-line message (argparse prints it as `argument --x: <message>` and exits 2)."""
from __future__ import annotations

import argparse


def ranged(hi: float, lo: float = 0.0, lo_open: bool = False):
    """An argparse type: a float in [lo, hi], or (lo, hi] when lo_open."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if lo_open and not lo < v <= hi:
            raise argparse.ArgumentTypeError(f"must be above {lo:g} and at most {hi:g}")
        if not lo_open and not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo:g} and {hi:g}")
        return v
    return parse


def ranged_or(word: str, hi: float, lo: float = 0.0):
    """An argparse type: the word itself (any case), or a float in [lo, hi]."""
    number = ranged(hi, lo)

    def parse(text: str) -> float | str:
        if text.strip().lower() == word:
            return word
        try:
            return number(text)
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"{e} (or {word!r})") from None
    return parse


def whole(lo: int, hi: int):
    """An argparse type: a whole number in [lo, hi]."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}")
        return v
    return parse
