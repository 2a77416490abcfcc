"""The app without shipped weights: build_app() over a tiny pipeline, driven through gradio_client."""
import socket

import pytest

gr = pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402

import resgen  # noqa: E402
from app.main import build_app  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_model_dir):
    model = tiny_model_dir
    demo = build_app(load_image=lambda: resgen.load("image", model_dir=model))
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_generate_image_endpoint(served):
    client = Client(served, verbose=False)
    gallery, info, _step, _live = client.predict(
        ["Sneaker", "Bag"], 4, 5, 2.0, 1.0, 0.9, 123, False, api_name="/generate_image")
    assert len(gallery) == 4
    assert [g["caption"] for g in gallery] == ["Sneaker", "Bag", "Sneaker", "Bag"]
    assert "seed 123" in info and "10 denoiser calls" in info


def test_bad_input_is_a_message_not_a_crash(served):
    client = Client(served, verbose=False)
    with pytest.raises(Exception, match="Pick at least one class"):
        client.predict([], 4, 5, 2.0, 1.0, 0.9, 0, False, api_name="/generate_image")
    # the server still answers
    gallery, *_ = client.predict(["Coat"], 1, 2, 1.0, 1.0, 0.9, 0, False, api_name="/generate_image")
    assert len(gallery) == 1
