"""`resgen train vocoder`: crops on the tokenizer's code grid with the waveform they stand for, the STFT loss, the
waveform critic's losses each moving only their own side, a resumable run that leaves a loadable vocoder, and one-line
errors."""
import json

import numpy as np
import torch
from tiny import resgen

from resgen.speech.vocoder import load_hifigan
from resgen.train.vocoder import HOP, Windows, stft_loss, synthetic_audio
from resgen.train.wave_critic import WaveCritic, critic_terms


def test_windows_sit_on_the_code_grid_and_keep_their_waveform():
    audio = np.arange(3 * 40 * HOP, dtype=np.int16) % 997
    offsets = np.array([0, 40 * HOP, 50 * HOP, 3 * 40 * HOP])           # 40, 10 and 70 frames
    w = Windows(audio, offsets, segment=16, margin=8, grid=4)
    assert list(w.usable) == [0, 2]                                   # the 10-frame one is too short
    for item, u in [(0, 0.0), (0, 0.999), (1, 0.37), (1, 0.999)]:
        x, s, n = w.draw(item, u)
        i = int(w.usable[item])
        start = next(a for a in range(0, 200) if np.array_equal(
            x[:HOP].numpy(), audio[offsets[i] + a * HOP: offsets[i] + (a + 1) * HOP].astype(np.float32) / 32768))
        assert start % 4 == 0 and (start + s) % 4 == 0 and n == 16 and 0 <= s <= 8
        assert len(x) >= (s + n) * HOP and offsets[i] + (start + s + n) * HOP <= offsets[i + 1]
    x, s, n = w.draw(1, 0.999)                                        # the last slot: frames 52..68 of 70
    assert s == 8 and len(x) == (70 - 44) * HOP                       # the margin ends with the recording


def test_stft_loss_is_zero_on_itself_and_grows_with_the_error():
    a, _ = synthetic_audio(1)
    x = torch.from_numpy(a[:8192].astype(np.float32) / 32768)[None]
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=g)
    assert float(stft_loss(x, x)) < 1e-6
    assert 0 < float(stft_loss(x + 0.001 * noise, x)) < float(stft_loss(x + 0.05 * noise, x))


def test_each_critic_loss_moves_only_its_own_side():
    torch.manual_seed(0)
    critic = WaveCritic(ch=4)
    real = torch.randn(2, 4096) * 0.1
    fake = (torch.randn(2, 4096) * 0.1).requires_grad_(True)
    t = critic_terms(critic, real, fake)
    assert set(t) == {"critic", "adv", "fm"} and all(v.dim() == 0 for v in t.values())
    assert torch.autograd.grad(t["critic"], fake, allow_unused=True)[0] is None
    grads = torch.autograd.grad(t["adv"] + t["fm"], [fake, *critic.parameters()], allow_unused=True)
    assert grads[0].abs().sum() > 0 and all(g is None for g in grads[1:])
    assert all(g.abs().sum() > 0 for g in torch.autograd.grad(t["critic"], list(critic.parameters())))


def test_a_resumed_run_equals_an_uninterrupted_one_and_leaves_a_vocoder(tmp_path):
    base = ["train", "vocoder", "--synthetic", "--init", "assets/speech", "--batch-size", "2", "--segment", "16",
            "--margin", "8", "--threads", "2", "--steps", "2", "--lr", "1e-4"]
    r = resgen(*base, "--out", str(tmp_path / "a"), "--adversarial", "0.5")
    assert r.returncode == 0, r.stderr
    r = resgen(*base, "--out", str(tmp_path / "b"), "--adversarial", "0.5", "--stop-at", "1")
    assert r.returncode == 0, r.stderr
    r = resgen(*base, "--out", str(tmp_path / "b"), "--adversarial", "0.5")
    assert r.returncode == 0 and "resumed from" in r.stdout + r.stderr, r.stderr
    a, b = (load_hifigan(tmp_path / d / "vocoder.safetensors").state_dict() for d in "ab")
    shipped = load_hifigan("assets/speech/vocoder.safetensors").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)                    # resuming reproduces the run
    assert any(not torch.equal(a[k], shipped[k]) for k in a)          # and it trained
    logged = json.loads((tmp_path / "a" / "log.jsonl").read_text().splitlines()[-1])
    assert {"mel_l1", "stft", "critic", "adv", "fm"} <= set(logged)
    assert json.loads((tmp_path / "a" / "vocoder.json").read_text())["step"] == 2


def test_bad_arguments_are_one_line(tmp_path):
    for extra, word in [(["--segment", "30"], "--segment"), (["--decoded-share", "2"], "--decoded-share"),
                        (["--depth", "9"], "--depth")]:
        r = resgen("train", "vocoder", "--synthetic", "--out", str(tmp_path / "x"), *extra)
        assert r.returncode == 2 and word in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = resgen("train", "vocoder", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "no training split" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = resgen("train", "vocoder", "--synthetic", "--init", str(tmp_path), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "vocoder" in r.stderr and r.stderr.count("\n") == 1, r.stderr


def test_a_student_distilled_from_the_shipped_vocoder(tmp_path):
    base = ["train", "vocoder", "--synthetic", "--init", "assets/speech", "--batch-size", "2", "--segment", "16",
            "--margin", "8", "--threads", "2", "--steps", "1", "--lr", "1e-4", "--adversarial", "0"]
    r = resgen(*base, "--out", str(tmp_path / "s"), "--kernels", "3,7", "--target", "teacher")
    assert r.returncode == 0, r.stderr
    student = load_hifigan(tmp_path / "s" / "vocoder.safetensors")
    assert student.cfg.resblock_kernels == (3, 7)
    meta = json.loads((tmp_path / "s" / "vocoder.json").read_text())
    assert meta["kernels"] == [3, 7] and meta["target"] == "teacher"
    for extra, message in ((["--target", "teacher"], "needs a smaller student"), (["--kernels", "5"], "--kernels"),
                           (["--kernels", "3,x"], "--kernels")):
        r = resgen(*base, "--out", str(tmp_path / "bad"), *extra)
        assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
