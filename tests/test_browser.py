"""The app in a real browser: Debian chromium driven by playwright, over the shipped image model.

Screenshots go to test-artifacts/browser/. Needs `chromium` (the Makefile installs it).
"""
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytest.importorskip("gradio")
playwright = pytest.importorskip("playwright.sync_api")

from app.main import build_app  # noqa: E402
from serving import serve  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


COLOUR = "Emoji (colour)"


def _compare_root(tmp_path_factory) -> Path:
    """The shipped models folder when it holds the AR baseline; else one with the shipped image
    model beside an untrained tiny AR model on its tokens (the Compare view's mechanics)."""
    import resgen
    from tiny import tiny_ar
    assets = resgen.assets_dir()
    if (assets / "image-ar" / "ar.json").exists():
        return assets
    root = tmp_path_factory.mktemp("compare")
    (root / "image").symlink_to(assets / "image", target_is_directory=True)
    tiny_ar(root / "image-ar", assets / "image")
    return root


@pytest.fixture(scope="module")
def page(tiny_speech_dir, tiny_emoji_dir, tmp_path_factory):
    """All tabs run the shipped models with their shipped example voices (the speech tab falls
    back to a tiny synthetic model with one example voice where no speech model ships; the Compare
    tab to a tiny untrained AR model where no AR baseline ships; the Image tab's colour model to a tiny one where no
    emoji model ships)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (make test installs it: apt-get install chromium)")
    import numpy as np
    import soundfile as sf

    import resgen
    voice = tmp_path_factory.mktemp("voice") / "voice.wav"
    t = np.arange(2 * 22050) / 22050
    sf.write(voice, (0.2 * np.sin(2 * np.pi * 150 * t) * (1 + 0.3 * np.sin(6 * np.pi * t))).astype(np.float32), 22050)
    from app.image_models import image_models
    folders = image_models()                          # the shipped ones; a tiny colour model where none ships
    if COLOUR not in folders:
        folders[COLOUR] = tiny_emoji_dir
    if (resgen.assets_dir() / "speech" / "config.json").exists():
        from app.speech_tab import prompt_examples
        demo = build_app(compare_root=_compare_root(tmp_path_factory), image_folders=folders)
        voice_name = next(iter(prompt_examples(resgen.assets_dir() / "speech" / "prompts")))
    else:
        demo = build_app(load_speech=lambda backend: resgen.load("speech", backend=backend, model_dir=tiny_speech_dir),
                         speech_defaults={"steps": 4, "cfg": 2.0, "temperature": 1.0, "top_p": 1.0},
                         speech_examples={"Example voice": voice}, compare_root=_compare_root(tmp_path_factory),
                         image_folders=folders)
        voice_name = "Example voice"
    port = serve(demo)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        pg = browser.new_page(viewport={"width": 1280, "height": 1000})
        pg.set_default_timeout(180_000)   # generous: a loaded 2-core machine can take a minute per speech run
        pg.outside, pg.voice_name = [], voice_name
        pg.on("request", lambda r: urlparse(r.url).hostname not in ("127.0.0.1", None)
              and not r.url.startswith("data:") and pg.outside.append(r.url))
        pg.goto(f"http://127.0.0.1:{port}/", wait_until="load")
        pg.locator("#image-generate").wait_for(state="visible")
        yield pg
        browser.close()
    demo.close()


def _src(page, elem_id: str) -> str:
    img = page.locator(f"#{elem_id} img").first
    img.wait_for(state="visible")
    return img.get_attribute("src")


def _set_slider(page, elem_id: str, value: int):
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def _click_until(page, selector: str, done_js: str, tries: int = 3, each_ms: int = 60_000):
    """Click, then wait for `done_js`; click again if nothing came. Gradio drops a click on a button whose previous
    run is still finishing (trigger_mode "once"); on a slow CI machine that run's tail outlived a fixed pause
    (CI, 2026-12-05: the emoji Generate click was swallowed and the test waited 180 s for nothing)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    for attempt in range(tries):
        page.click(selector)
        try:
            page.wait_for_function(done_js, timeout=each_ms)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise


