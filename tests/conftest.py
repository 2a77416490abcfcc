import os

import pytest
import torch

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _backend_cache(tmp_path_factory):
    """`auto`'s measured backend choice goes to a cache of the test session's own, never the user's."""
    os.environ["RESGEN_CACHE"] = str(tmp_path_factory.mktemp("resgen-cache"))


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny tokenizer + denoiser trained for a few steps on synthetic data (shared, read-only)."""
    from tiny import tiny_model
    return tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_emoji_dir(tmp_path_factory):
    """A tiny colour model (64x64 RGB, 9 emoji categories) on a synthetic copy of the emoji packages (shared)."""
    from tiny import tiny_emoji_model
    return tiny_emoji_model(tmp_path_factory.mktemp("tiny_emoji"))


@pytest.fixture(scope="session")
def tiny_speech_dir(tmp_path_factory):
    """A tiny TTS model trained for a few steps on a synthetic corpus (shared, read-only)."""
    from tiny import tiny_speech_model
    return tiny_speech_model(tmp_path_factory.mktemp("tiny_speech"))
