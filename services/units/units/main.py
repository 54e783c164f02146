"""`python -m units.main`: run the units service."""

from linkduty_shared.api.serving import serve

from units.bootstrap import build_app
from units.config import UnitsSettings


def main() -> None:
    settings = UnitsSettings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
