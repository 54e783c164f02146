"""`linkduty-gateway` / `python -m gateway.main`: run the console gateway."""

from linkduty_shared.api.serving import serve

from gateway.bootstrap import build_app
from gateway.config import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
