"""How long the visualiser takes to redraw when the step changes, with the shipped models on this machine.

    python benchmarks/render.py [--repeats 3] [--steps 16] [--threads 0] [--no-api] [--no-browser]

Moving the step scrubber (or pressing Play) runs three of the app's own handlers: the views (token grid,
decoded preview, schedule, caption; on the Speech tab also the mel and audio of the revealed tokens), the
position inspector (table, slow motion, life strip, patches decoded at depths 1..D) and the token map (SVG with
a hover text per slot). This script builds the real app (app.main.build_app, shipped weights), makes one run
per tab with the defaults, then calls those handlers for every step of the run, as the page does, and times
each; the Image tab is also timed through the HTTP API (/image_step + /image_inspect, gradio_client), which adds
the PNG encoding and the transport, and in Debian chromium (playwright) from a changed step box until every view shows the
new step, which is what a user waits for. The budget: under 0.3 s for one step change on a laptop CPU.
"""
from __future__ import annotations

import argparse
import platform
import socket
import statistics
import time

import torch

import gradio as gr


def handlers(demo, tab: str) -> dict:
    """The app's handler functions of one tab (build_image_tab / build_speech_tab), by name, and those they call
    (a step change runs show/show_step, inspect and show_map inside one step_views event)."""
    out = {}
    for block_fn in demo.fns.values():
        fn = getattr(block_fn, "fn", None)
        if fn is not None and f"build_{tab}_tab.<locals>." in getattr(fn, "__qualname__", ""):
            out.setdefault(fn.__name__, fn)
            for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
                inner = cell.cell_contents
                if callable(inner) and f"build_{tab}_tab.<locals>." in getattr(inner, "__qualname__", ""):
                    out.setdefault(name, inner)
    return out


def last(gen):
    out = None
    for out in gen:
        pass
    return out


def stats(ts: list[float]) -> str:
    ts = sorted(ts)
    p90 = ts[min(len(ts) - 1, int(round(0.9 * (len(ts) - 1))))]
    return f"{statistics.median(ts) * 1000:7.0f} {p90 * 1000:7.0f} {ts[-1] * 1000:7.0f}"


def time_steps(calls: dict, T: int, repeats: int) -> dict[str, list[float]]:
    """calls: name -> f(step); every step 1..T, `repeats` times; also the sum of the three per step change."""
    times = {name: [] for name in calls} | {"one step change (sum)": []}
    for name, f in calls.items():                                    # warm-up
        f(1)
    for _ in range(repeats):
        for t in range(1, T + 1):
            total = 0.0
            for name, f in calls.items():
                t0 = time.perf_counter()
                f(t)
                dt = time.perf_counter() - t0
                times[name].append(dt)
                total += dt
            times["one step change (sum)"].append(total)
    return times


def image_rows(demo, args) -> tuple[list[tuple], dict]:
    h = handlers(demo, "image")
    classes = ["Sneaker"]
    out = last(h["generate"](classes, 8, args.steps, 3.0, 1.0, 0.9, 0, False, "auto"))
    arrays = out[2]
    T = arrays["codes"].shape[0]
    sel = arrays["codes"].shape[2] // 2
    calls = {"views (grid, preview, ladder, schedule, caption)": lambda t: h["show"](arrays, t, 0, 0, sel),
             "inspector (table, slow motion, strip, patches)": lambda t: h["inspect"](arrays, t, 0, sel),
             "token map (SVG, hover texts)": lambda t: h["show_map"](arrays, t, 0, sel, "position")}
    return [("image", k, v) for k, v in time_steps(calls, T, args.repeats).items()], arrays["meta"]


def speech_rows(demo, args) -> tuple[list[tuple], dict]:
    from resgen import assets_dir
    h = handlers(demo, "speech")
    prompt = sorted((assets_dir() / "speech" / "prompts").glob("*.wav"))[0]
    text = "The early bird gets the worm, but the second mouse gets the cheese."
    out = last(h["generate"](text, str(prompt), 1.0, args.steps, 2.0, 0, False, "griffin-lim", "en-us", "auto"))
    arrays = out[3]
    T = arrays["codes"].shape[0]
    sel = (arrays["codes"].shape[2] - arrays["meta"]["prompt_positions"]) // 2
    calls = {"views (grid, mel + audio of revealed, schedule, caption)": lambda t: h["show_step"](arrays, t, sel),
             "inspector (table, slow motion, strip, mels)": lambda t: h["inspect"](arrays, t, sel),
             "token map (SVG, hover texts)": lambda t: h["show_map"](arrays, t, sel, "position")}
    return [("speech", k, v) for k, v in time_steps(calls, T, args.repeats).items()], arrays["meta"]


