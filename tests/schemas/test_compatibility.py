"""Schema evolution: the catalog, and proof that versions read each other's data in both directions."""

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from importlib.resources import files
from typing import Any

import pytest

from schemas.catalog import SchemaCatalog, default_catalog, load_schema_version
from schemas.codec import SingleObjectCodec
from schemas.compatibility import IncompatibleSchemas, assert_catalog_compatible, check_catalog
from schemas.envelope import ENVELOPE_RECORD
from schemas.errors import CatalogError
from schemas.samples import sample_data

V1_FILE = "order_event_envelope.v1.avsc"
# Published fingerprints never change: a new version is a new file. Append here when publishing one.
PUBLISHED_FINGERPRINTS = {(ENVELOPE_RECORD, 1): "775596ff499b47ee"}

Edit = Callable[[dict[str, Any]], None]


def v1_schema() -> dict[str, Any]:
    text = files("schemas").joinpath(f"avro/{V1_FILE}").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def event_record(schema: dict[str, Any], name: str) -> dict[str, Any]:
    data = next(field for field in schema["fields"] if field["name"] == "data")
    record: dict[str, Any] = next(branch for branch in data["type"] if branch["name"] == name)
    return record


def evolved(edit: Edit) -> dict[str, Any]:
    schema = copy.deepcopy(v1_schema())
    edit(schema)
    return schema


def catalog_with_v2(edit: Edit) -> SchemaCatalog:
    """v1 as published plus a v2 derived from it by `edit`, built in the test: nothing fake is published."""
    return SchemaCatalog(
        [
            load_schema_version(V1_FILE, json.dumps(v1_schema())),
            load_schema_version("order_event_envelope.v2.avsc", json.dumps(evolved(edit))),
        ]
    )


def add_optional_channel(schema: dict[str, Any]) -> None:
    event_record(schema, "OrderCreated")["fields"].append(
        {"name": "channel", "type": ["null", "string"], "default": None}
    )


def add_required_channel(schema: dict[str, Any]) -> None:
    event_record(schema, "OrderCreated")["fields"].append({"name": "channel", "type": "string"})


def drop_currency_of_item_added(schema: dict[str, Any]) -> None:
    record = event_record(schema, "OrderItemAdded")
    record["fields"] = [field for field in record["fields"] if field["name"] != "currency"]


def add_status_returned(schema: dict[str, Any]) -> None:
    status = next(field for field in event_record(schema, "OrderCreated")["fields"] if field["name"] == "status")
    status["type"]["symbols"].append("returned")


def drop_order_shipped(schema: dict[str, Any]) -> None:
    data = next(field for field in schema["fields"] if field["name"] == "data")
    data["type"] = [branch for branch in data["type"] if branch["name"] != "OrderShipped"]


def quantity_as_string(schema: dict[str, Any]) -> None:
    line_item = event_record(schema, "OrderCreated")["fields"][2]["type"]["items"]
    next(field for field in line_item["fields"] if field["name"] == "quantity")["type"] = "string"


def test_every_catalog_version_is_backward_and_forward_compatible_with_all_earlier_ones() -> None:
    assert check_catalog() == []
    assert_catalog_compatible()


def test_published_fingerprints_never_change() -> None:
    published = {(v.record, v.version): v.fingerprint.hex() for v in default_catalog()}

    assert published == PUBLISHED_FINGERPRINTS


def test_adding_an_optional_field_with_a_default_is_compatible_both_ways() -> None:
    assert check_catalog(catalog_with_v2(add_optional_channel)) == []


def test_reader_resolves_data_of_an_older_version_into_the_newest() -> None:
    catalog = catalog_with_v2(add_optional_channel)
    old_writer = SingleObjectCodec(SchemaCatalog([catalog.versions(ENVELOPE_RECORD)[0]]), ENVELOPE_RECORD)
    datum = next(d for d in sample_data(old_writer.writer.schema) if d["data"][0].endswith(".OrderCreated"))

    decoded = SingleObjectCodec(catalog, ENVELOPE_RECORD).decode(old_writer.encode(datum))

    assert decoded["data"][1]["channel"] is None
    assert decoded["data"][1]["total"] == datum["data"][1]["total"]
    assert isinstance(decoded["data"][1]["total"], Decimal)


@pytest.mark.parametrize(
    ("edit", "direction", "reason"),
    [
        (
            add_required_channel,
            "backward",
            "OrderCreated.channel is missing in the writer and has no default",
        ),
        (drop_currency_of_item_added, "forward", "OrderItemAdded.currency is missing in the writer"),
        (add_status_returned, "forward", "OrderStatus lacks symbols ['returned']"),
        (drop_order_shipped, "backward", "resolving a sample failed"),
        (quantity_as_string, "backward", "resolving a sample failed"),
    ],
    ids=[
        "required-field-added",
        "field-removed",
        "enum-symbol-added",
        "union-branch-removed",
        "type-changed",
    ],
)
def test_incompatible_change_is_reported_with_its_direction(edit: Edit, direction: str, reason: str) -> None:
    problems = check_catalog(catalog_with_v2(edit))

    assert any(p.direction == direction and reason in p.reason for p in problems), problems


def test_assert_catalog_compatible_lists_every_problem() -> None:
    catalog = catalog_with_v2(add_status_returned)

    with pytest.raises(IncompatibleSchemas) as raised:
        assert_catalog_compatible(catalog)

    assert raised.value.problems == check_catalog(catalog)
    assert "v1 cannot read v2 (forward)" in str(raised.value)


def test_samples_cover_every_event_and_status() -> None:
    samples = sample_data(default_catalog().latest(ENVELOPE_RECORD).schema)

    events = {sample["data"][0].rsplit(".", 1)[-1] for sample in samples}
    statuses = {sample["data"][1]["status"] for sample in samples if "status" in sample["data"][1]}
    assert events == {
        "OrderCreated",
        "OrderItemAdded",
        "OrderItemRemoved",
        "OrderConfirmed",
        "OrderShipped",
        "OrderCancelled",
    }
    assert statuses == {"pending", "confirmed", "shipped", "cancelled"}


def test_catalog_rejects_a_file_name_without_a_version() -> None:
    with pytest.raises(CatalogError, match="expected"):
        load_schema_version("order_event_envelope.avsc", json.dumps(v1_schema()))


def test_catalog_rejects_a_file_named_after_another_record() -> None:
    with pytest.raises(CatalogError, match="does not match record"):
        load_schema_version("order_envelope.v1.avsc", json.dumps(v1_schema()))


def test_catalog_rejects_a_gap_between_versions() -> None:
    v1 = load_schema_version(V1_FILE, json.dumps(v1_schema()))
    v3 = load_schema_version("order_event_envelope.v3.avsc", json.dumps(evolved(add_optional_channel)))

    with pytest.raises(CatalogError, match="without gaps"):
        SchemaCatalog([v1, v3])


def test_catalog_rejects_two_files_with_the_same_schema() -> None:
    v1 = load_schema_version(V1_FILE, json.dumps(v1_schema()))
    copy_as_v2 = load_schema_version("order_event_envelope.v2.avsc", json.dumps(v1_schema()))

    with pytest.raises(CatalogError, match="same fingerprint"):
        SchemaCatalog([v1, copy_as_v2])
