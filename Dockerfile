# The hub's image: the Python package and its console script `hub`. Kafka and the registry run
# in their own containers (docker-compose.yml); configuration comes from HUB_* variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Metadata first, then the packages setuptools collects (pyproject: hub*, producers*,
# consumers*, adapters*, schemas*). Listing them keeps .venv, .state and caches out of the image.
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY producers ./producers
COPY consumers ./consumers
COPY adapters ./adapters
COPY schemas ./schemas
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/hub --create-home hub

USER hub
# Local state (tokens file default, dev-stack files) lives outside the code.
ENV HUB_STATE_DIR=/var/lib/hub
EXPOSE 8000

CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
