# Our Python services (writer, streams worker, read API): one image, the command picks the service.
FROM python:3.11-slim
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY cqrs cqrs
COPY servicekit servicekit
COPY writer writer
COPY connectors connectors
COPY streams streams
COPY readapi readapi
COPY schemas schemas
COPY infra infra
# Runtime dependencies only: no test tools, no benchmark plotting.
RUN uv sync --frozen --no-dev --no-group bench
# The gRPC stubs from schemas/proto (generated, not committed).
RUN uv run --no-sync python -m writer.grpc
ENV PATH="/app/.venv/bin:${PATH}"
