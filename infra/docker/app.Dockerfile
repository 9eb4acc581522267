# Our Python services (writer, streams worker, read API): one image, the command picks the service.
FROM python:3.11-slim
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY writer writer
COPY connectors connectors
COPY streams streams
COPY readapi readapi
COPY schemas schemas
COPY infra infra
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:${PATH}"