def _shot(page, name: str):
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_generate_scrub_steps_and_depths(page):
    _shot(page, "01-start.png")
    page.click("#image-generate")
    page.wait_for_function("document.querySelector('#image-info textarea')?.value.includes('images in')")
    assert page.locator("#image-gallery img").count() >= 8
    assert "seed 0" in page.locator("#image-info textarea").input_value()
    grid_last, preview_last = _src(page, "image-grid"), _src(page, "image-preview")
    _shot(page, "02-generated.png")

    assert page.locator("#image-sample input[type=range]").get_attribute("max") == "7"   # 8 images: index 0..7
    _set_slider(page, "image-step", 3)
    page.wait_for_function(f"document.querySelector('#image-grid img')?.src !== {grid_last!r}")
    assert _src(page, "image-preview") != preview_last
    page.wait_for_function("document.querySelector('#image-caption')?.innerText.includes('Step 3/')")
    assert "tokens revealed at" in page.locator("#image-caption").inner_text()
    _shot(page, "03-step-3.png")

    # the position inspector: click the cell at row 1, column 2 of the token grid
    img = page.locator("#image-grid img")
    nat_w, nat_h = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    box = img.bounding_box()
    x, y = 4 + 2 * 52 + 24, 4 + 1 * 52 + 20       # natural pixels of render.token_grid_2d (pitch 52 for D = 4, 8, 16)
    before = _src(page, "image-grid")
    img.click(position={"x": x * box["width"] / nat_w, "y": y * box["height"] / nat_h})
    page.wait_for_function("document.querySelector('#image-inspector')?.innerText.includes('(row 1, column 2)')")
    text = page.locator("#image-inspector").inner_text()
    assert "after step 3/" in text and "Mixture head" in text
    page.wait_for_function(f"document.querySelector('#image-grid img')?.src !== {before!r}")   # outlined
    assert page.locator("#image-life img").count() == 1 and page.locator("#image-pos-view img").count() == 1
    _shot(page, "03b-inspector.png")

    # the unrolled token map: every cell has a hover text, and a click selects its position
    cell = page.locator("#image-map rect[data-pos='19']").nth(2)                  # position 19, depth 3
    title = cell.locator("title").text_content()
    assert title.startswith("position 19 (row 2, column 3) · depth 3/") and "code" in title, title
    cell.hover()
    page.wait_for_function("document.querySelector('#image-map .tm-read')?.innerText.includes('position 19 (')")
    cell.click()
    page.wait_for_function("document.querySelector('#image-inspector')?.innerText.includes('(row 2, column 3)')")
    code = title.split("code ")[1].split(",")[0].split(" ")[0]
    row = [r for r in page.locator("#image-inspector tr").all_inner_texts() if r.split("\t")[0].strip() == "3"][0]
    assert code in row.split("\t"), (code, row)            # the map and the inspector read the same trace slot
    assert page.locator("#image-map rect.selected").count() == 1
    page.get_by_label("known depth").check()                                     # the waterline, sorted
    page.wait_for_function("document.querySelector('#image-map svg')?.textContent.includes('most known depths first')")
    _shot(page, "03c-token-map.png")
    page.get_by_text("How ResGEN samples").first.click()                     # the method panel, collapsed at first
    page.wait_for_function("document.querySelector('#image-method')?.innerText.includes('network calls')")
    method = page.locator("#image-method").inner_text()
    assert "N·D = 512 tokens" in method and "took 24 network calls" in method

    # the guided tour acts on the page: the step, a position, the depth ladder, the method panel
    tour = "document.querySelector('#image-tour')?.innerText"
    page.click("#image-tour-btn")
    page.wait_for_function(f"{tour}.includes('Tour 2/5')")
    page.wait_for_function("document.querySelector('#image-step input[type=number]')?.value === '1'")
    page.click("#image-tour-btn")
    page.wait_for_function(f"{tour}.includes('Tour 3/5')")
    page.wait_for_function("document.querySelector('#image-inspector')?.innerText.includes('position 36 (row 4, column 4)')")
    assert "in slow motion" in page.locator("#image-inspector").inner_text()
    page.click("#image-tour-btn")
    page.wait_for_function(f"{tour}.includes('Tour 4/5')")
    page.wait_for_function("document.querySelector('#image-depth input[type=number]')?.value === '1'")
    page.click("#image-tour-btn")
    page.wait_for_function(f"{tour}.includes('Tour 5/5')")
    page.wait_for_function("document.querySelector('#image-method')?.checkVisibility()")
    _shot(page, "03d-tour-end.png")

    ladder_all = _src(page, "image-ladder")
    _set_slider(page, "image-depth", 2)
    page.wait_for_function(f"document.querySelector('#image-ladder img')?.src !== {ladder_all!r}")
    _shot(page, "04-depth-2.png")
    assert page.outside == [], f"the page fetched from outside: {page.outside[:3]}"


def test_bad_input_shows_a_message(page):
    for box in page.locator("#image-classes input[type=checkbox]").all():
        if box.is_checked():
            box.uncheck()
    page.click("#image-generate")
    page.get_by_text("Pick at least one class").first.wait_for(state="visible")
    _shot(page, "05-bad-input.png")
    page.locator("#image-classes input[type=checkbox]").nth(0).check()    # and the app still works
    _set_slider(page, "image-n", 3)             # a count of its own, so the wait below sees this run's end
    _click_until(page, "#image-generate", "document.querySelector('#image-info textarea')?.value.startsWith('3 images in ')")


