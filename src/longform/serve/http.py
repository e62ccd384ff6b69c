"""The HTTP server under the app: uvicorn on a socket we bound, with idle connections closed.

uvicorn closes a keep-alive connection that is idle after a response, but a connection that
never sends a request stays open for ever; a thousand of them made the server stop answering.
Here such a connection gets the same `timeout_keep_alive` from the moment it is accepted.
"""

from __future__ import annotations

import resource
import socket

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

IDLE_SECONDS = 5


class IdleClosingH11(H11Protocol):
    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        # cancelled by uvicorn as soon as the first bytes arrive (data_received)
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)


def raise_open_files_limit() -> int:
    """The soft limit on open files raised to the hard one: each connection is a file."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = 65536 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def serve(app, sock: socket.socket) -> None:
    raise_open_files_limit()
    config = uvicorn.Config(app, log_level="warning", http=IdleClosingH11, timeout_keep_alive=IDLE_SECONDS)
    uvicorn.Server(config).run(sockets=[sock])
