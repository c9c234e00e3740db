"""Tiny HTTP servers on loopback that misbehave at the wire the way real ones do."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def http_server(status: int, body: bytes, content_type: str, delay_s: float = 0.0) -> Iterator[str]:
    """Serve every POST with STATUS and BODY after DELAY_S; yield the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            time.sleep(delay_s)
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


class ChatReplayServer:
    """An OpenAI-compatible /v1/chat/completions that answers with recorded raw model replies."""

    def __init__(
        self,
        replies: list[str] | Callable[[list[dict[str, str]]], str],
        delay_s: float = 0.0,
        errors: Sequence[int] = (),
        retry_after_s: float | None = None,
        port: int = 0,
    ) -> None:
        """REPLIES: raw replies served in turn, or a function of the request's messages.

        ERRORS: HTTP statuses the first requests are answered with instead (with a Retry-After
        of RETRY_AFTER_S where given); `requests` counts every request, `errors` the ones left.
        PORT: where to listen (0: any free port; a restarted server can take its old one)."""
        import json

        self.replies = replies
        self.requests = 0
        self.errors = list(errors)
        self.answered = 0
        self.in_flight = self.most_in_flight = 0  # requests being answered at once
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer._lock:
                    outer.requests += 1
                    status = outer.errors.pop(0) if outer.errors else 200
                if status != 200:
                    self._send(status, b'{"error": {"message": "try again later"}}')
                    return
                with outer._lock:
                    outer.answered += 1
                    if callable(outer.replies):
                        text = outer.replies(json.loads(request)["messages"])
                    else:
                        text = outer.replies[(outer.answered - 1) % len(outer.replies)]
                with outer._lock:
                    outer.in_flight += 1
                    outer.most_in_flight = max(outer.most_in_flight, outer.in_flight)
                time.sleep(delay_s)
                with outer._lock:
                    outer.in_flight -= 1
                body = json.dumps(
                    {
                        "id": "chatcmpl-replay",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "replay",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": 100,
                            "completion_tokens": 50,
                            "total_tokens": 150,
                        },
                    }
                ).encode()
                self._send(200, body)

            def _send(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    if status != 200 and retry_after_s is not None:
                        self.send_header("Retry-After", f"{retry_after_s:g}")
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
