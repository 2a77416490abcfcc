"""The files of `resgen data speech-gta` (resgen/train/gta.py) as the decoder's training reads them: the speech
model's codes for training recordings, each with its pooled utterance index, and the hash that ties them to a
tokenizer's codebooks."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch


def codebook_hash(tokenizer) -> str:
    """sha256 of a tokenizer's codebooks: two tokenizers with the same hash give codes the same meaning."""
    return hashlib.sha256(tokenizer.rvq.codebooks.detach().cpu().float().numpy().tobytes()).hexdigest()


def load(out: Path) -> tuple[dict, list[np.ndarray], list[int]]:
    """-> (gta.json, codes per row, pooled utterance index per row)."""
    meta = json.loads((out / "gta.json").read_text())
    f = np.load(out / "gta.npz")
    o = f["offsets"]
    return meta, [f["codes"][o[r]:o[r + 1]] for r in range(len(o) - 1)], f["utterance"].tolist()


class GtaRows:
    """The rows of a GTA folder for decoder training: codes (Nt, D) long and the pooled utterance index of each
    (rows skipped at build time left out). Checks that the folder's corpora open the decoder's --data list, in order,
    and that its codes mean what the tokenizer's codebooks say (UsageError otherwise)."""

    def __init__(self, folder: Path, corpora: list[Path], tokenizer):
        from resgen.core.errors import UsageError
        folder = Path(folder)
        if not (folder / "gta.json").exists() or not (folder / "gta.npz").exists():
            raise UsageError(f"no model codes at {folder} (run `resgen data speech-gta --out {folder}` first)")
        meta, codes, utts = load(folder)
        if [str(Path(d)) for d in meta["data"]] != [str(d) for d in corpora[: len(meta["data"])]]:
            raise UsageError(f"{folder} was made from {','.join(meta['data'])}; --data must start with those corpora, "
                             "in that order")
        if meta["codebooks_sha256"] != codebook_hash(tokenizer):
            raise UsageError(f"{folder} holds codes of another tokenizer's codebooks (model {meta['model']}); "
                             "--init must have the same codebooks")
        keep = [r for r, u in enumerate(utts) if u >= 0 and len(codes[r])]
        if not keep:
            raise UsageError(f"{folder} holds no codes")
        self.codes = [torch.from_numpy(codes[r].astype(np.int64)) for r in keep]
        self.utterance = torch.tensor([utts[r] for r in keep])
        self.positions = torch.tensor([len(c) for c in self.codes])          # (rows,) token positions of each

    def __len__(self) -> int:
        return len(self.codes)
