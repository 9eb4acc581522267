"""Protobuf requests → the HTTP routes' JSON bodies, and the stored 202 answer → `CommandAccepted`.

A request becomes the very document `POST /commands/<name>` takes (camelCase keys, unset optional fields left
out), so it is validated by the same models, fingerprinted alike for idempotency and answered from the same
stored response.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from writer.grpc.generated.orders.v1 import commands_pb2 as pb
from writer.ports import StoredResponse


def body_of(message: Message) -> dict[str, Any]:
    """The JSON body of `message`: fields by their JSON names; a field with presence (a message, an `optional`
    scalar) only if set, so "not given" stays distinguishable from an empty or zero value."""
    body: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        if field.has_presence and not message.HasField(field.name):
            continue
        value = getattr(message, field.name)
        nested = field.type == FieldDescriptor.TYPE_MESSAGE
        if field.is_repeated:
            body[field.json_name] = [body_of(item) if nested else item for item in value]
        else:
            body[field.json_name] = body_of(value) if nested else value
    return body


def accepted_message(stored: StoredResponse) -> pb.CommandAccepted:
    """The answer as HTTP's 202 gives it (first or replayed): its body, and the `Location` to read it from."""
    body = json.loads(stored.body)
    answer = pb.CommandAccepted(
        command_id=body["commandId"],
        status=body["status"],
        aggregate_id=body["aggregateId"],
        version=body["version"],
        location=stored.headers.get("location", ""),
    )
    answer.timestamp.FromDatetime(datetime.fromisoformat(body["timestamp"]))
    return answer