def test_model_switch_to_colour_emoji_and_back(page):
    """The Image tab's model picker: the emoji model's classes replace Fashion-MNIST's, it draws colour images,
    and the step and depth views follow it; switching back restores the grey model's classes."""
    page.get_by_role("tab", name="Image").click()
    # a run still streaming (the previous test's) would swallow the click on Generate (gradio's trigger_mode "once")
    page.wait_for_function("document.querySelector('#image-info textarea')?.value.includes(' images in ')")
    page.wait_for_timeout(500)
    page.locator("#image-model").get_by_label(COLOUR).check()
    page.locator("#image-classes").get_by_label("Animals & Nature").wait_for(state="visible")
    assert page.locator("#image-classes").get_by_label("Animals & Nature").is_checked()
    assert page.locator("#image-classes input[type=checkbox]").count() == 9
    _set_slider(page, "image-n", 4)
    _click_until(page, "#image-generate", "document.querySelector('#image-info textarea')?.value.includes('model Emoji')")
    thumb = page.locator("#image-gallery img").first
    page.wait_for_function("document.querySelector('#image-gallery img')?.naturalWidth === 128")  # 64x64 at 2x
    rgb = thumb.evaluate("""i => { const c = document.createElement('canvas'); c.width = i.naturalWidth;
        c.height = i.naturalHeight; const x = c.getContext('2d'); x.drawImage(i, 0, 0);
        const d = x.getImageData(0, 0, c.width, c.height).data; let s = 0;
        for (let k = 0; k < d.length; k += 4) s += Math.abs(d[k] - d[k + 1]) + Math.abs(d[k + 1] - d[k + 2]);
        return [i.naturalWidth, s]; }""")
    assert rgb[0] == 128 and rgb[1] > 0, rgb                      # and not grey
    grid = _src(page, "image-grid")
    _set_slider(page, "image-step", 2)
    page.wait_for_function(f"document.querySelector('#image-grid img')?.src !== {grid!r}")
    page.wait_for_function("document.querySelector('#image-caption')?.innerText.includes('Step 2/')")
    ladder = _src(page, "image-ladder")
    _set_slider(page, "image-depth", 1)
    page.wait_for_function(f"document.querySelector('#image-ladder img')?.src !== {ladder!r}")
    _shot(page, "05b-emoji.png")
    page.locator("#image-model").get_by_label("Fashion-MNIST (grey)").check()
    page.locator("#image-classes").get_by_label("Sneaker").wait_for(state="visible")
    assert page.locator("#image-classes input[type=checkbox]").count() == 10
    assert page.outside == [], f"the page fetched from outside: {page.outside[:3]}"


def _playable(page, elem_id: str):
    """Gradio's audio player: its source is the WAV behind the download link; fetch and check it."""
    page.wait_for_function(f"document.querySelector('#{elem_id} a[data-testid=download-link]')?.href")
    href = page.locator(f"#{elem_id} a[data-testid=download-link]").first.get_attribute("href")
    from playwright.sync_api import Error
    for attempt in range(3):       # the test client's connection was reset once (make test, 2026-11-27)
        try:
            resp = page.request.get(href)
            break
        except Error as e:
            if "ECONNRESET" not in str(e) or attempt == 2:
                raise
            page.wait_for_timeout(500)
    body = resp.body()
    assert resp.ok and body[:4] == b"RIFF" and body[8:12] == b"WAVE" and len(body) > 1000


