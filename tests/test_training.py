import sys

import pytest
import torch
from safetensors.torch import load_file

from tiny import TOK_ARGS, resgen


def _weights(path):
    return load_file(str(path))


def test_tokenizer_training_is_deterministic_and_resumes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert resgen("train", "image-tokenizer", "--out", str(a), "--steps", "6", *TOK_ARGS).returncode == 0
    # b: stop after 3 steps, then resume to 6; must equal the uninterrupted run
    assert resgen("train", "image-tokenizer", "--out", str(b), "--steps", "6", "--stop-at", "3",
                  *TOK_ARGS).returncode == 0
    r = resgen("train", "image-tokenizer", "--out", str(b), "--steps", "6", *TOK_ARGS)
    assert r.returncode == 0 and "resumed" in r.stdout + r.stderr
    wa, wb = _weights(a / "tokenizer.safetensors"), _weights(b / "tokenizer.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], atol=1e-6), k
    log = (a / "log.jsonl").read_text()
    assert log.strip() == "" or "loss" in log


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed missing")
def test_ddp_under_torchrun_gloo(tmp_path):
    out = tmp_path / "ddp"
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]  # a free port
    r = resgen("train", "image-tokenizer", "--out", str(out), "--steps", "4", *TOK_ARGS, launcher=launcher)
    assert r.returncode == 0, r.stderr[-2000:]
    w = _weights(out / "tokenizer.safetensors")
    assert all(torch.isfinite(v.float()).all() for v in w.values())
    # and the single-process run with the same options finishes and checkpoints too
    single = tmp_path / "single"
    assert resgen("train", "image-tokenizer", "--out", str(single), "--steps", "4", *TOK_ARGS).returncode == 0
    assert (out / "ckpt.pt").exists() and (single / "ckpt.pt").exists()


def test_ema_copy_follows_a_short_run(tmp_path):
    """With a long EMA decay and few steps, the EMA copy must still have left the initial weights
    (it is warmed up), and stay behind the raw weights."""
    import torch

    from resgen.train.loop import LoopConfig, train

    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = x @ torch.tensor([1.0, -2.0, 3.0, 0.5]) + 1

    def loss_fn(net, idx, gen):
        return {"loss": ((net(x[idx])[:, 0] - y[idx]) ** 2).mean()}

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    init = model.weight.detach().clone()
    cfg = LoopConfig(steps=100, batch_size=32, lr=0.05, warmup=1, ema=0.9995, log_every=10, ckpt_every=1000)
    ema = train(tmp_path, model, loss_fn, 256, cfg)
    raw_moved = (model.weight - init).norm()
    ema_moved = (ema.weight - init).norm()
    assert ema_moved > 0.7 * raw_moved and not torch.equal(ema.weight, model.weight)


def test_image_training_continues_from_a_model_folder(tiny_model_dir, tmp_path):
    """--init starts from a model folder's denoiser (its architecture, whatever the options say):
    with lr 0 the continued run keeps its weights exactly; the steps add up in config.json; a model
    trained on another tokenizer is refused with one line before anything is written."""
    import json

    from tiny import IMG_ARGS, TOK_ARGS
    tok, out = tiny_model_dir.parent / "tok", tmp_path / "cont"
    r = resgen("train", "image", "--tokenizer", str(tok), "--out", str(out), "--steps", "2", "--lr", "0",
               "--init", str(tiny_model_dir), *IMG_ARGS, "--width", "48")
    assert r.returncode == 0, r.stderr[-2000:]
    w0, w1 = _weights(tiny_model_dir / "denoiser.safetensors"), _weights(out / "denoiser.safetensors")
    assert w0.keys() == w1.keys()
    for k in w0:
        assert torch.equal(w0[k], w1[k]), k
    before, after = (json.loads((d / "config.json").read_text()) for d in (tiny_model_dir, out))
    assert after["denoiser"] == before["denoiser"]
    assert after["trained_steps"] == before["trained_steps"] + 2
    assert after["init"]["trained_steps"] == before["trained_steps"]

    other = tmp_path / "tok2"
    assert resgen("train", "image-tokenizer", "--out", str(other), "--steps", "2", *TOK_ARGS, "--seed", "1").returncode == 0
    r = resgen("train", "image", "--tokenizer", str(other), "--out", str(tmp_path / "x"), "--steps", "2",
               "--init", str(tiny_model_dir), *IMG_ARGS)
    assert r.returncode == 2 and "another tokenizer" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()
    r = resgen("train", "image", "--tokenizer", str(tok), "--out", str(tmp_path / "y"), "--init", str(tmp_path))
    assert r.returncode == 2 and "no image model" in r.stderr and not (tmp_path / "y").exists()


def test_a_checkpoint_stopped_mid_write_leaves_the_previous_weights_whole(tmp_path, monkeypatch):
    """save_module writes beside the file and moves it over: a run killed while saving (a GPU job's time limit)
    keeps the last complete checkpoint, and a finished save leaves nothing beside it."""
    import safetensors.torch

    from resgen.core import weights
    net = torch.nn.Linear(3, 2)
    path = tmp_path / "model.safetensors"
    weights.save_module(net, path)
    before = path.read_bytes()

    def killed(state, name):
        open(name, "wb").write(b"half a file")
        raise KeyboardInterrupt
    monkeypatch.setattr(weights, "save_file", killed)
    with torch.no_grad():
        net.weight.add_(1.0)
    with pytest.raises(KeyboardInterrupt):
        weights.save_module(net, path)
    assert path.read_bytes() == before and set(load_file(path)) == {"weight", "bias"}
    monkeypatch.setattr(weights, "save_file", safetensors.torch.save_file)
    sha = weights.save_module(net, path)
    assert torch.equal(load_file(path)["weight"], net.weight) and sha == weights.file_sha256(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]       # the half file replaced too


def test_a_batch_larger_than_the_data_is_one_line(tmp_path):
    from resgen.core.errors import UsageError
    from resgen.train.loop import LoopConfig, train

    def loss_fn(net, idx, gen):                 # never reached
        raise AssertionError("trained on a batch larger than the data")

    with pytest.raises(UsageError, match="--batch-size 8 is larger than the 5 training items"):
        train(tmp_path, torch.nn.Linear(2, 1), loss_fn, 5, LoopConfig(steps=2, batch_size=8, lr=0.1))
    assert not (tmp_path / "ckpt.pt").exists()
