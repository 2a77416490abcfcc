"""The app over a tiny trained pipeline (no shipped weights), driven through gradio_client."""
import socket
import threading

import numpy as np
import pytest

gr = pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402
from PIL import Image  # noqa: E402

import resgen  # noqa: E402
from app.main import build_app  # noqa: E402
from resgen.trace import load_traces  # noqa: E402

DEFAULTS = {"steps": 6, "cfg": 2.0, "temperature": 1.0, "top_p": 1.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(demo):
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def served(tiny_model_dir):
    demo = build_app(load_image=lambda backend: resgen.load("image", backend=backend, model_dir=tiny_model_dir),
                     image_defaults=DEFAULTS)
    yield _serve(demo)
    demo.close()


def _generate(client, names=("Sneaker", "Bag"), n=4, steps=5, cfg=2.0, seed=123, backend="torch"):
    return client.predict(list(names), n, steps, cfg, 1.0, 0.9, seed, False, backend, api_name="/generate_image")


def _pixels(gallery) -> list[np.ndarray]:
    return [np.asarray(Image.open(g["image"]["path"] if isinstance(g["image"], dict) else g["image"]))
            for g in gallery]


def test_generate_image_endpoint(served):
    gallery, info, step, _live = _generate(Client(served, verbose=False))
    assert len(gallery) == 4
    assert [g["caption"] for g in gallery] == ["Sneaker", "Bag", "Sneaker", "Bag"]
    assert "seed 123" in info and "10 denoiser calls" in info and "torch" in info
    assert (step["value"] if isinstance(step, dict) else step) == 5


def test_step_view_gif_and_trace_endpoints(served):
    client = Client(served, verbose=False)
    _generate(client, n=3, steps=4, seed=7)
    first = client.predict(1, 0, 0, api_name="/image_step")
    last = client.predict(4, 0, 2, api_name="/image_step")
    assert len(first) == 4 and all(first) and all(last)
    grid1, grid4 = (np.asarray(Image.open(v[0])) for v in (first, last))
    assert grid1.shape == grid4.shape and (grid1 != grid4).any()        # the grid changes with the step
    ladder_all, ladder_2 = np.asarray(Image.open(first[2])), np.asarray(Image.open(last[2]))
    assert ladder_all.shape != ladder_2.shape                          # all depths side by side vs depth 2

    gif = client.predict(api_name="/image_gif")
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 4
    arrays, meta = load_traces(client.predict(api_name="/image_trace"))
    assert meta["seed"] == 7 and meta["labels"] == [7, 8, 7] and arrays["codes"].shape[:2] == (4, 3)
    assert not arrays["mask"][-1].any() and arrays["mask"][0].any()


def test_bad_input_is_a_message_not_a_crash(served):
    client = Client(served, verbose=False)
    with pytest.raises(Exception, match="Pick at least one class"):
        _generate(client, names=())
    with pytest.raises(Exception, match="greater than maximum value 64"):    # the slider's own check
        _generate(client, n=65)
    with pytest.raises(Exception, match="greater than maximum value 1"):
        client.predict(["Coat"], 1, 2, 1.0, 1.0, 1.5, 0, False, "torch", api_name="/generate_image")
    with pytest.raises(Exception, match="Generate images first"):
        Client(served, verbose=False).predict(api_name="/image_gif")
    gallery, *_ = _generate(client, names=("Coat",), n=1, steps=2)      # the server still answers
    assert len(gallery) == 1


def test_two_requests_at_once_both_right(served):
    alone = [_pixels(_generate(Client(served, verbose=False), seed=s)[0]) for s in (1, 2)]
    results = {}

    def call(s):
        results[s] = _pixels(_generate(Client(served, verbose=False), seed=s)[0])

    threads = [threading.Thread(target=call, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for s, ref in zip((1, 2), alone):
        assert len(results[s]) == 4
        assert all((a == b).all() for a, b in zip(results[s], ref))
    assert any((a != b).any() for a, b in zip(*alone))                 # different seeds, different images


def test_missing_model_is_a_message(tmp_path):
    demo = build_app(load_image=lambda backend: resgen.load("image", backend=backend, model_dir=tmp_path),
                     image_defaults=DEFAULTS)
    url = _serve(demo)
    try:
        with pytest.raises(Exception, match="Could not load the image model"):
            _generate(Client(url, verbose=False))
    finally:
        demo.close()
