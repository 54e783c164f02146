"""`linkduty-linkage worker` / `python -m linkage.main worker`: run the linkage Faust worker."""

from __future__ import annotations

import sys
from pathlib import Path

from linkduty_shared.jurisdictions import Directory, load_demo_city

from linkage.app import create_app
from linkage.config import LinkageSettings
from linkage.routing import DEFAULT_RULES, RoutingConfig


def build() -> object:
    settings = LinkageSettings()
    directory = Directory.load(settings.directory_path) if settings.directory_path else load_demo_city()
    directory.neighbours(directory.city.code)  # builds the adjacency index now, not on the first major fire
    routing = RoutingConfig.load(Path(settings.routing_rules_path) if settings.routing_rules_path else DEFAULT_RULES)
    return create_app(settings, directory, routing)


def main() -> None:
    app = build()
    if len(sys.argv) == 1:
        sys.argv.append("worker")
    if "worker" in sys.argv:
        if not any(a in ("-l", "--loglevel") or a.startswith("--loglevel=") for a in sys.argv):
            sys.argv += ["--loglevel", "warn"]
        # Faust's web server binds 0.0.0.0 by default; LinkDuty needs none of it (no HTTP API here).
        sys.argv.append("--without-web")
    app.main()


if __name__ == "__main__":
    main()