def api_rows(demo, args) -> list[tuple]:
    """/image_step + /image_inspect through the HTTP API: handlers + PNG encoding + transport."""
    from gradio_client import Client
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        c = Client(f"http://127.0.0.1:{port}/", verbose=False)
        c.predict(["Sneaker"], 8, args.steps, 3.0, 1.0, 0.9, 0, False, "auto", api_name="/generate_image")
        ts = []
        for r in range(args.repeats + 1):
            for t in range(1, args.steps + 1):
                t0 = time.perf_counter()
                c.predict(t, 0, 0, api_name="/image_step")
                c.predict(t, 0, api_name="/image_inspect")
                if r:                                                    # the first pass warms up
                    ts.append(time.perf_counter() - t0)
    finally:
        demo.close()
    return [("image", "HTTP: /image_step + /image_inspect (views + inspector)", ts)]


BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def browser_rows(demo, args) -> list[tuple]:
    """What a user waits for: in Debian chromium (playwright), the Image tab's step box set to t, until the grid,
    preview and schedule show new pictures, the caption says step t and the inspector says 'after step t/'."""
    from playwright.sync_api import sync_playwright
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    src = "document.querySelector('#image-{} img')?.src"
    ts = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            page.fill("#image-steps input[type=number]", str(args.steps))
            page.press("#image-steps input[type=number]", "Enter")
            page.click("#image-generate")
            page.wait_for_function("document.querySelector('#image-caption')?.innerText.includes('Step ')")
            page.locator("#image-grid").scroll_into_view_if_needed()
            page.locator("#image-grid img").first.click(position={"x": 20, "y": 20})          # select a position
            page.wait_for_function("document.querySelector('#image-inspector')?.innerText.includes('after step')")
            box = page.locator("#image-step input[type=number]")
            for r in range(args.repeats + 1):
                for t in range(1, args.steps + 1):
                    if t == int(box.input_value()):
                        continue
                    before = page.evaluate(f"[{src.format('grid')}, {src.format('preview')}, {src.format('schedule')}]")
                    t0 = time.perf_counter()
                    box.fill(str(t))
                    box.press("Enter")
                    page.wait_for_function(
                        "([b, t]) => [" + ", ".join(src.format(k) for k in ("grid", "preview", "schedule")) + "]"
                        ".every((s, i) => s && s !== b[i]) && "
                        "document.querySelector('#image-caption')?.innerText.startsWith(`Step ${t}/`) && "
                        "document.querySelector('#image-inspector')?.innerText.includes(`after step ${t}/`)",
                        arg=[before, t], polling=5)
                    if r:                                                    # the first pass warms up
                        ts.append(time.perf_counter() - t0)
            browser.close()
    finally:
        demo.close()
    return [("image", "browser: step box to new grid, preview, schedule, caption, inspector", ts)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="passes over all steps of the run")
    ap.add_argument("--steps", type=int, default=16, help="sampling steps of the run (the app's default: 16)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--no-api", action="store_true", help="skip the HTTP round trips")
    ap.add_argument("--no-browser", action="store_true", help="skip the timing in chromium")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from app.main import build_app
    demo = build_app()
    rows, meta = image_rows(demo, args)
    try:
        srows, smeta = speech_rows(demo, args)
    except FileNotFoundError as e:                                       # no speech model installed
        srows, smeta = [], {}
        print(f"(no speech rows: {e})")
    rows += srows
    if not args.no_api:
        rows += api_rows(demo, args)
    if not args.no_browser:
        rows += browser_rows(build_app(), args)
    print(f"# Visualiser redraw per step change: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}, gradio {gr.__version__}, "
          f"python {platform.python_version()}")
    print(f"# image run: 8 images, T={meta['steps']}, backend {meta['backend']}, grid {meta['grid']}, "
          f"D={meta['depth']}" + (f"; speech run: T={smeta['steps']}, {smeta.get('prompt_positions')} prompt "
                                  f"positions" if smeta else "") + f"; {args.repeats} passes over every step")
    print(f"| tab | what | median ms | p90 ms | max ms | n |\n|---|---|---:|---:|---:|---:|")
    for tab, name, ts in rows:
        med, p90, mx = stats(ts).split()
        print(f"| {tab} | {name} | {med} | {p90} | {mx} | {len(ts)} |")


if __name__ == "__main__":
    main()
