"""Running a service's HTTP app: `serve(build_app(settings), settings)` is every `main.py`.

The listening socket limits how long a peer may leave our data unread. A console that reads
nothing at all still holds its connection: the server's last bytes sit unsent, and the kernel
keeps a socket whose peer advertises a zero window for as long as the peer answers probes.
TCP_USER_TIMEOUT aborts a connection whose sent data stays unacknowledged that long (zero-window
probes included), and accepted sockets inherit it from the listening one.
"""

from __future__ import annotations

import logging
import socket

import uvicorn
from fastapi import FastAPI

from linkduty_shared.config import HttpServiceSettings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def listening_socket(host: str, port: int, *, unacked_timeout_s: float) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "TCP_USER_TIMEOUT"):  # Linux
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(unacked_timeout_s * 1000))
    sock.bind(address)
    return sock


def serve(app: FastAPI, settings: HttpServiceSettings) -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                            timeout_graceful_shutdown=settings.shutdown_grace_s)
    sock = listening_socket(settings.host, settings.port, unacked_timeout_s=settings.unacked_timeout_s)
    uvicorn.Server(config).run(sockets=[sock])
