"""Speech quality of the shipped model: the same as `resgen eval speech` (see its --help).

    python benchmarks/quality/speech.py [--data runs/speech-data] [--n 0] [--json out/eval_speech.json]
"""
import sys

from resgen.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["eval", "speech", *sys.argv[1:]]))
