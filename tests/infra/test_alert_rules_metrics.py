"""Every metric an alert rule or a dashboard panel reads is exported by the running services: the real /metrics of
the writer, the read API, each projection worker and the webhook agent, scraped on the real stack after a command
went through (a labelled series of a multi-process app appears only once something was counted)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from cqrs.apps import pipeline_stack
from cqrs.top.command import metrics_urls
from infra.prometheus import RULES
from infra.settings import REPO_ROOT
from infra.stack import Stack
from servicekit.principals import Role
from servicekit.tokens import mint_token
from tests.connectors.test_relay import create
from writer.settings import WriterSettings

DASHBOARDS = sorted((REPO_ROOT / "infra" / "grafana" / "dashboards").glob("*.json"))
SYNTHETIC = {"up"}  # made by Prometheus itself for every target, not exported by one
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
             "inf", "nan", "start", "end"}  # fmt: skip
_NAME = re.compile(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions or aggregations (followed
    by `(`), keywords, label names (inside `{…}` or grouping clauses), strings, or durations (`[5m]`)."""
    bare = _STRINGS.sub('""', expr)
    bare = re.sub(r"\{[^}]*\}", " ", bare)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)
    bare = _GROUPING.sub(" ", bare)
    return {name for name, call in _NAME.findall(bare) if not call and name.lower() not in _KEYWORDS}


def test_the_extractor_reads_promql_as_prometheus_does() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (projection, le) (rate(a_bucket{status=~"5..", x="by(y)"}[10m]))) > 5e2 '
        "and on () sum without (job) (b_total offset 5m) or max(c:recorded) == bool 0 / ignoring(le) group_left(x) d"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c:recorded", "d"}


def used_metrics() -> dict[str, set[str]]:
    """metric name -> where it is used (alert or panel title)."""
    used: dict[str, set[str]] = {}
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                for name in metric_names(rule["expr"]):
                    used.setdefault(name, set()).add(f"alert {rule.get('alert') or rule.get('record')}")
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                for name in metric_names(target["expr"]):
                    used.setdefault(name, set()).add(f"panel {panel['title']!r} ({path.name})")
    return used


def exposed_names(text: str) -> set[str]:
    """Sample names a scrape can return: those present, and those a declared family would have (a labelled family
    without children is declared by # TYPE alone)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_count", "_sum", "_created"],
                    "summary": ["_count", "_sum", "_created", ""], "gauge": [""], "info": ["_info"]}  # fmt: skip
        names.update(family.name + suffix for suffix in suffixes.get(family.type, [""]))
    return names


@pytest.fixture(scope="module")
def apps(pipeline: Stack) -> Iterator[Stack]:
    """The writer and projection workers (`pipeline`), the read API and the webhook agent: every app of the stack."""
    others = pipeline_stack(pipeline.settings, ["readapi", "webhooks"])
    running = {row.name for row in others.status() if row.pid is not None}
    others.up()
    yield pipeline
    started = [name for name in ("readapi", "webhooks") if name not in running]
    if started:
        pipeline_stack(pipeline.settings, started).down()


def scrape(stack: Stack) -> dict[str, set[str]]:
    """Names each app exports; a target that does not answer (restarting) adds none: the caller retries."""
    exported: dict[str, set[str]] = {}
    for app, urls in metrics_urls(stack.settings).items():
        for url in urls:
            try:
                response = httpx.get(url, timeout=10)
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                exported.setdefault(app, set()).update(exposed_names(response.text))
    return exported


def test_every_metric_of_the_rules_and_dashboards_is_exported(apps: Stack, api: httpx.Client) -> None:
    order = create(api)  # an accepted command: the writer's command series, a projection batch, a webhook look
    token = mint_token(WriterSettings(), subject="metrics-check", roles=[Role.STAFF])
    readapi = f"http://127.0.0.1:{apps.settings.ports.readapi}/orders/{order['aggregateId']}"
    headers = {"Authorization": f"Bearer {token}"}
    answer = httpx.get(readapi, params={"minVersion": order["version"]}, headers=headers, timeout=30)
    assert answer.status_code in (200, 404), answer.text  # 404: projections still behind; an answer is what counts
    used = used_metrics()
    deadline = time.monotonic() + 30  # the relay polls Connect every 5 s, the workers apply within a batch window
    while True:
        exported = scrape(apps)
        everything = set().union(*exported.values())
        missing = {name: where for name, where in used.items() if name not in everything | SYNTHETIC}
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not missing, f"used but exported by no running service: {missing}"
    # Each app's own prefix is where it is expected: the scrape jobs of prometheus.yml find each metric there.
    assert set(exported) == {"writer", "readapi", "streams", "webhooks"}
    for app, names in exported.items():
        prefix = {"writer": "writer_", "readapi": "readapi_", "streams": "streams_", "webhooks": "webhook_"}[app]
        assert {name for name in used if name.startswith(prefix)} <= names, app
