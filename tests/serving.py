"""Launch a gradio app on a free local port (shared by the app and browser tests), through the app's own patient
launcher (app/launch.py: a start whose self-check timed out on a loaded machine is tried again)."""
import socket

from app.launch import launch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(demo) -> int:
    """Launch `demo` on 127.0.0.1 at a free port -> the port."""
    port = free_port()
    launch(demo, "127.0.0.1", port, quiet=True)
    return port
