"""The app over a tiny trained pipeline (no shipped weights), driven through gradio_client."""
import re
import threading

import numpy as np
import pytest

gr = pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402
from PIL import Image  # noqa: E402

import resgen  # noqa: E402
from app.main import build_app  # noqa: E402
from resgen.core.trace import load_traces  # noqa: E402
from serving import serve  # noqa: E402

DEFAULTS = {"steps": 6, "cfg": 2.0, "temperature": 1.0, "top_p": 1.0}


def _serve(demo):
    return f"http://127.0.0.1:{serve(demo)}/"


SPEECH_DEFAULTS = {"steps": 4, "cfg": 2.0, "temperature": 1.0, "top_p": 1.0}


def _prompt_wav(path, seconds=2.0, sr=44100):
    import soundfile as sf
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.2 * np.sin(2 * np.pi * 150 * t) * (1 + 0.3 * np.sin(6 * np.pi * t))).astype(np.float32), sr)
    return path


@pytest.fixture(scope="module")
def served(tiny_model_dir, tiny_speech_dir, tmp_path_factory):
    from tiny import tiny_ar
    example = _prompt_wav(tmp_path_factory.mktemp("prompts") / "voice.wav")
    models = tmp_path_factory.mktemp("models")                     # the Compare tab: tiny ResGEN + tiny AR
    (models / "image").symlink_to(tiny_model_dir, target_is_directory=True)
    tiny_ar(models / "image-ar", tiny_model_dir)
    demo = build_app(load_image=lambda backend: resgen.load("image", backend=backend, model_dir=tiny_model_dir),
                     image_defaults=DEFAULTS,
                     load_speech=lambda backend: resgen.load("speech", backend=backend, model_dir=tiny_speech_dir),
                     speech_defaults=SPEECH_DEFAULTS, speech_examples={"a voice": example}, compare_root=models)
    yield _serve(demo)
    demo.close()


def _generate(client, names=("Sneaker", "Bag"), n=4, steps=5, cfg=2.0, seed=123, backend="torch"):
    return client.predict(list(names), n, steps, cfg, 1.0, 0.9, seed, False, backend, api_name="/generate_image")


def _pixels(gallery) -> list[np.ndarray]:
    return [np.asarray(Image.open(g["image"]["path"] if isinstance(g["image"], dict) else g["image"]))
            for g in gallery]


def test_generate_image_endpoint(served):
    gallery, info, step, _live, index = _generate(Client(served, verbose=False))
    assert len(gallery) == 4
    assert [g["caption"] for g in gallery] == ["Sneaker", "Bag", "Sneaker", "Bag"]
    assert "seed 123" in info and "5 denoiser calls (each a batch of 2 x 4" in info and "torch" in info
    assert (step["value"] if isinstance(step, dict) else step) == 5
    assert index["maximum"] == 3 and index["value"] == 0                 # the image index runs over the 4 made


def test_step_view_gif_and_trace_endpoints(served):
    client = Client(served, verbose=False)
    _generate(client, n=3, steps=4, seed=7)
    first = client.predict(1, 0, 0, api_name="/image_step")
    last = client.predict(4, 0, 2, api_name="/image_step")
    assert len(first) == 5 and all(first) and all(last)
    assert first[4].startswith("Step 1/4: ") and "positions" in first[4]      # the step's caption
    assert last[4].startswith("Step 4/4: ") and re.search(r"; 0 of \d+ still masked", last[4])
    grid1, grid4 = (np.asarray(Image.open(v[0])) for v in (first, last))
    assert grid1.shape == grid4.shape and (grid1 != grid4).any()        # the grid changes with the step
    ladder_all, ladder_2 = np.asarray(Image.open(first[2])), np.asarray(Image.open(last[2]))
    assert ladder_all.shape != ladder_2.shape                          # all depths side by side vs depth 2

    md, life, patches = client.predict(2, 1, 5, api_name="/image_inspect")       # step, image, position
    assert md.startswith("**Image 1, position 5 (row ") and "after step 2/4" in md and md.count("\n| ") == 5
    assert "Mixture head: heaviest components" in md
    D = 4                                                                     # the tiny model's depth
    assert np.asarray(Image.open(life)).shape[:2] == (D * 14, 4 * 14)         # depth x step
    assert np.asarray(Image.open(patches)).shape[1] > D * 8                    # one patch a depth

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


