"""Raw WSGI calls: the exact status line, header list and body bytes the app produces."""

from __future__ import annotations

import io
from contextlib import contextmanager

from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@contextmanager
def attached_connection():
    """Calling the WSGI app directly fires request_finished, whose close_old_connections would
    close the test's connection (and its transaction); Django's test client detaches it too."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def raw_call(method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    """One request through config.wsgi.application; returns status, headers and body as bytes.
    `path` may carry a query string (`/x/?format=csv`)."""
    from config.wsgi import application

    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
    # A fixed request id (answered in X-Request-ID), so two calls' bytes can be compared.
    for name, value in {"X-Request-ID": "raw-call", **(headers or {})}.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    captured: list = []

    def start_response(status, response_headers, exc_info=None):
        captured.extend([status, response_headers])

    with attached_connection():
        chunks = application(environ, start_response)
        try:
            payload = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
    status, response_headers = captured
    head = "\r\n".join([status, *(f"{k}: {v}" for k, v in response_headers)])
    return head.encode("latin-1") + b"\r\n\r\n" + payload
