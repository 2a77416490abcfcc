"""The FID feature extractor's onnxruntime path gives the torch path's features (tiny stand-in network)."""
import numpy as np
import pytest
import torch
from torch import nn

from resgen.eval.fid import InceptionFeatures, onnx_copy


def _script(tmp_path, seed: int):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.AdaptiveAvgPool2d(1)).eval()
    path = tmp_path / f"net{seed}.pt"
    torch.jit.trace(net, torch.zeros(1, 3, 32, 32)).save(str(path))
    return path


def test_onnx_features_equal_torch_features(tmp_path):
    path = _script(tmp_path, 0)
    images = torch.rand(7, 28, 28, generator=torch.Generator().manual_seed(1))
    ort = InceptionFeatures(backend="onnx", cache=tmp_path / "cache", script_path=path, size=32)
    ref = InceptionFeatures(backend="torch", script_path=path, size=32)
    assert (ort.backend, ref.backend) == ("onnx", "torch")
    a, b = ort(images, batch=3), ref(images, batch=3)
    assert a.shape == b.shape == (7, 16)
    assert np.abs(a - b).max() < 1e-5 and np.abs(b).max() > 1e-3


def test_onnx_copy_is_cached_by_file_hash(tmp_path):
    cache = tmp_path / "cache"
    script = _script(tmp_path, 0)
    first = onnx_copy(script, cache, size=32)
    stamp = first.stat().st_mtime_ns
    assert onnx_copy(script, cache, size=32) == first and first.stat().st_mtime_ns == stamp
    other = onnx_copy(_script(tmp_path, 1), cache, size=32)
    assert other != first and sorted(p.name for p in cache.iterdir()) == sorted([first.name, other.name])


def test_unknown_backend_is_refused(tmp_path):
    with pytest.raises(ValueError, match="backend"):
        InceptionFeatures(backend="tpu", script_path=_script(tmp_path, 0), size=32)
