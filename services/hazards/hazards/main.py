"""`python -m hazards.main`: run the hazards service."""

from linkduty_shared.api.serving import serve

from hazards.bootstrap import build_app
from hazards.config import HazardsSettings


def main() -> None:
    settings = HazardsSettings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
