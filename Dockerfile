# syntax=docker/dockerfile:1.7
# One image per service, each its own target:
#   docker build --target contacts -t crm-contacts .
# Each image holds only its service's package and dependencies (installed from uv.lock, never
# newer; built where it runs, /app/.venv, so its scripts find their interpreter), runs as an
# unprivileged user, starts in exec form (the process gets SIGTERM and
# drains), and carries no secret: every key comes from the environment at run time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS source
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY shared/ shared/
COPY tools/ tools/
COPY services/ services/

FROM source AS build-contacts
RUN uv sync --frozen --no-dev --no-editable --package crm-contacts

FROM source AS build-sales
RUN uv sync --frozen --no-dev --no-editable --package crm-sales

FROM source AS build-support
RUN uv sync --frozen --no-dev --no-editable --package crm-support

FROM source AS build-analytics
RUN uv sync --frozen --no-dev --no-editable --package crm-analytics

FROM source AS build-gateway
RUN uv sync --frozen --no-dev --no-editable --package crm-gateway

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 crm \
    && useradd --system --uid 10001 --gid crm --no-create-home --shell /usr/sbin/nologin crm
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001

FROM runtime AS contacts
COPY --from=build-contacts /app/.venv /app/.venv
ENV CONTACTS_HTTP_HOST=0.0.0.0
EXPOSE 8101
ENTRYPOINT ["crm-contacts"]

FROM runtime AS sales
COPY --from=build-sales /app/.venv /app/.venv
ENV SALES_HTTP_HOST=0.0.0.0
EXPOSE 8102
ENTRYPOINT ["crm-sales"]

FROM runtime AS support
COPY --from=build-support /app/.venv /app/.venv
ENV SUPPORT_HTTP_HOST=0.0.0.0 SUPPORT_SMTP_HOST=0.0.0.0
EXPOSE 8103 2525
ENTRYPOINT ["crm-support"]

FROM runtime AS analytics
COPY --from=build-analytics /app/.venv /app/.venv
ENV ANALYTICS_HTTP_HOST=0.0.0.0
EXPOSE 8104
ENTRYPOINT ["crm-analytics"]

FROM runtime AS analytics-rebuild
COPY --from=build-analytics /app/.venv /app/.venv
ENTRYPOINT ["crm-analytics-rebuild"]

FROM runtime AS gateway
COPY --from=build-gateway /app/.venv /app/.venv
ENV GATEWAY_HTTP_HOST=0.0.0.0
EXPOSE 8100
ENTRYPOINT ["crm-gateway"]
