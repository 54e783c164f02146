# syntax=docker/dockerfile:1
# One image for every LinkDuty service; the Deployment picks the service by its command:
#   python -m alarms.main | python -m units.main | python -m hazards.main | python -m gateway.main | python -m linkage.main
# Build from the repository root: docker build -t linkduty:<tag> .

FROM python:3.11-slim AS build
# uv pinned to the version the project's scripts use (.state/tools/bin/uv --version).
RUN pip install --no-cache-dir uv==0.13.8
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Third-party dependencies first, from the lock only: this layer is reused while only sources change.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/pyproject.toml
COPY services/alarms/pyproject.toml services/alarms/pyproject.toml
COPY services/units/pyproject.toml services/units/pyproject.toml
COPY services/hazards/pyproject.toml services/hazards/pyproject.toml
COPY services/gateway/pyproject.toml services/gateway/pyproject.toml
COPY services/linkage/pyproject.toml services/linkage/pyproject.toml
RUN uv sync --frozen --no-dev --no-install-workspace

# Then the workspace members (shared/ and services/*), installed as real wheels (not editable),
# so the runtime stage needs the virtualenv only.
COPY shared/ shared/
COPY services/ services/
RUN uv sync --frozen --no-dev --no-editable


FROM python:3.11-slim
RUN groupadd --gid 10001 linkduty \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin linkduty
# Where a service writes besides /tmp, owned by its user: a named volume mounted there
# (docker-compose.yml: auth) starts with this owner. k8s mounts emptyDirs there instead.
RUN install -d -o 10001 -g 10001 /var/lib/linkduty /var/lib/linkduty/auth /var/lib/linkduty/linkage
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER 10001:10001
# No default service: each Deployment sets its command.
CMD ["python", "-c", "print('choose a service: python -m alarms.main | units.main | hazards.main | gateway.main | linkage.main')"]
