"""benchmarks/gpu/pack.py: what comes back from a device call fits its limits (8 files, 16 MiB
each, 64 MiB in all), and nothing is silently dropped."""
import importlib.util
import tarfile
from pathlib import Path

MiB = 1 << 20
spec = importlib.util.spec_from_file_location("gpu_pack", Path(__file__).parent.parent / "benchmarks" / "gpu" / "pack.py")
gpu_pack = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_pack)


def test_plan_fills_bins_under_the_caps_and_names_what_is_left():
    sizes = {"R16_a": 10 * MiB, "R16_b": 9 * MiB, "AR_a": 5 * MiB, "AR_b": 5 * MiB, "R4_a": 1 * MiB,
             "huge": 20 * MiB}
    bins, left = gpu_pack.plan(sizes, slots=2, room=64 * MiB)
    assert left == ["huge"]                                      # over the per-file cap
    assert len(bins) == 2 and sorted(n for b in bins for n in b) == sorted(set(sizes) - {"huge"})
    assert all(sum(sizes[n] for n in b) <= gpu_pack.TAR_CAP for b in bins)
    bins, left = gpu_pack.plan(sizes, slots=1, room=64 * MiB)  # one slot: the rest stays behind
    assert len(bins) == 1 and set(left) >= {"huge"} and len(left) > 1
    bins, left = gpu_pack.plan({"a": 3 * MiB, "b": 3 * MiB}, slots=8, room=4 * MiB)   # total room
    assert [len(b) for b in bins] == [1] and len(left) == 1


def test_main_packs_files_counting_what_out_holds(tmp_path):
    src, out = tmp_path / "codes", tmp_path / "out"
    (src / "t2").mkdir(parents=True)
    out.mkdir()
    for name, size in (("t2/R8_cfg1.npz", 1000), ("t2/AR_cfg1.npz", 2000)):
        (src / name).write_bytes(bytes(size))
    for i in range(7):                                           # 7 of the 8 slots taken already
        (out / f"w{i}.bin").write_bytes(b"x")
    assert gpu_pack.main([str(src), str(out), "--prefix", "codes"]) == 0
    with tarfile.open(out / "codes_0.tar") as tar:
        assert sorted(tar.getnames()) == ["t2/AR_cfg1.npz", "t2/R8_cfg1.npz"]
    (out / "w7.bin").write_bytes(b"x")                           # now no slot is left
    (out / "codes_0.tar").unlink()
    (out / "w8.bin").write_bytes(b"x")
    assert gpu_pack.main([str(src), str(out), "--prefix", "codes"]) == 1
    assert not (out / "codes_0.tar").exists()


# benchmarks/gpu/receive.py: shards put back together give the same tensors, and a wrong part is refused
rspec = importlib.util.spec_from_file_location("gpu_receive", Path(__file__).parent.parent / "benchmarks" / "gpu" / "receive.py")
gpu_receive = importlib.util.module_from_spec(rspec)
rspec.loader.exec_module(gpu_receive)


def _shards(sd, prefix, n):
    from safetensors.torch import save_file
    keys = sorted(sd)
    for i in range(n):
        save_file({k: sd[k] for k in keys[i::n]}, f"{prefix}.part{i}.safetensors")


def test_speech_shards_come_back_as_one_model(tmp_path):
    import json

    import torch
    from safetensors.torch import load_file, save_file

    from resgen.core.weights import file_sha256
    sd = {f"w{i}": torch.randn(3, i + 1) for i in range(7)}
    src, tok, dest = tmp_path / "src", tmp_path / "tok", tmp_path / "dest"
    src.mkdir(), tok.mkdir()
    save_file({"t": torch.ones(2)}, str(tok / "tokenizer.safetensors"))
    (tok / "tokenizer.json").write_text("{}")
    _shards(sd, src / "model", 4)
    meta = {"files": {"model.safetensors": "old", "tokenizer.safetensors": file_sha256(tok / "tokenizer.safetensors")},
            "trained_steps": 5}
    (src / "speech_config.json").write_text(json.dumps(meta))
    assert gpu_receive.main(["speech", str(src), str(dest), "--tokenizer", str(tok)]) == [dest]
    back = load_file(str(dest / "model.safetensors"))
    assert set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd)
    saved = json.loads((dest / "config.json").read_text())
    assert saved["files"]["model.safetensors"] == file_sha256(dest / "model.safetensors")
    assert (dest / "tokenizer.json").exists()
    save_file({"t": torch.zeros(2)}, str(tok / "tokenizer.safetensors"))            # another tokenizer
    import pytest
    with pytest.raises(SystemExit, match="not the tokenizer"):
        gpu_receive.main(["speech", str(src), str(tmp_path / "d2"), "--tokenizer", str(tok)])


def test_overlapping_shards_are_refused(tmp_path):
    import pytest
    import torch
    from safetensors.torch import save_file
    save_file({"a": torch.ones(1)}, str(tmp_path / "x.part0.safetensors"))
    save_file({"a": torch.ones(1)}, str(tmp_path / "x.part1.safetensors"))
    with pytest.raises(SystemExit, match="already in an earlier shard"):
        gpu_receive.merge_shards(sorted(tmp_path.glob("x.part*")), tmp_path / "out.safetensors")


def test_gpu_run_refuses_an_unknown_job():
    import subprocess
    r = subprocess.run(["bash", str(Path(__file__).parent.parent / "benchmarks" / "gpu" / "run.sh"), "nope"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "usage:" in r.stderr and "speed|image|claims|speech" in r.stderr
