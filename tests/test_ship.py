"""python -m export ship: a model folder copied into assets/ loads, samples like the original, and
its float16 weights take half the bytes."""
import numpy as np
import pytest
from safetensors.torch import load_file
from tiny import tiny_ar

import resgen
from export.__main__ import main as export_main
from resgen.core.weights import ModelFileError


def test_ship_half_keeps_the_model(tiny_model_dir, tmp_path):
    dst = tmp_path / "image-d4"
    assert export_main(["ship", str(tiny_model_dir), str(dst), "--half", "denoiser.safetensors",
                        "--label", "ResGEN D=4 (tiny)"]) == 0
    from resgen.baselines.compare import installed_image_models
    assert [m.name for m in installed_image_models(tmp_path)] == ["ResGEN D=4 (tiny)"]
    assert all(v.dtype.itemsize == 2 for v in load_file(str(dst / "denoiser.safetensors")).values()
               if v.is_floating_point())
    assert (dst / "denoiser.safetensors").stat().st_size < 0.6 * (tiny_model_dir / "denoiser.safetensors").stat().st_size
    a = resgen.load("image", backend="torch", model_dir=tiny_model_dir).generate([1, 2], steps=4, seed=0)
    b = resgen.load("image", backend="torch", model_dir=dst).generate([1, 2], steps=4, seed=0)
    assert np.abs(a.images.astype(int) - b.images.astype(int)).mean() < 8        # float16 rounding only


def test_ship_ar_and_refuse_bad_folders(tiny_model_dir, tmp_path, capsys):
    ar = tiny_ar(tmp_path / "ar", tiny_model_dir)
    assert export_main(["ship", str(ar), str(tmp_path / "image-ar"), "--half", "ar.safetensors",
                        "--label", "Autoregressive D=4 (tiny)"]) == 0
    from resgen.baselines.ar import load_ar
    from resgen.baselines.compare import installed_image_models
    load_ar(tmp_path / "image-ar")
    assert [(m.kind, m.name) for m in installed_image_models(tmp_path)] == [("ar", "Autoregressive D=4 (tiny)")]
    assert export_main(["ship", str(tmp_path / "nothing"), str(tmp_path / "x")]) == 2
    assert "has none of" in capsys.readouterr().err
    assert export_main(["ship", str(ar), str(tmp_path / "y"), "--half", "missing.safetensors"]) == 2
    assert not (tmp_path / "y").exists()
    with pytest.raises(ModelFileError):
        load_ar(tmp_path / "x")


def test_ship_with_a_fine_tuned_decoder_only(tiny_speech_dir, tmp_path, capsys):
    """--tokenizer-from swaps in a tokenizer whose decoder alone differs (the codes stay valid) and
    refuses one that encodes differently."""
    from safetensors.torch import save_file
    state = load_file(str(tiny_speech_dir / "tokenizer.safetensors"))
    dec = {k: (v + 0.01 if k.startswith("decoder.") and v.is_floating_point() else v) for k, v in state.items()}
    enc = {k: (v + 0.01 if k.startswith("encoder.") and v.is_floating_point() else v) for k, v in state.items()}
    for name, s in (("dec", dec), ("enc", enc)):
        (tmp_path / name).mkdir()
        save_file(s, str(tmp_path / name / "tokenizer.safetensors"))
    dst = tmp_path / "speech"
    assert export_main(["ship", str(tiny_speech_dir), str(dst), "--tokenizer-from", str(tmp_path / "dec")]) == 0
    shipped = load_file(str(dst / "tokenizer.safetensors"))
    assert all(bool((shipped[k] == dec[k]).all()) for k in dec)
    pipe = resgen.load("speech", backend="torch", model_dir=dst)          # the hashes in config.json match
    assert pipe is not None
    assert export_main(["ship", str(tiny_speech_dir), str(tmp_path / "bad"), "--tokenizer-from", str(tmp_path / "enc")]) == 2
    assert "encodes differently" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def _reshaped(tiny_speech_dir, tmp_path, name: str, shape: dict):
    """(the tiny model's tokenizer, one with a decoder of `shape` written as a run folder tmp_path/name)."""
    import json

    from resgen.core.config import to_dict
    from resgen.core.weights import save_module
    from resgen.speech.tokenizer import load_tokenizer
    from resgen.train.speech_tokenizer import new_decoder
    old = load_tokenizer(tiny_speech_dir)
    tok = new_decoder(old, shape).eval()
    (tmp_path / name).mkdir()
    save_module(tok, tmp_path / name / "tokenizer.safetensors")
    (tmp_path / name / "tokenizer.json").write_text(json.dumps({"tokenizer": to_dict(tok.cfg)}))
    return old, tok


def test_ship_with_a_decoder_of_another_shape(tiny_speech_dir, tmp_path, capsys):
    """A decoder retrained wider on the same codes (`--decoder-channels`) ships with its shape in config.json, and the
    pipeline loads it; a tokenizer.json that changes the codes' shape is refused."""
    import json

    from resgen.core.config import to_dict
    from resgen.core.weights import read_json
    _, wide = _reshaped(tiny_speech_dir, tmp_path, "wide", {"decoder_channels": 24, "decoder_blocks": 1})
    dst = tmp_path / "speech"
    assert export_main(["ship", str(tiny_speech_dir), str(dst), "--tokenizer-from", str(tmp_path / "wide")]) == 0
    assert read_json(dst / "config.json")["tokenizer"]["decoder_channels"] == 24
    pipe = resgen.load("speech", backend="torch", model_dir=dst)
    assert pipe.tokenizer.cfg.decoder_channels == 24
    other = dict(to_dict(wide.cfg), downsample=2)
    (tmp_path / "wide" / "tokenizer.json").write_text(json.dumps({"tokenizer": other}))
    assert export_main(["ship", str(tiny_speech_dir), str(tmp_path / "bad"), "--tokenizer-from",
                        str(tmp_path / "wide")]) == 2
    assert "only the decoder may differ" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_ship_with_a_grown_decoder(tiny_speech_dir, tmp_path):
    """A decoder grown by `--decoder-post-blocks` is a decoder change too: it ships, and decodes as before until
    trained (the new blocks start as the identity)."""
    import torch

    from resgen.core.weights import read_json
    old, _ = _reshaped(tiny_speech_dir, tmp_path, "grown", {"decoder_post_blocks": 2})
    dst = tmp_path / "speech"
    assert export_main(["ship", str(tiny_speech_dir), str(dst), "--tokenizer-from", str(tmp_path / "grown")]) == 0
    assert read_json(dst / "config.json")["tokenizer"]["decoder_post_blocks"] == 2
    pipe = resgen.load("speech", backend="torch", model_dir=dst)
    mel = torch.randn(1, 80, 40) - 5
    c = old.encode(mel)
    assert torch.equal(pipe.tokenizer.encode(mel), c) and torch.allclose(pipe.tokenizer.decode(c), old.decode(c))
