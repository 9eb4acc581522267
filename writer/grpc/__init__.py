"""The writer's commands over gRPC (`schemas/proto/orders/v1/commands.proto`): the same handlers, transaction,
idempotency, roles and errors as the HTTP routes, served by the writer process on its own port.

Importing the package makes sure the generated protobuf code (`writer.grpc.generated`, git-ignored) matches the
definitions, so no module here can run against stale or missing generated code.
"""

from writer.grpc.codegen import ensure_generated

ensure_generated()
