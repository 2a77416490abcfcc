"""benchmarks/gpu_return.py: what comes back from a device call fits its limits (8 files, 16 MiB
each, 64 MiB in all), and nothing is silently dropped."""
import importlib.util
import tarfile
from pathlib import Path

MiB = 1 << 20
spec = importlib.util.spec_from_file_location("gpu_return", Path(__file__).parent.parent / "benchmarks" / "gpu_return.py")
gpu_return = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_return)


def test_plan_fills_bins_under_the_caps_and_names_what_is_left():
    sizes = {"R16_a": 10 * MiB, "R16_b": 9 * MiB, "AR_a": 5 * MiB, "AR_b": 5 * MiB, "R4_a": 1 * MiB,
             "huge": 20 * MiB}
    bins, left = gpu_return.plan(sizes, slots=2, room=64 * MiB)
    assert left == ["huge"]                                      # over the per-file cap
    assert len(bins) == 2 and sorted(n for b in bins for n in b) == sorted(set(sizes) - {"huge"})
    assert all(sum(sizes[n] for n in b) <= gpu_return.TAR_CAP for b in bins)
    bins, left = gpu_return.plan(sizes, slots=1, room=64 * MiB)  # one slot: the rest stays behind
    assert len(bins) == 1 and set(left) >= {"huge"} and len(left) > 1
    bins, left = gpu_return.plan({"a": 3 * MiB, "b": 3 * MiB}, slots=8, room=4 * MiB)   # total room
    assert [len(b) for b in bins] == [1] and len(left) == 1


def test_main_packs_files_counting_what_out_holds(tmp_path):
    src, out = tmp_path / "codes", tmp_path / "out"
    (src / "t2").mkdir(parents=True)
    out.mkdir()
    for name, size in (("t2/R8_cfg1.npz", 1000), ("t2/AR_cfg1.npz", 2000)):
        (src / name).write_bytes(bytes(size))
    for i in range(7):                                           # 7 of the 8 slots taken already
        (out / f"w{i}.bin").write_bytes(b"x")
    assert gpu_return.main([str(src), str(out), "--prefix", "codes"]) == 0
    with tarfile.open(out / "codes_0.tar") as tar:
        assert sorted(tar.getnames()) == ["t2/AR_cfg1.npz", "t2/R8_cfg1.npz"]
    (out / "w7.bin").write_bytes(b"x")                           # now no slot is left
    (out / "codes_0.tar").unlink()
    (out / "w8.bin").write_bytes(b"x")
    assert gpu_return.main([str(src), str(out), "--prefix", "codes"]) == 1
    assert not (out / "codes_0.tar").exists()
