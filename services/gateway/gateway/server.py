"""The gateway's listening socket, with a limit on how long a peer may leave our data unread.

An overflowed stream ends (fanout.py), but a console that reads nothing at all still holds the
connection: the server's last bytes sit unsent, and the kernel keeps a socket whose peer
advertises a zero window for as long as the peer answers probes. TCP_USER_TIMEOUT aborts a
connection whose sent data stays unacknowledged that long (zero-window probes included), and
accepted sockets inherit it from the listening one.
"""

from __future__ import annotations

import socket


def listening_socket(host: str, port: int, *, unacked_timeout_s: float) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "TCP_USER_TIMEOUT"):  # Linux
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(unacked_timeout_s * 1000))
    sock.bind(address)
    return sock
