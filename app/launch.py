"""Start the gradio server, patient with a busy machine.

gradio refuses to start when one 3-second request to its own URL times out ("When localhost is not accessible, a
shareable link must be created..."); a laptop busy with other work can cause that. The failed start is closed and
tried again on the same port; the last failure is one line, not a traceback.
"""
from __future__ import annotations

NOT_REACHED = "localhost is not accessible"


def launch(demo, host: str, port: int, share: bool = False, tries: int = 3, quiet: bool = False) -> None:
    """demo.launch(...) without blocking; retried up to `tries` times when gradio could not reach itself.
    Raises SystemExit with one line when every try failed (the port is free again then)."""
    for attempt in range(1, tries + 1):
        try:
            demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=True, quiet=quiet)
            return
        except ValueError as e:
            if NOT_REACHED not in str(e):
                raise
            demo.close()
    raise SystemExit(f"the app started but could not reach itself at http://{host}:{port}/ in {tries} tries (a busy "
                     "machine, or a proxy in the way of localhost: try again, or set NO_PROXY=localhost,127.0.0.1)")