def test_speech_tab_speaks_and_scrubs(page):
    page.get_by_role("tab", name="Speech").click()
    page.locator("#speech-generate").wait_for(state="visible")
    page.click("#speech-generate")                                   # no prompt yet: a message
    page.get_by_text("Give a voice prompt").first.wait_for(state="visible")
    page.locator("#speech-example input").click()
    page.get_by_role("option", name=page.voice_name).click()
    # the loaded prompt: its player and download link appear only once the value arrived (an empty waveform div is
    # there from the start, so waiting on it raced the click below on a slow machine)
    page.wait_for_function("document.querySelector('#speech-prompt audio') !== null && "
                           "!!document.querySelector('#speech-prompt a[data-testid=download-link]')?.getAttribute('href')")
    shipped = page.voice_name != "Example voice"          # a shipped example brings its transcript (the pace)
    if shipped:
        page.wait_for_function("document.querySelector('#speech-prompt-text textarea')?.value.length > 10")
    page.click("#speech-generate")
    page.wait_for_function("document.querySelector('#speech-info textarea')?.value.includes('real-time factor')")
    if shipped:
        assert "pace from its transcript" in page.locator("#speech-info textarea").input_value()
    _playable(page, "speech-audio")
    grid = _src(page, "speech-grid")
    _shot(page, "06-speech.png")
    _set_slider(page, "speech-step", 1)
    page.wait_for_function(f"document.querySelector('#speech-grid img')?.src !== {grid!r}")
    _playable(page, "speech-step-audio")
    _shot(page, "07-speech-step-1.png")
    img = page.locator("#speech-grid img")                          # inspect target position 5: click its column
    nat_w = img.evaluate("i => i.naturalWidth")
    box = img.bounding_box()
    before = _src(page, "speech-grid")
    img.click(position={"x": (5 * 6 + 3) * box["width"] / nat_w, "y": box["height"] / 2})
    page.wait_for_function("document.querySelector('#speech-inspector')?.innerText.includes('Target position 5 ')")
    assert "after step 1/" in page.locator("#speech-inspector").inner_text()
    page.wait_for_function(f"document.querySelector('#speech-grid img')?.src !== {before!r}")     # outlined
    _shot(page, "07b-speech-inspector.png")
    cell = page.locator("#speech-map rect[data-pos='3']").first                  # the token map: target position 3
    assert cell.locator("title").text_content().startswith("target position 3 (")
    cell.click()
    page.wait_for_function("document.querySelector('#speech-inspector')?.innerText.includes('Target position 3 ')")
    page.click("#speech-span-btn")                                   # the span around it, heard depth by depth
    _playable(page, "speech-span-audio")
    assert "decoded from depth 1 only" in page.locator("#speech-span-note").inner_text()
    page.click("#speech-play")                                       # the scrubber advances by itself
    page.wait_for_function("document.querySelector('#speech-step input[type=number]')?.value !== '1'")
    page.click("#speech-pause")


def test_compare_view_resgen_vs_ar_then_two_resgen_runs(page):
    page.get_by_role("tab", name="Compare").click()
    page.locator("#cmp-run").wait_for(state="visible")
    assert "Autoregressive" in page.locator("#cmp-b-model input").input_value()
    page.click("#cmp-run")
    page.wait_for_function("document.querySelector('#cmp-summary textarea')?.value.includes('took')")
    assert "network calls" in page.locator("#cmp-a-info textarea").input_value()
    assert "one token per call" in page.locator("#cmp-b-info textarea").input_value()
    grid = _src(page, "cmp-b-grid")
    _src(page, "cmp-plot")
    _shot(page, "08-compare-ar.png")
    _set_slider(page, "cmp-progress", 25)                            # a quarter of each run's calls
    page.wait_for_function(f"document.querySelector('#cmp-b-grid img')?.src !== {grid!r}")
    where = page.locator("#cmp-where textarea").input_value()
    import resgen
    from resgen.core.weights import read_json
    T = read_json(resgen.assets_dir() / "image" / "config.json")["sampler"]["steps"]
    assert f"step {T // 4}/{T}" in where and "position 16/64" in where, where  # T: the shipped default steps
    _shot(page, "09-compare-ar-25.png")

    page.get_by_label("Two ResGEN runs").check()                     # second mode: two seeds
    page.wait_for_function("document.querySelector('#cmp-b-model input')?.value.startsWith('ResGEN')")
    page.click("#cmp-run")
    page.wait_for_function("document.querySelector('#cmp-b-info textarea')?.value.includes('seed 1')")
    assert "seed 0" in page.locator("#cmp-a-info textarea").input_value()
    _shot(page, "10-compare-two-resgen.png")
    assert page.outside == [], f"the page fetched from outside: {page.outside[:3]}"


def test_compact_layout_at_1366x768(page):
    """On a 1366x768 laptop screen each tab's controls, its run button and its main result start above the fold,
    and nothing makes the page scroll sideways. Screenshots of the first screen go to the artifacts."""
    page.set_viewport_size({"width": 1366, "height": 768})
    for tab, button, result in (("Image", "image-generate", "image-gallery"), ("Speech", "speech-generate", "speech-audio"),
                                ("Compare", "cmp-run", "cmp-a-images")):
        page.get_by_role("tab", name=tab).click()
        page.locator(f"#{button}").wait_for(state="visible")
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(300)
        b, r = page.locator(f"#{button}").bounding_box(), page.locator(f"#{result}").bounding_box()
        assert b["y"] + b["height"] <= 768, f"{tab}: the {button} button ends at y={b['y'] + b['height']:.0f}"
        assert r["y"] + 100 <= 768, f"{tab}: the result {result} starts at y={r['y']:.0f}"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, f"{tab}: the page is {width} px wide at 1366"
        page.screenshot(path=str(ARTIFACTS / f"11-{tab.lower()}-1366x768.png"))
    page.set_viewport_size({"width": 1280, "height": 1000})
