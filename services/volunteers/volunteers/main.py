"""`python -m volunteers.main`: run the volunteers service."""

from linkduty_shared.api.serving import serve

from volunteers.bootstrap import build_app
from volunteers.config import VolunteersSettings


def main() -> None:
    settings = VolunteersSettings()
    serve(build_app(settings), settings)


if __name__ == "__main__":
    main()
