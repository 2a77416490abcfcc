"""Pack a folder's files into tar files that fit what a device call sends back (at most 8 files,
16 MiB each, 64 MiB in all, counting what $OUT already holds):

    python benchmarks/gpu/pack.py runs/claims/codes "$OUT" --prefix codes

First-fit by decreasing size into tars of at most 15 MiB (a file larger than that cannot come back
and is named). Files that do not fit the remaining slots are named too and stay where they are (a
later call can fetch them). Paths inside the tars are relative to the folder.
"""
from __future__ import annotations

import argparse
import sys
import tarfile
from pathlib import Path

MAX_FILES, MAX_FILE, MAX_TOTAL = 8, 16 << 20, 64 << 20
TAR_CAP = 15 << 20          # below MAX_FILE, leaving room for tar headers


def plan(sizes: dict[str, int], slots: int, room: int) -> tuple[list[list[str]], list[str]]:
    """-> (bins of names, names left out): at most `slots` bins of at most TAR_CAP bytes, `room` bytes in all."""
    bins: list[list[str]] = []
    fill: list[int] = []
    left: list[str] = []
    used = 0
    for name in sorted(sizes, key=lambda n: (-sizes[n], n)):
        size = sizes[name]
        if size > TAR_CAP or used + size > room:
            left.append(name)
            continue
        for i, f in enumerate(fill):
            if f + size <= TAR_CAP:
                bins[i].append(name)
                fill[i] += size
                break
        else:
            if len(bins) == slots:
                left.append(name)
                continue
            bins.append([name])
            fill.append(size)
        used += size
    return bins, left


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--prefix", default="files")
    args = p.parse_args(argv)
    src, out = Path(args.src), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {str(f.relative_to(src)): f.stat().st_size for f in sorted(src.rglob("*")) if f.is_file()}
    present = [f for f in out.iterdir() if f.is_file()]
    slots = MAX_FILES - len(present)
    room = MAX_TOTAL - sum(f.stat().st_size for f in present) - slots * (64 << 10)   # tar overhead
    bins, left = plan(files, max(0, slots), room)
    for i, names in enumerate(bins):
        with tarfile.open(out / f"{args.prefix}_{i}.tar", "w") as tar:
            for name in sorted(names):
                tar.add(src / name, arcname=name)
        print(f"{args.prefix}_{i}.tar: {len(names)} files, {sum(files[n] for n in names) / 2**20:.1f} MiB")
    if left:
        print(f"not returned (no room; still in {src}): {', '.join(sorted(left))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
