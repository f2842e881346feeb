"""Run the emulator app under uvicorn in a background thread, on a real 127.0.0.1 port."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

__all__ = ["EmulatorServer"]

_START_TIMEOUT_S = 10.0


class EmulatorServer:
    """Context manager around uvicorn; ``port=0`` picks a free port, read the result from ``url``.

    With ``ssl_certfile`` and ``ssl_keyfile`` (PEM) it serves HTTPS and ``url`` starts with https://.
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
    ) -> None:
        if (ssl_certfile is None) != (ssl_keyfile is None):
            raise ValueError("pass both ssl_certfile and ssl_keyfile, or neither")
        self._ssl = {"ssl_certfile": ssl_certfile, "ssl_keyfile": ssl_keyfile} if ssl_certfile else {}
        self._app = app
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.url = ""

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("EmulatorServer is already running")
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # Binding here, not inside uvicorn, so the chosen port is known before the thread starts.
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        port = sock.getsockname()[1]
        # No websockets and no lifespan: nothing here needs them and their imports warn on some versions.
        # A bounded graceful shutdown: a client that keeps a connection open must not hold stop().
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
            **self._ssl,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fc-emulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the emulator did not start on {self._host}:{port}")
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock
        host = f"[{self._host}]" if family == socket.AF_INET6 else self._host
        self.url = f"{'https' if self._ssl else 'http'}://{host}:{port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
