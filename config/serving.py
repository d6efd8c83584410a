"""The web process's gunicorn worker: threads, and request heads buffered off-thread.

gunicorn's `gthread` worker hands a connection to a thread as soon as its first byte arrives,
and the thread then blocks reading the rest: 20 clients sending their headers a byte at a
time (slowloris) held every thread, and nobody else got an answer for 26 s (docs/reliability.md). This
worker reads each request head in its event loop, without blocking, and only hands a
connection to a thread once the whole head is there, so a slow client costs a socket and a
buffer, never a thread:

- a head must arrive within SLOW_CLIENT_HEAD_SECONDS (else the connection is closed) and be
  at most MAX_HEAD_BYTES (gunicorn's own limits then answer it with a 400/431);
- once on a thread, every socket read or write (a slowly sent body, a client that reads its
  answer slowly) times out after SLOW_CLIENT_IO_SECONDS.

SIGTERM (every deploy and restart) drops nothing that reached the process: the worker takes
every connection already waiting in the listen queue, stops listening, answers everything it
holds with `Connection: close`, and exits when done (or after gunicorn's graceful_timeout).
Stock gthread stopped its event loop at once and reset whatever was queued or not yet read.

Used by gunicorn.conf.py; docs/reliability.md ("Serving safely").
"""

from __future__ import annotations

import contextlib
import os
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

SLOW_CLIENT_HEAD_SECONDS = float(os.environ.get("SLOW_CLIENT_HEAD_SECONDS") or 10)
SLOW_CLIENT_IO_SECONDS = float(os.environ.get("SLOW_CLIENT_IO_SECONDS") or 15)
# gunicorn's limit_request_line (4094) + limit_request_fields (100) x limit_request_field_size
# (8190) is far more; a real head is under 8 KiB, and past this the parser refuses it anyway.
MAX_HEAD_BYTES = 64 * 1024
_HEAD_END = b"\r\n\r\n"


class BufferedHeadThreadWorker(ThreadWorker):
    """gthread, except that a connection reaches a thread only with a complete request head."""

    def on_client_socket_readable(self, conn, client):
        if self.cfg.is_ssl:  # TLS bytes are no HTTP head; TLS ends at the router anyway
            return super().on_client_socket_readable(conn, client)
        if not self._read_head(conn):
            return  # still registered: the event loop calls again when more bytes arrive
        with self._lock:
            self._unregister(conn)
            self._forget_slow(conn)
            if conn.initialized:
                self._drop_keepalive(conn)
        self.enqueue_req(conn)

    def enqueue_req(self, conn):
        conn.init()
        head = getattr(conn, "head", b"")
        conn.head = b""
        if head:
            # The parser reads these bytes first, then the socket (pipelined data stays in order).
            conn.parser.unreader.unread(head)
        conn.sock.settimeout(SLOW_CLIENT_IO_SECONDS)
        future = self.tpool.submit(self.handle, conn)
        self._wrap_future(future, conn)

    def murder_keepalived(self):
        super().murder_keepalived()
        now = time.monotonic()
        for conn in [c for c in self._slow if c.head_deadline <= now]:
            with self._lock:
                self._forget_slow(conn)
                self._unregister(conn)
            self.nr_conns -= 1
            conn.close()

    # --- graceful stop ----------------------------------------------------------------------

    def handle_exit(self, sig, frame):
        # Not `alive = False` yet: that would end the event loop with connections still in it.
        if not getattr(self, "stopping", False):
            self.stopping = True
            self.stop_deadline = time.monotonic() + self.cfg.graceful_timeout
            self.cfg.set("keepalive", 0)  # every answer from now on says Connection: close

    def is_parent_alive(self):
        """Called once per event-loop turn: while stopping, also drain and decide when to end."""
        if getattr(self, "stopping", False):
            if not getattr(self, "stopped_listening", False):
                self._take_queued_connections()
            self._close_idle_keepalive()
            if self.nr_conns <= 0 or time.monotonic() > self.stop_deadline:
                self.alive = False
                return False
        return super().is_parent_alive()

    def _take_queued_connections(self) -> None:
        """Accept everything already in the listen queue, then stop listening."""
        for listener in self.sockets:
            server = listener.getsockname()
            while True:
                try:
                    sock, client = listener.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                conn = TConn(self.cfg, sock, client, server)
                self.nr_conns += 1
                with self._lock:
                    self.poller.register(
                        conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn)
                    )
            with self._lock, contextlib.suppress(KeyError, ValueError):
                self.poller.unregister(listener)
            listener.close()
        self.stopped_listening = True

    def _close_idle_keepalive(self) -> None:
        while True:
            with self._lock:
                try:
                    conn = self._keep.popleft()
                except IndexError:
                    return
                self._unregister(conn)
            self.nr_conns -= 1
            conn.close()

    # --- helpers ---------------------------------------------------------------------------

    @property
    def _slow(self) -> set:
        if not hasattr(self, "_slow_conns"):
            self._slow_conns = set()
        return self._slow_conns

    def _read_head(self, conn) -> bool:
        """Read what the socket has (it is non-blocking here); True once the head is complete."""
        try:
            chunk = conn.sock.recv(MAX_HEAD_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if not chunk:  # the client went away before finishing its head
            with self._lock:
                self._forget_slow(conn)
                self._unregister(conn)
                if conn.initialized:
                    self._drop_keepalive(conn)
            self.nr_conns -= 1
            conn.close()
            return False
        conn.head = getattr(conn, "head", b"") + chunk
        if _HEAD_END in conn.head or len(conn.head) >= MAX_HEAD_BYTES:
            return True
        if conn not in self._slow:
            conn.head_deadline = time.monotonic() + SLOW_CLIENT_HEAD_SECONDS
            with self._lock:
                self._slow.add(conn)
                if conn.initialized:
                    self._drop_keepalive(conn)  # now timed by the head deadline instead
        return False

    def _forget_slow(self, conn) -> None:
        self._slow.discard(conn)

    def _drop_keepalive(self, conn) -> None:
        with contextlib.suppress(ValueError):
            self._keep.remove(conn)

    def _unregister(self, conn) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
