from __future__ import annotations

from starlette.requests import HTTPConnection

from gateway.state import GatewayState


def gateway_state(connection: HTTPConnection) -> GatewayState:
    return connection.app.state.gateway
