"""Launch a gradio app on a free local port, robust to a loaded machine (shared by the app and browser tests)."""
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(demo, tries: int = 3) -> int:
    """Launch `demo` on 127.0.0.1 at a free port -> the port. Gradio checks that it can reach its own URL with one
    3-second request; on a loaded 2-core machine that check can time out ("localhost is not accessible"), so a
    failed start is closed and tried again on a new port."""
    for attempt in range(tries):
        port = free_port()
        try:
            demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
            return port
        except ValueError as e:
            if "localhost is not accessible" not in str(e) or attempt == tries - 1:
                raise
            demo.close()
    raise AssertionError("unreachable")
