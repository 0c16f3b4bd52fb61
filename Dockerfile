# One image for every Python service of the deployment: the user-code server, the Dagster
# webserver and daemon, celery workers and the HTTP API (docker-compose.yml picks the
# command). Build: docker compose build   (or: docker build -t trending-now:latest .)
# D3 for the web page, from the npm registry at the version package-lock.json pins.
FROM node:20-slim AS web
WORKDIR /web
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DO_NOT_TRACK=1 \
    DAGSTER_DISABLE_TELEMETRY=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    WANDB_MODE=offline \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    DAGSTER_COMPUTE_LOGS_DIR=/opt/dagster/storage/compute_logs \
    DAGSTER_ARTIFACTS_DIR=/opt/dagster/storage \
    TRENDING_DATA_DIR=/opt/dagster/data \
    TRENDING_WEB_VENDOR_DIR=/opt/dagster/web

# torch first and on its own from PyTorch's CPU index: the default wheel on PyPI is the
# multi-gigabyte CUDA build. The version matches the Makefile's.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

WORKDIR /opt/dagster/app

# Dependencies before the source, so editing code does not reinstall the stack. The
# package folders are empty stand-ins here; the editable install below points at the real
# ones (settings.REPO_ROOT must be this folder: dbt_project/ and defs/ are found from it).
COPY pyproject.toml README.md ./
RUN mkdir -p trending_assets scrapers serving \
    && touch trending_assets/__init__.py scrapers/__init__.py serving/__init__.py \
    && pip install . \
    && pip uninstall --yes trending-now \
    && rm -rf trending_assets scrapers serving build *.egg-info

COPY . .
RUN pip install --no-deps -e . \
    # Our packages' bytecode (PYTHONDONTWRITEBYTECODE: no process would write it later).
    && python -m compileall -q trending_assets scrapers serving \
    # The dbt manifest is built once here, so containers start without parsing dbt.
    && dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project \
    && useradd --create-home --uid 1000 --shell /usr/sbin/nologin trending \
    && mkdir -p "$DAGSTER_HOME" /opt/dagster/storage "$TRENDING_DATA_DIR" dbt_project/logs \
    # The code stays root-owned; the service user writes only data, Dagster's storage and
    # home (the celery CLI keeps its generated config there) and dbt's output.
    && chown -R trending:trending "$DAGSTER_HOME" /opt/dagster/storage "$TRENDING_DATA_DIR" \
        dbt_project/target dbt_project/logs

COPY deploy/dagster.yaml ${DAGSTER_HOME}/dagster.yaml
COPY --from=web /web/node_modules/d3/dist/d3.min.js /opt/dagster/web/d3.min.js

USER trending

EXPOSE 3000 4000 8000

# The user-code server by default; docker-compose.yml overrides the command per service.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", \
     "-m", "trending_assets.definitions", "-a", "defs"]
