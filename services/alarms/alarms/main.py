"""`linkduty-alarms` / `python -m alarms.main`: run the alarms service."""

import logging

import uvicorn

from alarms.bootstrap import build_app
from alarms.config import AlarmsSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = AlarmsSettings()
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
