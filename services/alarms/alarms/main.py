"""`linkduty-alarms` / `python -m alarms.main`: run the alarms service."""

from linkduty_shared.api.serving import serve

from alarms.bootstrap import build_app
from alarms.config import AlarmsSettings


def main() -> None:
    settings = AlarmsSettings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