def _speak(client, prompt, text="The quick brown fox.", seed=5, vocoder="griffin-lim", *prompt_text):
    from gradio_client import handle_file
    return client.predict(text, handle_file(str(prompt)), 1.0, 3, 2.0, seed, False, vocoder, "en-us", "torch",
                          *prompt_text, api_name="/generate_speech")


def test_speech_contrast_is_applied_and_out_of_range_is_a_message(served, tmp_path):
    from gradio_client import handle_file
    client = Client(served, verbose=False)
    args = ("The quick brown fox.", handle_file(str(_prompt_wav(tmp_path / "p.wav"))), 1.0, 3, 2.0, 5, False,
            "griffin-lim", "en-us", "torch", "", 1.0)
    import soundfile as sf
    audio, mel, info, *_ = client.predict(*args, 0.3, api_name="/generate_speech")
    assert "formant contrast 0.3" in info
    _, step_mel, _, ladder, *_ = client.predict(3, 16, api_name="/speech_step")   # the last step, full depth
    assert np.allclose(sf.read(ladder)[0], sf.read(audio)[0], atol=1e-4)      # is the speech, postfilter included
    assert (np.asarray(Image.open(step_mel)) == np.asarray(Image.open(mel))).all()   # and so is the last step's mel
    assert "formant contrast" not in client.predict(*args, 0.0, api_name="/generate_speech")[2]
    audio, mel, info, *_ = client.predict(*args, 0.0, True, api_name="/generate_speech")   # matched to the prompt
    assert "formant contrast matched to the prompt: 0." in info or "matched to the prompt: 1.00" in info, info
    _, step_mel, _, ladder, *_ = client.predict(3, 16, api_name="/speech_step")
    assert np.allclose(sf.read(ladder)[0], sf.read(audio)[0], atol=1e-4)      # re-rendered with the contrast used
    with pytest.raises(Exception, match="greater than maximum value 1"):       # the slider's own range check
        client.predict(*args, 1.5, api_name="/generate_speech")


def test_speech_voice_colour_correction_reaches_the_step_views(served, tmp_path):
    from gradio_client import handle_file
    import soundfile as sf
    client = Client(served, verbose=False)
    buzz = np.zeros(44100 * 2, np.float32)
    buzz[::367] = 0.5                                # a 120 Hz pulse train: every band has energy, as in a voice
    sf.write(tmp_path / "buzz.wav", buzz, 44100)
    args = ("The quick brown fox.", handle_file(str(tmp_path / "buzz.wav")), 1.0, 3, 2.0, 5, False,
            "griffin-lim", "en-us", "torch", "", 1.0, 0.0, False)
    plain = client.predict(*args, False, api_name="/generate_speech")
    assert "voice colour corrected" not in plain[2]
    audio, mel, info, *_ = client.predict(*args, True, api_name="/generate_speech")
    assert "voice colour corrected from the prompt (bands moved" in info, info
    assert not np.allclose(sf.read(audio)[0], sf.read(plain[0])[0], atol=1e-3)
    _, step_mel, _, ladder, *_ = client.predict(3, 16, api_name="/speech_step")   # the last step, full depth
    assert np.allclose(sf.read(ladder)[0], sf.read(audio)[0], atol=1e-4)      # re-rendered with the same correction


