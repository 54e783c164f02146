"""`python -m units.main`: run the units service."""

import logging

import uvicorn

from units.bootstrap import build_app
from units.config import UnitsSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = UnitsSettings()
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
