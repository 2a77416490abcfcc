"""A probe of the training split: does the speech model render what it was trained on?

Writes <out>/val.npz (and corpus.json) with the first `--per-voice` training utterances of `--voices` training voices
spread over the corpus, in the format of `resgen data speech`, so that `resgen eval speech --split val` scores the
model on voices and sentences it saw in training, beside the recordings and resynthesis of the same clips. If the
model's PER there is as far from resynthesis as on unseen voices, the gap is not generalisation (more voices or
sentences will not close it) but fit: capacity, training, or the sampler.

    python benchmarks/quality/speech_train_probe.py --data runs/speech-data-270v --out runs/speech-trainprobe
    resgen eval speech --data runs/speech-trainprobe --split val --depths 8 --threads 2 --repeats 0
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np


def write_probe(data: Path, out: Path, voices: int = 10, per_voice: int = 4) -> list[int]:
    """-> the training-utterance indices written to <out>/val.npz."""
    f = np.load(data / "train.npz")
    ao, po = f["audio_offsets"], f["phoneme_offsets"]
    audio, phonemes, durations, voice = f["audio"], f["phonemes"], f["durations"], f["voice"]
    texts = json.loads(str(f["texts"]))
    ids = sorted(set(voice.tolist()))
    chosen = ids[:: max(1, len(ids) // voices)][:voices]
    idx = [int(i) for v in chosen for i in np.nonzero(voice == v)[0][:per_voice]]
    a_off, p_off = np.cumsum([0] + [ao[i + 1] - ao[i] for i in idx]), np.cumsum([0] + [po[i + 1] - po[i] for i in idx])
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(data / "corpus.json", out / "corpus.json")
    np.savez(out / "val.npz",
             audio=np.concatenate([audio[ao[i]:ao[i + 1]] for i in idx]), audio_offsets=a_off.astype(np.int64),
             phonemes=np.concatenate([phonemes[po[i]:po[i + 1]] for i in idx]),
             durations=np.concatenate([durations[po[i]:po[i + 1]] for i in idx]),
             phoneme_offsets=p_off.astype(np.int64), voice=voice[idx],
             texts=np.array(json.dumps([texts[i] for i in idx])))
    return idx


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="corpus folder of `resgen data speech`")
    p.add_argument("--out", required=True)
    p.add_argument("--voices", type=int, default=10)
    p.add_argument("--per-voice", type=int, default=4)
    a = p.parse_args(argv)
    idx = write_probe(Path(a.data), Path(a.out), a.voices, a.per_voice)
    print(f"wrote {Path(a.out) / 'val.npz'}: {len(idx)} training utterances")


if __name__ == "__main__":
    main()
