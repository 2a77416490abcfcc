"""benchmarks/gpu/pack.py: what comes back from a device call fits its limits (8 files, 16 MiB
each, 64 MiB in all), and nothing is silently dropped."""
import importlib.util
import subprocess
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


def test_emoji_job_runs_on_a_cpu_with_tiny_settings_and_comes_back_as_a_model(tmp_path):
    """benchmarks/gpu/run.sh emoji end to end (tiny models, CPU), then receive.py emoji: a model folder that loads."""
    import os
    import sys

    from test_emoji_data import _fake_packages

    from resgen.image import emoji_data as ed
    from resgen.image.pipeline import ImagePipeline
    src = _fake_packages(tmp_path / "src", per_cat=4)
    ed.build(src, tmp_path / "data", val=0.25, heldout=0.25)
    root = Path(__file__).parent.parent
    env = dict(os.environ, PY=sys.executable, OUT=str(tmp_path / "out"), DATA=str(tmp_path / "data"),
               RUN=str(tmp_path / "run"), TRAIN_S="1", CAL="100",
               TOK_ARGS="--steps 2 --batch-size 4 --depth 2 --codebook-size 8 --code-dim 4 --channels 8,8,8,8 --threads 1",
               CLF_ARGS="--steps 2 --batch-size 4 --threads 1",
               ARGS="--width 16 --layers 1 --heads 2 --components 4 --rank 2 --batch-size 4 --augment-copies 1 --threads 1")
    r = subprocess.run(["bash", str(root / "benchmarks" / "gpu" / "run.sh"), "emoji"], env=env, cwd=root,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) <= 8 and "emoji_meta.tar.gz" in files, files            # what a device call brings back
    from benchmarks.gpu.receive import main as receive
    [folder] = receive(["emoji", str(tmp_path / "out"), str(tmp_path / "model")])
    assert (folder / "classifier.safetensors").exists() and (folder / "logs" / "model" / "log.jsonl").exists()
    pipe = ImagePipeline(folder, backend="torch")
    assert pipe.colour and pipe.generate(labels=[0], steps=2).images.shape == (1, 64, 64, 3)


