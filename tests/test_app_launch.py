"""app/launch.py: a start that cannot reach itself is tried again, and the last failure is one line."""
import socket

import pytest

gr = pytest.importorskip("gradio")
httpx = pytest.importorskip("httpx")

from app.launch import launch  # noqa: E402
from serving import free_port  # noqa: E402


def _demo():
    with gr.Blocks() as demo:
        gr.Markdown("hello")
    return demo


def _unreachable(times: int, calls: list):
    """A stand-in for gradio's self-check that fails `times` times (what a loaded machine does), then asks for real."""
    real = gr.networking.url_ok

    def url_ok(url):
        calls.append(url)
        return False if len(calls) <= times else real(url)
    return url_ok


def test_a_start_that_could_not_reach_itself_is_tried_again(monkeypatch):
    calls = []
    monkeypatch.setattr(gr.networking, "url_ok", _unreachable(1, calls))
    demo, port = _demo(), free_port()
    try:
        launch(demo, "127.0.0.1", port, quiet=True)
        assert len(calls) == 2
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200
    finally:
        demo.close()


def test_every_try_failing_is_one_line_and_frees_the_port(monkeypatch):
    calls = []
    monkeypatch.setattr(gr.networking, "url_ok", _unreachable(99, calls))
    demo, port = _demo(), free_port()
    with pytest.raises(SystemExit) as e:
        launch(demo, "127.0.0.1", port, tries=2, quiet=True)
    assert len(calls) == 2 and "could not reach itself" in str(e.value) and "\n" not in str(e.value)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))                           # nothing left listening