def test_speech_prompt_transcript_sets_the_pace_and_a_bad_one_is_a_message(served, tmp_path):
    client = Client(served, verbose=False)
    info = _speak(client, _prompt_wav(tmp_path / "p.wav"), "The quick brown fox.", 5, "griffin-lim", "Hello there.")[2]
    assert "the prompt speaker's pace from its transcript: durations x" in info
    assert "pace" not in _speak(client, _prompt_wav(tmp_path / "p.wav"), "The quick brown fox.", 5, "griffin-lim",
                                "   ")[2]                                  # a blank transcript: no pace
    with pytest.raises(Exception, match="the prompt's transcript"):
        _speak(client, _prompt_wav(tmp_path / "p.wav"), "The quick brown fox.", 5, "griffin-lim", "?! ;")
    info = _speak(client, _prompt_wav(tmp_path / "p.wav"), "The quick brown fox.", 5, "griffin-lim", "", 2.0)[2]
    assert "(with and without the text, without the prompt's voice, one batch of 3)" in info


def test_speech_endpoints(served, tmp_path):
    import soundfile as sf
    client = Client(served, verbose=False)
    audio, mel, info, step, chunk = _speak(client, _prompt_wav(tmp_path / "p.wav"))
    wav, rate = sf.read(audio)
    assert rate == 22050 and len(wav) > 0
    assert "real-time factor" in info and "seed 5" in info and "3 denoiser calls (with and without the text" in info
    assert "Prompt: resampled from 44.1 kHz to 22.05 kHz." in info                   # what was done to the prompt
    info = _speak(client, _prompt_wav(tmp_path / "p.wav"), vocoder="hifigan")[2]
    assert "vocoder hifigan (torch, float)" in info                                 # what HiFi-GAN computed in
    assert np.asarray(Image.open(mel)).ndim == 3
    grid, step_mel, step_audio, ladder_audio, schedule, caption = client.predict(1, 2, api_name="/speech_step")
    assert all((grid, step_mel, step_audio, ladder_audio, schedule))
    assert caption.startswith("Step 1/3: ") and "tokens revealed at" in caption
    md, life, mels = client.predict(2, 3, api_name="/speech_inspect")        # step, target position
    assert md.startswith("**Target position 3 (mel frames 12-15, ") and "after step 2/3" in md
    assert np.asarray(Image.open(life)).ndim == 3 and np.asarray(Image.open(mels)).shape[0] == 80
    assert sf.read(step_audio)[1] == 22050
    span, note = client.predict(2, 3, api_name="/speech_span_audio")          # step, target position
    wav, rate = sf.read(span)
    assert rate == 22050 and "around target position 3" in note and "up to 1-" in note
    D = int(note.split("up to 1-")[1].split(" ")[0])
    assert len(wav) > (D - 1) * 0.25 * 22050                                  # D spans with a gap between
    arrays, meta = load_traces(client.predict(api_name="/speech_trace"))
    assert meta["task"] == "speech" and meta["prompt_positions"] > 0 and arrays["codes"].shape[0] == 3
    import zipfile
    with zipfile.ZipFile(client.predict(api_name="/speech_steps_audio")) as z:
        assert sorted(z.namelist()) == ["step_01.wav", "step_02.wav", "step_03.wav"]


def test_long_text_is_spoken_in_chunks_and_each_chunk_can_be_inspected(served, tmp_path):
    import soundfile as sf
    client = Client(served, verbose=False)
    sentence = ("The cat sat down on the mat by the door, and then the cat looked around the room for a while "
                "before it went to sleep in the sun.")
    audio, mel, info, step, chunk = _speak(client, _prompt_wav(tmp_path / "p.wav"), text=" ".join([sentence] * 3))
    assert "3 chunks (seeds 5..7)" in info and "9 denoiser calls" in info
    assert len(sf.read(audio)[0]) > 0
    first, meta1 = load_traces(client.predict(api_name="/speech_trace"))
    assert meta1["chunk"] == 1 and meta1["chunks"] == 3 and meta1["seed"] == 5
    client.predict(3, api_name="/speech_chunk")
    third, meta3 = load_traces(client.predict(api_name="/speech_trace"))
    assert meta3["chunk"] == 3 and meta3["seed"] == 7 and meta3["text"] == sentence
    with pytest.raises(Exception, match="at most 3000"):
        _speak(client, _prompt_wav(tmp_path / "p.wav"), text="word " * 700)


