"""`python -m devices.main`: run the devices service."""

from linkduty_shared.api.serving import serve

from devices.bootstrap import build_app
from devices.config import DevicesSettings


def main() -> None:
    settings = DevicesSettings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
