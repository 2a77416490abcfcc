"""Image quality of the shipped model: the same as `resgen eval image` (see its --help).

    python benchmarks/quality/image.py [--n-per-class 1000] [--json out/eval.json]
"""
import sys

from resgen.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["eval", "image", *sys.argv[1:]]))