def test_speech_bad_input_is_a_message(served, tmp_path):
    client = Client(served, verbose=False)
    with pytest.raises(Exception, match="the text is empty"):
        _speak(client, _prompt_wav(tmp_path / "p.wav"), text="  ")
    with pytest.raises(Exception, match="too short"):
        _speak(client, _prompt_wav(tmp_path / "short.wav", seconds=0.3))
    import soundfile as sf
    wav, sr = sf.read(_prompt_wav(tmp_path / "p.wav"))
    sf.write(tmp_path / "loud.wav", np.clip(wav * 20, -1, 1), sr)
    with pytest.raises(Exception, match="heavily clipped"):
        _speak(client, tmp_path / "loud.wav")
    sf.write(tmp_path / "p.mp3", wav, sr)                     # an mp3 (no ffmpeg here): read by the app itself
    assert "real-time factor" in _speak(client, tmp_path / "p.mp3")[2]
    with pytest.raises(Exception, match="Give a voice prompt"):
        client.predict("Hello there.", None, 1.0, 3, 2.0, 0, False, "griffin-lim", "en-us", "torch",
                       api_name="/generate_speech")


RESGEN, AR = "ResGEN D=4 (shipped)", "Autoregressive D=4 (RQ-Transformer baseline)"


def _compare(client, mode="ResGEN vs autoregressive", cls="Bag", n=2, steps=4, a=(RESGEN, 0, 2.0), b=(AR, 0, 2.0)):
    return client.predict(mode, cls, n, steps, *a, *b, api_name="/compare")


def test_compare_endpoints(served):
    client = Client(served, verbose=False)
    a_img, a_info, b_img, b_info, summary, progress = _compare(client)
    assert "4 network calls" in a_info and "256 network calls" in b_info and "seed 0" in b_info
    assert "took" in summary and progress == 100
    a_grid, a_prev, b_grid, b_prev, plot, where = client.predict(50, api_name="/compare_step")
    assert "step 2/4 after 2 of 4 calls" in where and "position 32/64 after 128 of 256 calls" in where
    again = _compare(client, mode="Two ResGEN runs", a=(RESGEN, 0, 2.0), b=(RESGEN, 5, 1.0))
    assert "seed 5; CFG 1" in again[3] and "4 network calls" in again[3]


def test_compare_bad_input_is_a_message(served):
    client = Client(served, verbose=False)
    with pytest.raises(Exception, match="Giraffe is not in the list of choices"):   # gradio's own check
        _compare(client, cls="Giraffe")
    with pytest.raises(Exception, match="not in the list of choices"):
        _compare(client, a=(AR, 0, 2.0))                                # the left side is ResGEN
    with pytest.raises(Exception, match="Seeds must be between"):
        _compare(client, a=(RESGEN, -1, 2.0))
    with pytest.raises(Exception, match="cfg must be between"):
        _compare(client, b=(AR, 0, 50.0))
    assert "took" in _compare(client)[4]                               # and it still works


def test_compare_without_ar_offers_two_resgen_runs(tiny_model_dir, tmp_path):
    (tmp_path / "image").symlink_to(tiny_model_dir, target_is_directory=True)
    demo = build_app(load_image=lambda backend: resgen.load("image", backend=backend, model_dir=tiny_model_dir),
                     image_defaults=DEFAULTS, compare_root=tmp_path)
    try:
        client = Client(_serve(demo), verbose=False)
        with pytest.raises(Exception, match="autoregressive baseline is not installed"):
            _compare(client, b=(RESGEN, 0, 2.0))
        out = _compare(client, mode="Two ResGEN runs", b=(RESGEN, 1, 2.0))
        assert "seed 1" in out[3]
    finally:
        demo.close()
