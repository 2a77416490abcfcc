"""The Image tab with two models, grey Fashion-MNIST and colour emoji (tiny ones trained here): the model picker
switches the classes, and every view (step, inspector, GIF, trace) works in colour; through gradio_client."""
import numpy as np
import pytest

pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402
from PIL import Image  # noqa: E402

from app.image_models import image_models  # noqa: E402
from app.main import build_app  # noqa: E402
from resgen.core.trace import load_traces  # noqa: E402
from resgen.image.emoji_data import CATEGORIES  # noqa: E402
from test_app import DEFAULTS, _pixels, _serve  # noqa: E402

GREY, COLOUR = "Fashion-MNIST (grey)", "Emoji (colour)"


@pytest.fixture(scope="module")
def served(tiny_model_dir, tiny_emoji_dir):
    emoji = tiny_emoji_dir
    demo = build_app(image_folders={GREY: tiny_model_dir, COLOUR: emoji}, image_defaults=DEFAULTS)
    yield _serve(demo)
    demo.close()


def _generate(client, names, model, n=2, steps=3):
    return client.predict(list(names), n, steps, 2.0, 1.0, 1.0, 5, False, "torch", model, api_name="/generate_image")


def test_installed_models_are_found(tmp_path):
    assert list(image_models(tmp_path)) == [GREY]                      # the grey model is always offered
    (tmp_path / "image-emoji").mkdir()
    (tmp_path / "image-emoji" / "config.json").write_text("{}")
    assert list(image_models(tmp_path)) == [GREY, COLOUR]


def test_colour_model_generates_and_every_view_works(served):
    client = Client(served, verbose=False)
    gallery, info, *_ = _generate(client, ["Animals & Nature", "Flags"], COLOUR)
    assert [g["caption"] for g in gallery] == ["Animals & Nature", "Flags"] and COLOUR in info
    img = _pixels(gallery)[0]
    assert img.shape == (128, 128, 3)                                  # 64x64 RGB at 2x
    grid, preview, ladder, schedule, caption = client.predict(2, 1, 0, api_name="/image_step")
    assert caption.startswith("Step 2/3: ") and np.asarray(Image.open(preview)).shape[0] == 64 * 4
    md, life, patches = client.predict(2, 1, 9, api_name="/image_inspect")
    assert md.startswith("**Image 1, position 9 (row 1, column 1)") and np.asarray(Image.open(patches)).ndim == 3
    with Image.open(client.predict(api_name="/image_gif")) as gif:
        assert gif.n_frames == 3
    arrays, meta = load_traces(client.predict(api_name="/image_trace"))
    assert meta["model"] == COLOUR and meta["classes"] == list(CATEGORIES) and meta["labels"] == [2, 8]


def test_grey_model_still_default_and_bad_model_or_class_is_a_message(served):
    client = Client(served, verbose=False)
    gallery, info, *_ = client.predict(["Sneaker"], 1, 2, 2.0, 1.0, 1.0, 0, False, "torch",
                                       api_name="/generate_image")          # no model given: the first
    assert gallery[0]["caption"] == "Sneaker" and GREY in info
    with pytest.raises(Exception, match=r"Unknown model.*Fashion-MNIST.*Emoji \(colour"):
        _generate(client, ["Sneaker"], "Dogs")
    with pytest.raises(Exception, match="Unknown class 'Sneaker'; choose from: Smileys"):   # a Fashion class asked of the emoji
        _generate(client, ["Sneaker"], COLOUR)


def test_api_takes_model_and_class_names_in_any_case(served):
    client = Client(served, verbose=False)
    gallery, info, *_ = _generate(client, ["animals & nature"], "EMOJI", n=1)
    assert gallery[0]["caption"] == "Animals & Nature" and COLOUR in info
    gallery, info, *_ = _generate(client, ["sneaker"], "image", n=1)
    assert gallery[0]["caption"] == "Sneaker" and GREY in info