def test_gpu_calibration_reads_whatever_steps_the_trainer_logged(tmp_path):
    """run.sh's steps_for: the step rate from the logged steps up to CAL (the trainer logs every few steps, not
    necessarily at CAL and CAL/2), and a one-line error when fewer than two were logged."""
    import json
    import subprocess
    import sys
    script = Path(__file__).parent.parent / "benchmarks" / "gpu" / "run.sh"
    body = script.read_text().split("\nsteps_for() {", 1)[1].split("\n}\n", 1)[0]

    def steps_for(rows, budget, cal):
        log = tmp_path / "log.jsonl"
        log.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return subprocess.run(["bash", "-c", f"steps_for() {{{body}\n}}\nsteps_for {log} {budget} {cal}"],
                              env={"PY": sys.executable, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)

    r = steps_for([{"step": 50, "elapsed_s": 10.0}, {"step": 100, "elapsed_s": 20.0}], 1000, 100)
    assert r.returncode == 0 and int(r.stdout) == 100 + 5000              # 0.2 s a step: 1000 s hold 5,000 steps
    r = steps_for([{"step": s, "elapsed_s": s * 0.5} for s in (40, 80, 120)] + [{"step": 80, "eval": 1}], 100, 100)
    assert r.returncode == 0 and int(r.stdout) == 100 + 200               # steps 40..80 give the rate
    r = steps_for([{"step": 50, "elapsed_s": 10.0}], 1000, 30)
    assert r.returncode != 0 and "raise CAL" in r.stderr


def test_speech_job_trains_past_its_calibration_and_comes_back_as_a_model(tmp_path, tiny_speech_dir):
    """benchmarks/gpu/run.sh speech end to end on a CPU (tiny model, a synthetic corpus's tokens), then receive.py
    speech: the weights returned are those of the step count the calibration chose, and they load and speak."""
    import json
    import os
    import subprocess
    import sys

    import numpy as np
    import torch

    import resgen
    from resgen.core.config import MelTokenizerConfig, from_dict
    from resgen.core.weights import load_module
    from resgen.speech.tokenizer import MelTokenizer
    from resgen.train.speech_corpus import synthetic_corpus
    cfg = json.loads((tiny_speech_dir / "config.json").read_text())
    tok = load_module(MelTokenizer(from_dict(MelTokenizerConfig, cfg["tokenizer"])),
                      tiny_speech_dir / "tokenizer.safetensors")
    data = tmp_path / "data"
    (data / "tokenizer").mkdir(parents=True)
    (data / "tokenizer" / "tokenizer.json").write_text(json.dumps({"tokenizer": cfg["tokenizer"]}))
    (data / "tokenizer" / "tokenizer.safetensors").write_bytes((tiny_speech_dir / "tokenizer.safetensors").read_bytes())
    c = synthetic_corpus(tok, n=12, voices=3)                 # the compact token file `resgen train speech` writes
    np.savez(data / "tokens_train.npz", codes=torch.cat(c.codes).numpy().astype(np.int16),
             code_offsets=np.cumsum([0] + [len(x) for x in c.codes]), phonemes=torch.cat(c.phonemes).numpy(),
             durations=torch.cat(c.durations).numpy(), phoneme_offsets=np.cumsum([0] + [len(x) for x in c.phonemes]),
             voice=c.voice, symbols=np.array(json.dumps(c.symbols)))
    root = Path(__file__).parent.parent
    env = dict(os.environ, PY=sys.executable, OUT=str(tmp_path / "out"), DATA=str(data), RUN=str(tmp_path / "run"),
               TRAIN_S="1", CAL="100",
               ARGS="--width 32 --layers 1 --heads 2 --components 4 --rank 2 --max-prompt 8 --max-target 64 "
                    "--batch-size 4 --threads 1 --seed 0 --prompt-drop 0.2")
    r = subprocess.run(["bash", str(root / "benchmarks" / "gpu" / "run.sh"), "speech"], env=env, cwd=root,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) <= 8 and "speech_config.json" in files, files
    chosen = int(r.stdout.split("training to ")[1].split()[0])
    assert chosen >= 200                                        # past the 100 calibration steps
    from benchmarks.gpu.receive import main as receive
    [folder] = receive(["speech", str(tmp_path / "out"), str(tmp_path / "model"), "--tokenizer", str(data / "tokenizer")])
    assert json.loads((folder / "config.json").read_text())["trained_steps"] == chosen
    pipe = resgen.load("speech", model_dir=folder)
    t = np.arange(44100) / 44100
    res = pipe.generate("The fox.", (0.2 * np.sin(2 * np.pi * 150 * t)).astype(np.float32), 44100, steps=2,
                        vocoder="griffin-lim")
    assert np.isfinite(res.audio).all() and len(res.audio) > 0


def test_gpu_training_that_fails_stops_the_job_and_one_stopped_by_time_says_which_step_it_returns(tmp_path):
    """run.sh's finished: exit 0 passes; a timeout (124) returns the last checkpoint and names its step, loudly when
    it is only the calibration's; any other exit prints the log's tail and fails the job."""
    import subprocess
    script = (Path(__file__).parent.parent / "benchmarks" / "gpu" / "run.sh").read_text()
    body = script.split("\nfinished() {", 1)[1].split("\n}\n", 1)[0]
    log, config = tmp_path / "train.txt", tmp_path / "config.json"
    log.write_text("line 1\nTraceback: boom\n")

    def finished(rc, steps):
        config.write_text(f'{{"trained_steps": {steps}}}')
        return subprocess.run(["bash", "-c", f'say() {{ echo "$*"; }}\nCAL=100\nfinished() {{{body}\n}}\n'
                               f'finished {rc} {log} {config}'], capture_output=True, text=True)
    assert finished(0, 700).returncode == 0
    r = finished(124, 500)
    assert r.returncode == 0 and "step 500" in r.stdout and "ONLY THE CALIBRATION" not in r.stdout
    r = finished(124, 100)
    assert r.returncode == 0 and "ONLY THE CALIBRATION" in r.stdout
    r = finished(1, 100)
    assert r.returncode == 1 and "boom" in r.stdout
