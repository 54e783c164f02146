"""`linkduty-gateway` / `python -m gateway.main`: run the console gateway."""

import logging

import uvicorn

from gateway.bootstrap import build_app
from gateway.config import GatewaySettings
from gateway.server import listening_socket


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = GatewaySettings()
    # Open streams never end by themselves: on shutdown they get `shutdown_grace_s`, then are
    # cut, and the consoles reconnect (to another replica) with Last-Event-ID.
    config = uvicorn.Config(build_app(settings), host=settings.host, port=settings.port, log_level="warning",
                            timeout_graceful_shutdown=settings.shutdown_grace_s)
    sock = listening_socket(settings.host, settings.port, unacked_timeout_s=settings.unacked_timeout_s)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
