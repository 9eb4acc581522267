"""The gRPC server of the writer process: the command service, standard health checking and server reflection.

Started by the app's lifespan beside uvicorn (`serving`), on the app's own services (handler, store pool, token
verifier), so both transports share one process, pool and set of metrics. Each uvicorn worker runs one; they
share `grpc_port` as they share the HTTP port (SO_REUSEPORT, gRPC's default on Linux).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from writer.api.services import Services
from writer.grpc.generated.orders.v1 import commands_pb2 as pb
from writer.grpc.generated.orders.v1 import commands_pb2_grpc as pb_grpc
from writer.grpc.service import OrderCommandsService
from writer.trace.tracer import CommandTracer

log = structlog.get_logger("writer.grpc")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["OrderCommands"].full_name
"""`cqrs.orders.v1.OrderCommands`: what health checks and reflection name."""
_SHUTDOWN_GRACE_S = 5.0


@asynccontextmanager
async def serving(
    services: Services, *, host: str, port: int, tracer: CommandTracer | None = None
) -> AsyncIterator[int]:
    """Serve until the block ends (calls in flight get a grace period); yields the bound port (`port` 0: any)."""
    # HTTP's body limit, so neither transport takes a request the other would refuse (gRPC answers RESOURCE_EXHAUSTED).
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", services.settings.max_body_bytes)])
    pb_grpc.add_OrderCommandsServicer_to_server(OrderCommandsService(services, tracer), server)
    checks = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    bound = server.add_insecure_port(f"{_bracketed(host)}:{port}")
    await server.start()
    for name in ("", SERVICE_NAME):  # "": the server as a whole
        await checks.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("grpc.serving", host=host, port=bound)
    try:
        yield bound
    finally:
        await checks.enter_graceful_shutdown()
        await server.stop(_SHUTDOWN_GRACE_S)


def _bracketed(host: str) -> str:
    """An IPv6 literal in brackets, as gRPC addresses want it."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
