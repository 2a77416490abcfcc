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


SPEECH_DEFAULTS = {"steps": 4, "cfg": 2.0, "temperature": 1.0, "top_p": 1.0}


def _prompt_wav(path, seconds=2.0, sr=44100):
    import soundfile as sf
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.2 * np.sin(2 * np.pi * 150 * t) * (1 + 0.3 * np.sin(6 * np.pi * t))).astype(np.float32), sr)
    return path


@pytest.fixture(scope="module")
def served(tiny_model_dir, tiny_speech_dir, tmp_path_factory):
    example = _prompt_wav(tmp_path_factory.mktemp("prompts") / "voice.wav")
    demo = build_app(load_image=lambda backend: resgen.load("image", backend=backend, model_dir=tiny_model_dir),
                     image_defaults=DEFAULTS,
                     load_speech=lambda backend: resgen.load("speech", backend=backend, model_dir=tiny_speech_dir),
                     speech_defaults=SPEECH_DEFAULTS, speech_examples={"a voice": example})
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


def _speak(client, prompt, text="The quick brown fox.", seed=5, vocoder="griffin-lim"):
    from gradio_client import handle_file
    return client.predict(text, handle_file(str(prompt)), 1.0, 3, 2.0, seed, False, vocoder, "en-us", "torch",
                          api_name="/generate_speech")


def test_speech_endpoints(served, tmp_path):
    import soundfile as sf
    client = Client(served, verbose=False)
    audio, mel, info, step = _speak(client, _prompt_wav(tmp_path / "p.wav"))
    wav, rate = sf.read(audio)
    assert rate == 22050 and len(wav) > 0
    assert "real-time factor" in info and "seed 5" in info and "6 denoiser calls" in info
    assert np.asarray(Image.open(mel)).ndim == 3
    grid, step_mel, step_audio, ladder_audio, schedule = client.predict(1, 2, api_name="/speech_step")
    assert all((grid, step_mel, step_audio, ladder_audio, schedule))
    assert sf.read(step_audio)[1] == 22050
    arrays, meta = load_traces(client.predict(api_name="/speech_trace"))
    assert meta["task"] == "speech" and meta["prompt_positions"] > 0 and arrays["codes"].shape[0] == 3
    import zipfile
    with zipfile.ZipFile(client.predict(api_name="/speech_steps_audio")) as z:
        assert sorted(z.namelist()) == ["step_01.wav", "step_02.wav", "step_03.wav"]


def test_speech_bad_input_is_a_message(served, tmp_path):
    client = Client(served, verbose=False)
    with pytest.raises(Exception, match="the text is empty"):
        _speak(client, _prompt_wav(tmp_path / "p.wav"), text="  ")
    with pytest.raises(Exception, match="too short"):
        _speak(client, _prompt_wav(tmp_path / "short.wav", seconds=0.3))
    with pytest.raises(Exception, match="Give a voice prompt"):
        client.predict("Hello there.", None, 1.0, 3, 2.0, 0, False, "griffin-lim", "en-us", "torch",
                       api_name="/generate_speech")
