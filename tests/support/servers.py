"""WSGI apps served over real HTTP from threads, on free loopback ports."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def buffered(app: Callable[..., Any]) -> Callable[..., Any]:
    """Reads each response whole and closes it before sending, so a browser that drops a
    connection mid-response (as Chromium does with a favicon) leaves no file open behind it
    for the garbage collector to warn about in whichever test runs next."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    return serve


class ThreadedServer:
    """Serves ``app`` on 127.0.0.1:``port`` until ``stop``; over TLS with ``ssl_context``."""

    def __init__(
        self, app: Callable[..., Any], port: int, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.port = port
        self.url = f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, buffered(app), threaded=True, ssl_context=ssl_context
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> ThreadedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class Tamperable:
    """A WSGI middleware a test can switch on to alter the provider's answers, as an attacker
    or a broken provider would; it passes everything through unchanged otherwise."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.rewrite: dict[str, Callable[[bytes], bytes]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        rewrite = self.rewrite.get(environ.get("PATH_INFO", ""))
        if rewrite is None:
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        body = rewrite(body)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(captured["status"], headers)
        return [body]
