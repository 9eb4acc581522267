"""A client of the writer's gRPC command API: place an order, add an item, and read a refusal's rich details.

    uv run cqrs token --role customer --subject c-1            # a dev token (docs/tokens.md)
    uv run python examples/grpc_client.py --token <jwt> --customer c-1 [--target 127.0.0.1:58051]

Prints one JSON line per step. Everything it relies on is the public contract in writer/README.md ("gRPC"): the
service `cqrs.orders.v1.OrderCommands` (schemas/proto/orders/v1/commands.proto), `authorization` and
`idempotency-key` metadata, and errors as `google.rpc.Status` with `ErrorInfo` / `BadRequest` details. The stubs
are this repository's generated ones (`writer.grpc.generated`); another client generates its own from the .proto.
"""

from __future__ import annotations

import argparse
import json
import uuid
from typing import Any

import grpc
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from writer.grpc.generated.orders.v1 import commands_pb2 as pb
from writer.grpc.generated.orders.v1 import commands_pb2_grpc as pb_grpc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:58051", help="host:port of the writer's gRPC port")
    parser.add_argument("--token", required=True, help="a bearer token (JWT) of a customer, staff or operator")
    parser.add_argument("--customer", required=True, help="the customer to order for (a customer's own subject)")
    args = parser.parse_args()
    metadata = (("authorization", f"Bearer {args.token}"),)
    with grpc.insecure_channel(args.target) as channel:
        stub = pb_grpc.OrderCommandsStub(channel)
        line = pb.OrderLine(sku="MUG-1", name="Mug", quantity=2, unit_price="9.99")
        created = stub.CreateOrder(
            pb.CreateOrderRequest(customer_id=args.customer, currency="EUR", items=[line]),
            # Safe to retry: the same key and request answer the first answer again.
            metadata=(*metadata, ("idempotency-key", str(uuid.uuid4()))),
            timeout=10,
        )
        show("created", orderId=created.aggregate_id, version=created.version, location=created.location)
        item = pb.OrderLine(sku="TEA-1", name="Tea", quantity=1, unit_price="4.50")
        added = stub.AddItemToOrder(
            pb.AddItemToOrderRequest(order_id=created.aggregate_id, item=item, expected_version=created.version),
            metadata=metadata,
            timeout=10,
        )
        show("item added", orderId=added.aggregate_id, version=added.version)
        try:  # the version we started from is stale now: a conflict that names the current version
            stub.ConfirmOrder(
                pb.ConfirmOrderRequest(order_id=created.aggregate_id, expected_version=created.version),
                metadata=metadata,
                timeout=10,
            )
        except grpc.RpcError as error:
            show("refused", **details_of(error))


def details_of(error: grpc.RpcError) -> dict[str, Any]:
    """The code, and the `ErrorInfo` and `BadRequest` details of a rich status."""
    found: dict[str, Any] = {"code": error.code().name}
    status = rpc_status.from_call(error) if isinstance(error, grpc.Call) else None
    if status is None:  # a plain status: no details
        return found
    for detail in status.details:
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            found.update(reason=info.reason, metadata=dict(info.metadata))
        elif detail.Unpack(bad):
            found["fieldViolations"] = {v.field: v.description for v in bad.field_violations}
    return found


def show(step: str, **fields: Any) -> None:
    print(json.dumps({"step": step, **fields}), flush=True)


if __name__ == "__main__":
    main()
